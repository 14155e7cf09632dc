import { isClassifiedError, type ErrorCode } from '../errors.js';
import { isAbortError, storeError, type StoreOperation } from './store-errors.js';

export interface S3ErrorContext {
  bucket: string;
  key: string;
  operation: StoreOperation;
}

interface S3ErrorRule {
  code: ErrorCode;
  reason: string;
  /** S3 error codes, SDK error names and Node system error codes. */
  names: readonly string[];
  statuses: readonly number[];
}

// Order matters only among statuses: a recognised name always wins over a bare status, so a
// 503 `SlowDown` and a 404 `NoSuchBucket` get their specific reason.
const s3ErrorRules: readonly S3ErrorRule[] = [
  { code: 'source_not_found', reason: 'the bucket was not found', names: ['NoSuchBucket'], statuses: [] },
  {
    code: 'source_not_found',
    reason: 'the object was not found',
    names: ['NoSuchKey', 'NotFound', 'NoSuchVersion'],
    statuses: [404],
  },
  {
    code: 'access_denied',
    reason: 'the storage credentials were rejected',
    names: [
      'InvalidAccessKeyId',
      'SignatureDoesNotMatch',
      'ExpiredToken',
      'InvalidToken',
      'AuthorizationHeaderMalformed',
      'CredentialsProviderError',
    ],
    statuses: [401],
  },
  {
    code: 'access_denied',
    reason: 'access was denied',
    names: ['AccessDenied', 'Forbidden', 'AllAccessDisabled', 'AccountProblem'],
    statuses: [403],
  },
  {
    code: 'too_large',
    reason: 'the object is too large for the store',
    names: ['EntityTooLarge'],
    statuses: [413],
  },
  {
    code: 'transient',
    reason: 'the storage service is busy or unavailable',
    names: [
      'SlowDown',
      'ServiceUnavailable',
      'RequestTimeout',
      'InternalError',
      'Throttling',
      'ThrottlingException',
      'TooManyRequestsException',
      'RequestLimitExceeded',
      'OperationAborted',
    ],
    statuses: [429, 500, 502, 503, 504],
  },
  {
    code: 'transient',
    reason: 'the storage service could not be reached',
    names: [
      'ECONNREFUSED',
      'ECONNRESET',
      'ECONNABORTED',
      'ETIMEDOUT',
      'EPIPE',
      'ENOTFOUND',
      'EAI_AGAIN',
      'EHOSTUNREACH',
      'ENETUNREACH',
      'TimeoutError',
      'RequestTimeoutError',
    ],
    statuses: [],
  },
  {
    code: 'invalid_graph',
    reason: 'the storage service rejected the request as invalid',
    names: ['InvalidBucketName', 'KeyTooLongError', 'InvalidArgument', 'MetadataTooLarge', 'InvalidRequest'],
    statuses: [400, 405, 411, 414],
  },
];

interface S3LikeError {
  name?: unknown;
  Code?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: { name?: unknown; code?: unknown };
  $metadata?: { httpStatusCode?: unknown };
  $response?: { statusCode?: unknown; headers?: Record<string, unknown> };
  $retryable?: { throttling?: unknown };
}

/** Every name an error answers to: SDK error name, S3 `Code`, Node `code`, and the same on its cause. */
function identifiersOf(error: S3LikeError): string[] {
  const candidates = [error.name, error.Code, error.code, error.cause?.name, error.cause?.code];
  const identifiers = candidates.filter((value): value is string => typeof value === 'string');
  // Node reports a peer closing mid-response as a bare "socket hang up" with varying codes.
  if (typeof error.message === 'string' && error.message.includes('socket hang up'))
    identifiers.push('ECONNRESET');
  return identifiers;
}

function statusOf(error: S3LikeError): number | undefined {
  const status = error.$metadata?.httpStatusCode ?? error.$response?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Reads `Retry-After` (delta seconds or HTTP date) from the raw response, if the server sent one. */
export function retryAfterMsFrom(error: unknown, now: number = Date.now()): number | undefined {
  const headers = (error as S3LikeError | undefined)?.$response?.headers;
  if (!headers || typeof headers !== 'object') return undefined;
  const entry = Object.entries(headers).find(([name]) => name.toLowerCase() === 'retry-after');
  const value = typeof entry?.[1] === 'string' ? entry[1].trim() : undefined;
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function matchRule(error: S3LikeError): { rule: S3ErrorRule | undefined; matchedName: string | undefined } {
  const identifiers = identifiersOf(error);
  for (const rule of s3ErrorRules) {
    const matchedName = identifiers.find((identifier) => rule.names.includes(identifier));
    if (matchedName) return { rule, matchedName };
  }
  if (error.$retryable?.throttling === true) {
    return { rule: s3ErrorRules.find((rule) => rule.names.includes('SlowDown')), matchedName: undefined };
  }
  const status = statusOf(error);
  if (status === undefined) return { rule: undefined, matchedName: undefined };
  const byStatus =
    s3ErrorRules.find((rule) => rule.statuses.includes(status)) ??
    (status >= 500 ? s3ErrorRules.find((rule) => rule.code === 'transient') : undefined) ??
    (status >= 400 ? s3ErrorRules.find((rule) => rule.code === 'invalid_graph') : undefined);
  return { rule: byStatus, matchedName: undefined };
}

/**
 * Maps an S3 SDK (or network) failure to the project's classification. Returns the error to
 * throw: an abort or an already classified error unchanged, otherwise a ClassifiedError whose
 * public message names the operation and object but never hosts or credentials.
 *
 * Errors that match nothing are treated as transient: without a status they are almost always
 * connection-level, and retries are bounded by the caller's policy.
 */
export function classifyS3Error(error: unknown, context: S3ErrorContext): Error {
  if (isAbortError(error) || isClassifiedError(error)) return error as Error;
  const s3Error = (typeof error === 'object' && error !== null ? error : {}) as S3LikeError;
  const { rule, matchedName } = matchRule(s3Error);
  const target = { scheme: 's3' as const, ...context };
  const retryAfterMs = retryAfterMsFrom(error);
  const options = { cause: error, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  if (!rule) return storeError('transient', target, 'the storage service failed unexpectedly', options);
  // Known codes are fixed vocabulary and safe to show; raw messages are not.
  const reason = matchedName ? `${rule.reason} (${matchedName})` : rule.reason;
  return storeError(rule.code, target, reason, options);
}
