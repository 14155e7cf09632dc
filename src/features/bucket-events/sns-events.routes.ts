import express, { Router, type ErrorRequestHandler, type RequestHandler } from 'express';
import { ApiError } from '../../api/api-error.js';
import { toApiError } from '../../api/error-handler.js';
import { receiveSnsMessage, type SnsIngressDeps } from './receive-sns-message.js';

/** What the app's caller provides; the database, connections and logger come from the app itself. */
export type SnsRouteDeps = Omit<SnsIngressDeps, 'db' | 'connections' | 'logger'>;

/** SNS messages are at most 256 KiB; twice that leaves room for the envelope and JSON escaping. */
export const SNS_MAX_BODY_BYTES = 512 * 1024;

/** SNS posts `text/plain; charset=UTF-8` (or JSON when a delivery policy says so). */
const snsBodyTypes = ['text/plain', 'application/json', 'application/*+json'];

const requireSnsBodyType: RequestHandler = (req, _res, next) => {
  // `req.is` is null without a body: that case is answered below, as an empty body.
  if (req.is(snsBodyTypes) === false) {
    next(
      new ApiError(415, 'unsupported_media_type', 'The request body must be text/plain or application/json'),
    );
    return;
  }
  next();
};

const bodyLimitError: ErrorRequestHandler = (error, _req, _res, next) => {
  next(toApiError(error, SNS_MAX_BODY_BYTES));
};

/**
 * `POST /v1/events/sns`, mounted before the bearer check: SNS cannot send an account token, so the
 * message signature (verified in the use-case before anything happens) is the authentication.
 */
export function snsEventRoutes(deps: SnsIngressDeps): Router {
  const router = Router();
  router.post(
    '/v1/events/sns',
    requireSnsBodyType,
    express.text({ type: snsBodyTypes, limit: SNS_MAX_BODY_BYTES, defaultCharset: 'utf-8' }),
    bodyLimitError,
    (async (req, res) => {
      const body: unknown = req.body;
      if (typeof body !== 'string' || body === '') {
        throw new ApiError(400, 'invalid_json', 'The request body is empty');
      }
      const receipt = await receiveSnsMessage(deps, body, req.get('x-amz-sns-message-type'));
      res.status(200).json(receipt);
    }) satisfies RequestHandler,
  );
  return router;
}
