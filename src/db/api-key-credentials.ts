/**
 * API key pairs (docs/architecture.md §8): a public key id (`pk_…`, the OAuth client_id) and a secret (`sk_…`, the
 * client_secret) that is shown once, at creation, and stored only as a hash.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from './database.js';
import { findApiKey, insertApiKey, touchApiKey } from './api-keys.js';
import { randomToken } from '../core/ids.js';

export interface CreatedApiKey {
  keyId: string;
  /** The only time the secret exists outside the client: it cannot be recovered later. */
  secret: string;
  label: string | null;
  createdAt: Date;
}

export interface VerifiedClient {
  accountId: string;
  keyId: string;
}

const keyIdPattern = /^pk_[0-9a-z]{24}$/;

export function newKeyId(): string {
  return `pk_${randomToken(15)}`;
}

/** 32 random bytes: 256 bits, far beyond guessing. */
export function newSecret(): string {
  return `sk_${randomBytes(32).toString('base64url')}`;
}

/**
 * SHA-256, not a password hash (bcrypt, scrypt, argon2): those are slow on purpose to make guessing
 * low-entropy human passwords expensive. Our secrets are 256 random bits, so guessing is hopeless at
 * any speed and a fast hash loses nothing, while keeping every token exchange cheap.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export async function createApiKey(db: Db, accountId: string, label?: string): Promise<CreatedApiKey> {
  const keyId = newKeyId();
  const secret = newSecret();
  const row = await insertApiKey(db, { id: keyId, accountId, secretHash: hashSecret(secret), label });
  return { keyId, secret, label: row.label, createdAt: row.createdAt };
}

/** Compared against when the key id is unknown, so that path does the same work as a wrong secret. */
const decoyHash = hashSecret(newSecret());

/**
 * The account a key pair authenticates, or undefined for an unknown id, a wrong secret or a revoked key
 * (the caller cannot tell which: all are `invalid_client`). Records the use in `last_used_at`.
 */
export async function verifyApiKey(
  db: Db,
  keyId: string,
  secret: string,
): Promise<VerifiedClient | undefined> {
  const row = keyIdPattern.test(keyId) ? await findApiKey(db, keyId) : undefined;
  const presented = Buffer.from(hashSecret(secret), 'hex');
  const stored = Buffer.from(row?.secretHash ?? decoyHash, 'hex');
  // Constant time: how much of the hash matched must not show in how long the answer takes.
  const matches = stored.length === presented.length && timingSafeEqual(stored, presented);
  if (!row || !matches || row.revokedAt !== null) return undefined;
  await touchApiKey(db, row.id);
  return { accountId: row.accountId, keyId: row.id };
}
