import express, { type RequestHandler } from 'express';
import { ApiError } from './api-error.js';

const jsonTypes = ['application/json', 'application/*+json'];

/** True when the request carries a body (a `Content-Length: 0` POST does not). */
function hasBody(headers: Record<string, string | string[] | undefined>): boolean {
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * JSON bodies only, and at most `maxBytes` of them: a body in another media type is refused with 415
 * instead of being ignored, an oversized one with 413 before it is read in full, malformed JSON with 400.
 * A request without a body passes with `req.body` undefined (the use-case decides whether that is valid).
 */
export function jsonBody(maxBytes: number): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    if (hasBody(req.headers) && !req.is(jsonTypes)) {
      next(new ApiError(415, 'unsupported_media_type', 'The request body must be application/json'));
      return;
    }
    next();
  };
  return [requireJson, express.json({ limit: maxBytes, strict: true, type: jsonTypes })];
}
