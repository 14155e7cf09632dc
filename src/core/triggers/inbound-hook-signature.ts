/**
 * Verifying an inbound hook request per Standard Webhooks: `webhook-id`, `webhook-timestamp` (Unix
 * seconds, within 5 minutes of now either way) and `webhook-signature` (`v1,<base64 HMAC-SHA256>` of
 * `<id>.<timestamp>.<raw body>`, several space-separated signatures allowed). The signature is checked
 * by the `standardwebhooks` library over the raw body bytes, before anything parses them.
 *
 * The header and timestamp checks are done here first, so each cause gets its own message; the library
 * then checks the timestamp again against the system clock, which is why `now` must be the current time
 * (tests pass `new Date()` too).
 */
import { Webhook } from 'standardwebhooks';
import { ok, refused, type Result } from '../result.js';

export const TIMESTAMP_TOLERANCE_SECONDS = 5 * 60;

export type VerificationFailure =
  'missing_header' | 'invalid_timestamp' | 'stale_timestamp' | 'future_timestamp' | 'bad_signature';

export interface VerifiedHookRequest {
  webhookId: string;
  timestamp: Date;
}

export interface HookRequestRefusal {
  cause: VerificationFailure;
  message: string;
}

export type HookVerification = Result<VerifiedHookRequest, HookRequestRefusal>;

export interface HookRequest {
  /** Node's incoming headers (lower-case names). */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body exactly as received. */
  body: Buffer;
  /** The hook's current secret, plus the previous one while a rotation's grace period lasts. */
  secrets: readonly string[];
  now: Date;
}

const signedHeaders = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;
type SignedHeader = (typeof signedHeaders)[number];

/** Unix time in whole seconds, as `webhook-timestamp` carries it. */
export const webhookTimestampPattern = /^\d{1,12}$/;

export interface SignatureHeaderValues {
  values: Record<SignedHeader, string>;
  /** `webhook-timestamp` in Unix seconds. */
  timestamp: number;
}

export type SignatureHeaders = Result<SignatureHeaderValues, HookRequestRefusal>;

/**
 * The checks that need no body: each signed header present once, and a timestamp within the tolerance.
 * A route runs them before reading the body; `verifyHookRequest` runs them again before the signature.
 */
export function checkSignatureHeaders(headers: HookRequest['headers'], now: Date): SignatureHeaders {
  const values: Partial<Record<SignedHeader, string>> = {};
  for (const name of signedHeaders) {
    const value = headers[name];
    // A repeated header arrives as an array: ambiguous, so treated like a missing one.
    if (typeof value !== 'string' || value === '') {
      return fail('missing_header', `Expected exactly one ${name} header`);
    }
    values[name] = value;
  }
  const timestampText = values['webhook-timestamp']!;
  if (!webhookTimestampPattern.test(timestampText)) {
    return fail('invalid_timestamp', 'Expected webhook-timestamp to be Unix time in whole seconds');
  }
  const timestamp = Number(timestampText);
  const nowSeconds = Math.floor(now.getTime() / 1000);
  if (nowSeconds - timestamp > TIMESTAMP_TOLERANCE_SECONDS) {
    return fail('stale_timestamp', 'The webhook-timestamp is more than 5 minutes old');
  }
  if (timestamp - nowSeconds > TIMESTAMP_TOLERANCE_SECONDS) {
    return fail('future_timestamp', 'The webhook-timestamp is more than 5 minutes in the future');
  }
  return ok({ values: values as Record<SignedHeader, string>, timestamp });
}

export function verifyHookRequest(request: HookRequest): HookVerification {
  const checked = checkSignatureHeaders(request.headers, request.now);
  if (!checked.ok) return checked;
  for (const secret of request.secrets) {
    try {
      const { values, timestamp } = checked.value;
      new Webhook(secret).verify(request.body, values, { jsonParse: false });
      return ok({ webhookId: values['webhook-id'], timestamp: new Date(timestamp * 1000) });
    } catch {
      // Try the next secret (the previous one during a rotation).
    }
  }
  return fail('bad_signature', 'No webhook-signature matches the body signed with this hook’s secret');
}

function fail(cause: VerificationFailure, message: string): { ok: false; error: HookRequestRefusal } {
  return refused({ cause, message });
}
