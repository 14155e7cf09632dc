import { ClassifiedError } from '../errors.js';

/** The store call a failure belongs to; it is named in every public message. */
export type StoreOperation = 'head' | 'get' | 'put' | 'delete' | 'list';

/** What a failure is about: enough to name it publicly, nothing about where the store lives. */
export interface ObjectTarget {
  scheme: 's3' | 'local';
  operation: StoreOperation;
  bucket: string;
  /** The object key, or the prefix for `list`. */
  key: string;
}

export function objectUri(target: Pick<ObjectTarget, 'scheme' | 'bucket' | 'key'>): string {
  return `${target.scheme}://${target.bucket}/${target.key}`;
}

/**
 * The one message form for storage failures, e.g.
 * `Could not get s3://photos/in/cat.jpg: the object was not found`.
 * Callers pass a fixed reason phrase, never a raw error message (those can carry hosts and paths).
 */
export function storeFailureMessage(target: ObjectTarget, reason: string): string {
  return `Could not ${target.operation} ${objectUri(target)}: ${reason}`;
}

export function storeError(
  code: ClassifiedError['code'],
  target: ObjectTarget,
  reason: string,
  options: { retryAfterMs?: number; cause?: unknown } = {},
): ClassifiedError {
  return new ClassifiedError(code, storeFailureMessage(target, reason), options);
}

export function objectTooLargeError(target: ObjectTarget, limit: number, size?: number): ClassifiedError {
  const reason =
    size === undefined
      ? `the object is larger than the limit of ${limit} bytes`
      : `the object is ${size} bytes, larger than the limit of ${limit} bytes`;
  return storeError('too_large', target, reason);
}

/**
 * Cancellation is not a failure of the store: it is passed through untouched so the caller
 * (a cancelled activity) sees its own abort, never a retryable `transient`.
 */
export function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

/** The error to surface once the caller's signal fired: its reason when that is an error. */
export function abortReasonOf(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new DOMException(typeof reason === 'string' ? reason : 'The operation was aborted', 'AbortError');
}
