/**
 * Page tokens of `GET /v1/events/s3/runs`. The job engine's own token is opaque (Temporal's visibility
 * cursor), and Temporal does not refuse a made-up one at once: its client retries for about 20 s and the
 * request ends in a 503. So the API hands out its own form, base64url of a check value followed by the
 * engine's token, and verifies it before anything is asked of the engine: a mistyped, cut or invented
 * token is a 400 at once. The check is not a secret; it tells the API's tokens from anything else.
 */
import { createHash } from 'node:crypto';

const CHECK_BYTES = 8;

/**
 * base64url without padding: at least 12 characters (the check value and one byte of the engine's
 * token), at most 8192 (Temporal's cursors are a few hundred bytes; a query string stays well within
 * the server's header limit).
 */
export const runPageTokenPattern = /^[A-Za-z0-9_-]{12,8192}$/;

function checkValue(engineToken: Buffer): Buffer {
  return createHash('sha256')
    .update('pixelshift run page token\0')
    .update(engineToken)
    .digest()
    .subarray(0, CHECK_BYTES);
}

export function encodeRunPageToken(engineToken: string): string {
  const inner = Buffer.from(engineToken, 'utf8');
  return Buffer.concat([checkValue(inner), inner]).toString('base64url');
}

/** The engine's token inside a page token, or undefined when the API did not hand it out. */
export function decodeRunPageToken(token: string): string | undefined {
  if (!runPageTokenPattern.test(token)) return undefined;
  const bytes = Buffer.from(token, 'base64url');
  // One spelling per token: stray trailing bits or an impossible length do not decode to the same text.
  if (bytes.toString('base64url') !== token || bytes.length <= CHECK_BYTES) return undefined;
  const inner = bytes.subarray(CHECK_BYTES);
  return checkValue(inner).equals(bytes.subarray(0, CHECK_BYTES)) ? inner.toString('utf8') : undefined;
}
