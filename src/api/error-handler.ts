import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { ApiError } from './api-error.js';

/** Unmatched routes: the same error format as everything else. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new ApiError(404, 'not_found', `No endpoint ${req.method} ${req.path}`));
};

/**
 * The one error middleware. Known errors keep their status and public message; body-parser's errors are
 * mapped to stable codes; anything else is a 500 with a generic message (logged in full, never shown).
 */
export function errorHandler(logger?: Logger, maxBodyBytes?: number): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const apiError = toApiError(error, maxBodyBytes);
    if (apiError.status >= 500)
      logger?.error({ err: error, method: req.method, url: req.originalUrl }, 'request failed');
    res.status(apiError.status).set(apiError.headers).json(apiError.toBody());
  };
}

/**
 * PostgreSQL refuses U+0000 in text (SQLSTATE 22021) and in jsonb (22P05), and nothing else a JavaScript
 * string can hold. When one reaches a query, the request carried a NUL no validation caught: the client's
 * mistake, answered as such, where it was a 500.
 */
const nulRefusedByDatabase = new Set(['22021', '22P05']);

/** Whether the error, or one of its causes (the query builder wraps the driver's), is such a refusal. */
function isNulRefusedByDatabase(error: unknown): boolean {
  let at = error;
  for (let depth = 0; depth < 4 && typeof at === 'object' && at !== null; depth += 1) {
    const { code, cause } = at as { code?: unknown; cause?: unknown };
    if (typeof code === 'string' && nulRefusedByDatabase.has(code)) return true;
    at = cause;
  }
  return false;
}

/** Errors raised by body-parser (and Express's router) carry a `type` and an HTTP `status`. */
interface HttpLibraryError {
  type?: unknown;
  status?: unknown;
}

export function toApiError(error: unknown, maxBodyBytes?: number): ApiError {
  if (error instanceof ApiError) return error;
  const { type, status } = (typeof error === 'object' && error !== null ? error : {}) as HttpLibraryError;
  switch (type) {
    case 'entity.too.large':
    case 'parameters.too.many':
      return new ApiError(
        413,
        'payload_too_large',
        maxBodyBytes === undefined
          ? 'The request body is too large'
          : `The request body is larger than the limit of ${maxBodyBytes} bytes`,
      );
    case 'entity.parse.failed':
      return new ApiError(400, 'invalid_json', 'The request body is not valid JSON');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError(415, 'unsupported_media_type', 'The request body must be UTF-8 encoded JSON');
    default:
      break;
  }
  if (isNulRefusedByDatabase(error)) {
    return new ApiError(
      400,
      'invalid_request',
      'The request contains a NUL character (U+0000), which no field accepts',
    );
  }
  // Other client errors from the libraries (aborted bodies, undecodable path segments, …); their own
  // messages are not shown, only that the request was malformed.
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new ApiError(400, 'invalid_request', 'The request is malformed');
  }
  return new ApiError(500, 'internal_error', 'Internal server error');
}
