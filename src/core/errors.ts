/**
 * The one error classification of docs/architecture.md §5. It is decided once, where the failure happens
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
  /** An output could not be brought under its ImageFormat.maxBytes; fails that sink only. */
  'budget_unreachable',
  'transient',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

/**
 * Whether a retry can succeed, for every class: only `transient` failures (an unreachable or throttling
 * store, a dying worker) may; every other class fails the graph at once. A record, so that a new code does
 * not compile until it is classified here.
 */
const retryableByCode: Readonly<Record<ErrorCode, boolean>> = {
  invalid_graph: false,
  unsupported_input: false,
  corrupt_input: false,
  too_large: false,
  source_not_found: false,
  access_denied: false,
  budget_unreachable: false,
  transient: true,
};

/** Whether a failure type (an ApplicationFailure's, a log line's) is one of the classified codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (errorCodes as readonly string[]).includes(value);
}

export function isRetryableCode(code: ErrorCode): boolean {
  return retryableByCode[code];
}

/** The failure types Temporal must not retry (activity retry policies name them). */
export const nonRetryableCodes: readonly ErrorCode[] = errorCodes.filter((code) => !retryableByCode[code]);

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
    return isRetryableCode(this.code);
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
