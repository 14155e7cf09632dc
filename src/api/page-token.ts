/**
 * Page tokens of the paged listings (runs, a batch's graphs). Paging is keyset on an immutable key of the
 * read model (docs/architecture.md §7), and the token carries that key. It is handed out in a checked form,
 * base64url of a check value followed by the key, and verified before anything is read: a mistyped, cut or
 * invented token is a 400 at once, never a different page. The check is not a secret; it tells the API's
 * tokens from anything else.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

const CHECK_BYTES = 8;

/** base64url without padding: the check value and a key of at most 16 decimal digits. */
export const pageTokenPattern = /^[A-Za-z0-9_-]{12,40}$/;

function checkValue(inner: Buffer): Buffer {
  return createHash('sha256')
    .update('pixelshift run page token\0')
    .update(inner)
    .digest()
    .subarray(0, CHECK_BYTES);
}

/** The token that continues a listing after the row with this key. */
export function encodePageToken(position: number): string {
  const inner = Buffer.from(String(position), 'utf8');
  return Buffer.concat([checkValue(inner), inner]).toString('base64url');
}

/** The key inside a page token, or undefined when the API did not hand it out. */
export function decodePageToken(token: string): number | undefined {
  if (!pageTokenPattern.test(token)) return undefined;
  const bytes = Buffer.from(token, 'base64url');
  // One spelling per token: stray trailing bits or an impossible length do not decode to the same text.
  if (bytes.toString('base64url') !== token || bytes.length <= CHECK_BYTES) return undefined;
  const inner = bytes.subarray(CHECK_BYTES);
  if (!checkValue(inner).equals(bytes.subarray(0, CHECK_BYTES))) return undefined;
  const text = inner.toString('utf8');
  return /^(?:0|[1-9]\d{0,15})$/.test(text) ? Number(text) : undefined;
}

/**
 * One page from rows read with `limit: pageSize + 1` (whether a next page exists, without a count): the
 * first `pageSize` rows, and the token that continues after the last of them.
 */
export function keysetPage<T>(
  rows: readonly T[],
  pageSize: number,
  keyOf: (row: T) => number,
): { rows: T[]; nextPageToken?: string } {
  const page = rows.slice(0, pageSize);
  const last = page.at(-1);
  return rows.length > pageSize && last !== undefined
    ? { rows: page, nextPageToken: encodePageToken(keyOf(last)) }
    : { rows: page };
}

/** The `pageToken` query parameter, parsed to the key it carries; a token not handed out is one issue. */
export const pageTokenQuerySchema = z
  .string()
  .meta({ pattern: pageTokenPattern.source })
  .transform((token, context) => {
    const position = decodePageToken(token);
    if (position !== undefined) return position;
    context.addIssue({ code: 'custom', message: 'a nextPageToken this API returned', input: token });
    return z.NEVER;
  })
  .optional()
  .describe(
    '`nextPageToken` of the previous page, unchanged. The server checks it whole: a token it did not hand out is refused with 400.',
  );

/**
 * A query value that must be an integer. Only decimal numerals become numbers, so `pageSize=ten` is
 * reported as received ("ten"), and "", "0x10" or "1e1" are refused instead of being read as 0, 16, 10.
 */
export const queryInteger = (min: number, max: number) =>
  z.preprocess(
    (value) =>
      typeof value === 'string' && /^-?\d{1,16}(?:\.\d{1,16})?$/.test(value) ? Number(value) : value,
    z.number().int().min(min).max(max),
  );
