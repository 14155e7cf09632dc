/**
 * Errors the API answers with: an HTTP status, a stable code, a public message (never internal details)
 * and, for bad input, every issue with a JSON pointer. Use-cases throw these; the error middleware
 * renders them as `{ "error": { "code", "message", "issues"? } }`.
 */
import type { z } from 'zod';
import { translateZodIssues } from '../core/graph/zod-issues.js';

export interface ApiIssue {
  path: string;
  code: string;
  message: string;
}

/** Every top-level error code the API uses (issue codes are listed in src/graph/issues.ts). */
export const apiErrorCodes = [
  'invalid_json',
  'invalid_request',
  'invalid_body',
  'invalid_graph',
  'unauthorized',
  'access_denied',
  'not_found',
  'idempotency_conflict',
  'payload_too_large',
  'headers_too_large',
  'request_timeout',
  'unsupported_media_type',
  'not_acceptable',
  'orchestrator_unavailable',
  'internal_error',
  'method_not_allowed',
  // inbound hooks
  'invalid_signature',
  'hook_not_found',
  'invalid_hook_payload',
  // ---- rules and bucket events (issue 5)
  'rule_would_loop',
  'invalid_event',
  'too_many_records',
  'invalid_event_token',
  'run_not_found',
  // SNS ingress (src/features/bucket-events/sns-events.routes.ts)
  'invalid_sns_message',
  'invalid_sns_signature',
  'sns_certificate_host_refused',
  'sns_certificate_unavailable',
  'sns_topic_not_allowed',
  'sns_message_expired',
  'sns_message_replayed',
  'sns_confirmation_failed',
  'webhook_disabled',
  // live progress streams
  'too_many_streams',
  'server_shutting_down',
  // dashboard endpoints (issue 13): retry-failed and thumbnails
  'nothing_to_retry',
  'batch_running',
  'graphs_unavailable',
  'unsupported_input',
  'corrupt_input',
  'too_large',
  'storage_unavailable',
  // dashboard sign-in and sessions
  'invalid_credentials',
  'too_many_attempts',
  'csrf_failed',
] as const;
export type ApiErrorCode = (typeof apiErrorCodes)[number];

export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly issues?: readonly ApiIssue[],
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  toBody(): { error: { code: ApiErrorCode; message: string; issues?: ApiIssue[] } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.issues === undefined ? {} : { issues: [...this.issues] }),
      },
    };
  }
}

export function notFound(what: string): ApiError {
  return new ApiError(404, 'not_found', `${what} was not found`);
}

export function invalidGraph(issues: readonly ApiIssue[]): ApiError {
  const count = issues.length === 1 ? 'one problem' : `${issues.length} problems`;
  return new ApiError(
    422,
    'invalid_graph',
    `The request was refused with ${count}; nothing was started`,
    issues,
  );
}

/**
 * The body parsed by a zod schema, or a 422 `invalid_body` with every issue (paths into the body, names
 * as `name` calls the document, e.g. "the rule").
 */
export function parseRequestBody<T>(
  schema: z.ZodType<T>,
  body: unknown,
  name = 'the request',
  message = 'The request body is invalid',
): T {
  const parsed = schema.safeParse(body ?? {}, { reportInput: true });
  if (!parsed.success) {
    throw new ApiError(422, 'invalid_body', message, translateZodIssues(parsed.error.issues, [], name));
  }
  return parsed.data;
}
