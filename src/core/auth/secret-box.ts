/**
 * Signing secrets we must be able to use again (webhook subscriptions sign with them, inbound hooks
 * verify with them) cannot be stored as hashes like API keys. They are stored sealed with AES-256-GCM
 * under a key from config (`PIXELSHIFT_SECRETS_KEY`), or on the embedded default a key generated once
 * at `<dataDir>/secrets-key`. A database dump alone then reveals no secret.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Config } from '../config.js';
import { readOrCreateKeyFile } from './key-file.js';

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Version prefix of sealed values, so the scheme can change without guessing. */
const SEALED_PREFIX = 'v1.';
/** Standard Webhooks secrets: `whsec_` + base64 of the key bytes. */
export const SIGNING_SECRET_PREFIX = 'whsec_';

export type SecretsKey = Buffer & { readonly __secretsKey: unique symbol };

export function secretsKeyPath(config: Pick<Config, 'dataDir'>): string {
  return path.join(config.dataDir, 'secrets-key');
}

export async function loadOrCreateSecretsKey(
  config: Pick<Config, 'dataDir' | 'secrets'>,
): Promise<SecretsKey> {
  const text =
    config.secrets.key ??
    (await readOrCreateKeyFile(secretsKeyPath(config), () => randomBytes(KEY_BYTES).toString('base64')));
  return secretsKeyFromBase64(text);
}

export function secretsKeyFromBase64(text: string): SecretsKey {
  const key = Buffer.from(text, 'base64');
  if (key.length !== KEY_BYTES)
    throw new Error(`the secrets key must be ${KEY_BYTES} bytes encoded as base64`);
  return key as SecretsKey;
}

/** A new Standard Webhooks signing secret: `whsec_` + base64 of 32 random bytes. */
export function generateSigningSecret(): string {
  return `${SIGNING_SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

/**
 * Seals a secret for storage. `context` (e.g. the subscription id) is bound as associated data, so a
 * sealed value copied onto another row fails to open instead of lending that row its secret.
 */
export function sealSecret(key: SecretsKey, secret: string, context: string): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return SEALED_PREFIX + Buffer.concat([nonce, cipher.getAuthTag(), body]).toString('base64url');
}

/** Opens a sealed secret; throws when the key, the context or the value is wrong. */
export function openSecret(key: SecretsKey, sealed: string, context: string): string {
  if (!sealed.startsWith(SEALED_PREFIX)) throw new Error('unknown sealed secret format');
  const bytes = Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64url');
  if (bytes.length < NONCE_BYTES + TAG_BYTES) throw new Error('sealed secret is truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, NONCE_BYTES));
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(bytes.subarray(NONCE_BYTES, NONCE_BYTES + TAG_BYTES));
  return Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES + TAG_BYTES)), decipher.final()]).toString(
    'utf8',
  );
}
