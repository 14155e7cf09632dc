/**
 * The one error classification of DESIGN §5. It is decided once, where the failure happens
 * (graph validation, storage, imaging), and everything downstream (HTTP status, retries,
 * per-graph outcomes) reads only the code.
 */
export const errorCodes = [
  'invalid_graph',
  'unsupported_input',
  'corrupt_input',
  'too_large',
  'source_not_found',
  'access_denied',
  'transient',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

/** HTTP status a client sees for each class when it surfaces synchronously. */
export const httpStatusForCode: Record<ErrorCode, number> = {
  invalid_graph: 422,
  unsupported_input: 422,
  corrupt_input: 422,
  too_large: 413,
  source_not_found: 404,
  access_denied: 403,
  transient: 503,
};

export interface ClassifiedErrorOptions {
  /** JSON pointer of the unit the failure belongs to, e.g. `/transformUnits/0`. */
  unit?: string;
  /** Server-given delay before a retry makes sense (S3 Retry-After, SlowDown hints). */
  retryAfterMs?: number;
  cause?: unknown;
}

export class ClassifiedError extends Error {
  override readonly name = 'ClassifiedError';
  readonly code: ErrorCode;
  readonly unit: string | undefined;
  readonly retryAfterMs: number | undefined;

  /** `message` is public: it must never carry credentials, hosts or stack traces. */
  constructor(code: ErrorCode, message: string, options: ClassifiedErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.unit = options.unit;
    this.retryAfterMs = options.retryAfterMs;
  }

  get retryable(): boolean {
    return this.code === 'transient';
  }

  toJSON(): { code: ErrorCode; message: string; unit?: string; retryAfterMs?: number } {
    return {
      code: this.code,
      message: this.message,
      ...(this.unit === undefined ? {} : { unit: this.unit }),
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
    };
  }
}

export function isClassifiedError(error: unknown): error is ClassifiedError {
  return error instanceof ClassifiedError;
}
