import type { Issue } from './generated/types.js';

/** One problem with a request: `path` is a JSON pointer into the body (e.g. `/graphs/0/transformUnits/1/width`). */
export type PixelshiftIssue = Issue;

/**
 * Any answer of the API that is not a success, after retries: the HTTP status, the service's stable
 * error `code` (or the OAuth error code for token requests), its message and, for bad input, every issue.
 */
export class PixelshiftApiError extends Error {
  override readonly name = 'PixelshiftApiError';

  constructor(
    /** The HTTP status of the final answer. */
    readonly status: number,
    /** A stable code such as `invalid_graph`, `unauthorized`, `not_found` or `invalid_client`. */
    readonly code: string,
    message: string,
    /** Every problem found in the request, each with its JSON pointer; empty when there are none. */
    readonly issues: readonly PixelshiftIssue[] = [],
  ) {
    super(message);
  }
}

/** A webhook whose signature, timestamp or body does not verify: do not act on it (answer 400 or 401). */
export class PixelshiftWebhookError extends Error {
  override readonly name = 'PixelshiftWebhookError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Builds the error from a failed response, whichever error format it carries. */
export async function apiErrorFrom(response: Response): Promise<PixelshiftApiError> {
  const text = await response.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (isRecord(body) && isRecord(body.error)) {
    const { code, message, issues } = body.error;
    return new PixelshiftApiError(
      response.status,
      typeof code === 'string' ? code : 'unknown_error',
      typeof message === 'string' ? message : `HTTP ${response.status}`,
      Array.isArray(issues) ? (issues as PixelshiftIssue[]) : [],
    );
  }
  // The token endpoint answers in the OAuth format: { error, error_description }.
  if (isRecord(body) && typeof body.error === 'string') {
    const description = typeof body.error_description === 'string' ? body.error_description : body.error;
    return new PixelshiftApiError(response.status, body.error, description);
  }
  return new PixelshiftApiError(
    response.status,
    'unexpected_response',
    `HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`,
  );
}

/** A JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
