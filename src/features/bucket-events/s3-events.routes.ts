import express, { Router, type RequestHandler } from 'express';
import { Counter, type Registry } from 'prom-client';
import { ApiError } from '../../api/api-error.js';
import { toApiError } from '../../api/error-handler.js';
import { connectionForEventToken, receiveS3Events, type S3EventDeps } from './s3-events.service.js';

/** Event bodies are small (S3 sends one record per notification); this bounds what a sender can make us parse. */
export const S3_EVENT_BODY_LIMIT = 1024 * 1024;

/** Some senders (SNS-style forwarders, MinIO configured by hand) label JSON as text/plain. */
const eventBodyTypes = ['application/json', 'application/*+json', 'text/plain'];

export const s3EventCounterName = 'pixelshift_s3_events_total';

function eventCounter(registry: Registry): Counter<'result'> {
  const existing = registry.getSingleMetric(s3EventCounterName);
  if (existing) return existing as Counter<'result'>;
  return new Counter({
    name: s3EventCounterName,
    help: 'Bucket events received at POST /v1/events/s3, by result: started, duplicate, unmatched, skipped, invalid, ignored (records of other kinds), test, refused (4xx), failed (5xx)',
    labelNames: ['result'],
    registers: [registry],
  });
}

/**
 * `POST /v1/events/s3`, mounted before the account bearer check: it is authenticated by the token of a
 * storage connection instead (config `events.token`), which also says which connection the bucket is on.
 */
export function s3EventRoutes(deps: S3EventDeps & { registry: Registry }): Router {
  const router = Router();
  const counter = eventCounter(deps.registry);
  // The server's general limit still applies when it is the smaller one.
  const bodyLimit = Math.min(S3_EVENT_BODY_LIMIT, deps.config.http.maxBodyBytes);

  const authenticate: RequestHandler = (req, res, next) => {
    res.locals.eventConnection = connectionForEventToken(deps.config, req.headers.authorization);
    next();
  };
  const requireJson: RequestHandler = (req, _res, next) => {
    const length = req.headers['content-length'];
    const hasBody =
      req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    if (hasBody && !req.is(eventBodyTypes)) {
      next(
        new ApiError(
          415,
          'unsupported_media_type',
          'The event body must be JSON (application/json or text/plain)',
        ),
      );
      return;
    }
    next();
  };

  router.post(
    '/v1/events/s3',
    authenticate,
    requireJson,
    express.json({ limit: bodyLimit, strict: true, type: eventBodyTypes }),
    async (req, res) => {
      const answer = await receiveS3Events(deps, res.locals.eventConnection as string, req.body as unknown);
      if ('test' in answer) {
        counter.inc({ result: 'test' });
      } else {
        const counts = {
          started: answer.started,
          duplicate: answer.duplicates,
          unmatched: answer.unmatched,
          skipped: answer.skipped,
          invalid: answer.invalid,
          ignored: answer.ignored,
        };
        for (const [result, count] of Object.entries(counts)) if (count > 0) counter.inc({ result }, count);
      }
      res.status(200).json(answer);
    },
  );

  // Failures of this route are counted before the shared error handler renders them.
  router.use('/v1/events/s3', ((error, _req, _res, next) => {
    // Converted here so a 413 names this route's limit, not the general one.
    const apiError = toApiError(error, bodyLimit);
    counter.inc({ result: apiError.status >= 500 ? 'failed' : 'refused' });
    next(apiError.status >= 500 ? error : apiError);
  }) as express.ErrorRequestHandler);

  return router;
}
