import { randomBytes } from 'node:crypto';

/** Crockford's base32 in lower case: no i, l, o or u, so ids survive being read aloud or retyped. */
const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';

function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += alphabet[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * `b_` + 26 characters, ULID-like: a millisecond timestamp first (ids sort by creation time, which keeps
 * workflow lists and index pages in order), then 80 random bits (unguessable, collision-free in practice).
 */
export function newBatchId(now = Date.now()): string {
  const time = Buffer.alloc(6);
  time.writeUIntBE(now, 0, 6);
  return `b_${base32(Buffer.concat([time, randomBytes(10)]))}`;
}

export const batchIdPattern = /^b_[0-9a-hjkmnp-tv-z]{26}$/;

/** `rule_` + the same 26 time-ordered characters as batch ids. */
export function newRuleId(now = Date.now()): string {
  return `rule_${newBatchId(now).slice(2)}`;
}

export const ruleIdPattern = /^rule_[0-9a-hjkmnp-tv-z]{26}$/;

/** Random lower-case base32 of `bytes` random bytes. */
export function randomToken(bytes: number): string {
  return base32(randomBytes(bytes));
}
