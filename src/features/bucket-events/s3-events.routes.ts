/**
 * `POST /v1/events/s3`: authenticated by the token of a storage connection (config `events.token`)
 * instead of an account token; the token also says which connection the buckets are on.
 */
import type { Response } from 'express';
import { Counter, type Registry } from 'prom-client';
import { z } from 'zod';
import { defineRoute, ok, type ApiFeature } from '../../api/define-route.js';
import { errorResponse } from '../../api/openapi-builder.js';
import { MAX_RECORDS_PER_BODY } from '../../core/triggers/s3-event-records.js';
import { s3EventBodySchema, s3EventResultSchema, s3TestEventResultSchema } from './s3-events.schemas.js';
import { connectionForEventToken, receiveS3Events, type S3EventDeps } from './s3-events.service.js';

/** Event bodies are small (S3 sends one record per notification); this bounds what a sender can make us parse. */
export const S3_EVENT_BODY_LIMIT = 1024 * 1024;

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

/** The connection whose token authenticated the request (set before the body is read). */
const connectionOf = (res: Response) => res.locals.eventConnection as string;

export function s3EventsFeature(deps: S3EventDeps & { registry: Registry }): ApiFeature {
  const counter = eventCounter(deps.registry);
  return {
    tags: [{ name: 'events', description: 'Bucket event ingress and the runs it started' }],
    document: (registry) => {
      registry.registerComponent('securitySchemes', 'eventToken', {
        type: 'http',
        scheme: 'bearer',
        description:
          'The `events.token` of a storage connection (server config); only for POST /v1/events/s3.',
      });
    },
    routes: [
      defineRoute({
        operationId: 'receiveS3Events',
        method: 'post',
        path: '/v1/events/s3',
        tags: ['events'],
        auth: 'none',
        security: [{ eventToken: [] }],
        summary:
          'Bucket event ingress: S3 notifications, MinIO webhooks and EventBridge Object Created events',
        description: `Authenticated with the \`events.token\` of a storage connection (\`Authorization: Bearer <token>\`), which also names the connection the buckets are on. Answers 2xx only after a graph run was durably started for every matching rule, so a sender that gets an error delivers again; a redelivered event starts nothing twice (the run's workflow ID is the connection, bucket, key, the upload's sequencer or ETag, and the rule). Records that are not ObjectCreated are counted as ignored; \`s3:TestEvent\` is acknowledged. At most ${MAX_RECORDS_PER_BODY} records and 1 MiB per body; \`text/plain\` bodies are read as JSON.`,
        authenticate: (req, res) => {
          res.locals.eventConnection = connectionForEventToken(deps.config, req.headers.authorization);
        },
        request: {
          body: {
            schema: s3EventBodySchema,
            // Some senders (SNS-style forwarders, MinIO configured by hand) label JSON as text/plain.
            contentType: ['application/json', 'text/plain'],
            maxBytes: S3_EVENT_BODY_LIMIT,
            // The parser judges the body, and it needs the connection the token named.
            parse: (body) => body,
          },
        },
        responses: {
          200: {
            description:
              'Every matching run is started (or already was). The TestEvent answers `{ "test": true }`.',
            content: {
              'application/json': { schema: z.union([s3EventResultSchema, s3TestEventResultSchema]) },
            },
          },
          400: errorResponse(
            'Malformed JSON (`invalid_json`), a body of no known shape or with invalid records (`invalid_event`, issues by pointer, e.g. a malformed percent escape in a key or an event version other than 2.x), or too many records (`too_many_records`).',
          ),
          401: errorResponse(
            'Missing or unknown event token (`invalid_event_token`), with `WWW-Authenticate: Bearer`.',
          ),
          403: errorResponse(
            'A bucket that no account is granted on the token’s connection (`access_denied`, issues `bucket_not_granted`); nothing was started.',
          ),
          413: errorResponse(
            'Body larger than 1 MiB, or than the server’s general limit when that is smaller (`payload_too_large`).',
          ),
          415: errorResponse('Body is neither JSON nor text (`unsupported_media_type`).'),
          503: errorResponse(
            'The job engine or the storage did not answer (`orchestrator_unavailable`): deliver the events again.',
          ),
        },
        // Failures are counted here; the shared error handler renders them.
        onError: (error) => {
          counter.inc({ result: error.status >= 500 ? 'failed' : 'refused' });
        },
        handler: async ({ body, res }) => {
          const answer = await receiveS3Events(deps, connectionOf(res), body);
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
            for (const [result, count] of Object.entries(counts)) {
              if (count > 0) counter.inc({ result }, count);
            }
          }
          return ok(answer);
        },
      }),
    ],
  };
}
