/**
 * Dashboard passwords (docs/decisions.md, "Dashboard passwords"): scrypt from node:crypto with a random
 * 16-byte salt per password, its parameters stored with the hash so they can be raised later without
 * invalidating older hashes: `scrypt$<N>$<r>$<p>$<salt base64url>$<hash base64url>`. Verification
 * compares in constant time; a caller without a stored hash (an unknown email) verifies against a dummy
 * hash, so it spends the same work and gets the same answer as a wrong password.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParameters {
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
}

/** 2^15 × 8 × 128 bytes = 32 MiB and about 50-100 ms per hash on one core. */
export const DEFAULT_SCRYPT: ScryptParameters = { N: 2 ** 15, r: 8, p: 1 };

const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
/** The longest password accepted: scrypt hashes any length, but no human types more than this. */
export const MAX_PASSWORD_LENGTH = 1024;
export const MIN_PASSWORD_LENGTH = 10;

function derive(password: string, salt: Buffer, params: ScryptParameters): Promise<Buffer> {
  const options: ScryptOptions = {
    N: params.N,
    r: params.r,
    p: params.p,
    // Node's default ceiling is 32 MiB, which N = 2^15, r = 8 just exceeds.
    maxmem: 256 * params.N * params.r * params.p + 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, options, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

export async function hashPassword(
  password: string,
  params: ScryptParameters = DEFAULT_SCRYPT,
): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join(
    '$',
  );
}

interface ParsedHash {
  params: ScryptParameters;
  salt: Buffer;
  key: Buffer;
}

const hashPattern = /^scrypt\$(\d{1,10})\$(\d{1,4})\$(\d{1,4})\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{16,})$/;

function parseHash(stored: string): ParsedHash | undefined {
  const match = hashPattern.exec(stored);
  if (!match) return undefined;
  const [N, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  // A power of two from 2^10 to 2^20, and bounded r and p: a corrupted row cannot make one check cost minutes.
  if (!Number.isInteger(Math.log2(N)) || N < 2 ** 10 || N > 2 ** 20 || r < 1 || r > 32 || p < 1 || p > 4) {
    return undefined;
  }
  return {
    params: { N, r, p },
    salt: Buffer.from(match[4]!, 'base64url'),
    key: Buffer.from(match[5]!, 'base64url'),
  };
}

let dummyHash: Promise<ParsedHash> | undefined;

/** A hash of a random password with the default parameters: what an unknown email is checked against. */
function dummy(): Promise<ParsedHash> {
  dummyHash ??= hashPassword(randomBytes(32).toString('base64url')).then((stored) => parseHash(stored)!);
  return dummyHash;
}

/**
 * True when the password matches the stored hash. `stored` undefined (no such user) or unreadable still
 * costs one derivation with the default parameters and answers false.
 */
export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  const parsed = stored === undefined ? undefined : parseHash(stored);
  const target = parsed ?? (await dummy());
  const key = await derive(password, target.salt, target.params);
  const same = key.length === target.key.length && timingSafeEqual(key, target.key);
  return parsed !== undefined && same;
}

/** A password for `users create --generate-password`: 128 random bits, typable (base64url, 22 characters). */
export function generatePassword(): string {
  return randomBytes(16).toString('base64url');
}

/** Why a new password is refused, or undefined when it is acceptable. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH)
    return `A password needs at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH)
    return `A password has at most ${MAX_PASSWORD_LENGTH} characters`;
  if (password.includes('\u0000')) return 'A password cannot contain a NUL character';
  return undefined;
}
