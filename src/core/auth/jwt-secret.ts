/**
 * The HMAC key of access tokens. Configured (`PIXELSHIFT_JWT_SECRET`) in production; on the embedded
 * default it is generated once and kept at `<dataDir>/jwt-secret`, so tokens stay valid across restarts.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Config } from '../config.js';
import { readOrCreateKeyFile } from './key-file.js';

/** Shorter would weaken HS256; the config schema asks the same of PIXELSHIFT_JWT_SECRET. */
const MIN_SECRET_LENGTH = 32;

export function jwtSecretPath(config: Pick<Config, 'dataDir'>): string {
  return path.join(config.dataDir, 'jwt-secret');
}

/** The key as bytes (the UTF-8 of the configured or stored text). */
export async function loadOrCreateJwtSecret(config: Pick<Config, 'dataDir' | 'auth'>): Promise<Uint8Array> {
  if (config.auth.jwtSecret !== undefined) return new TextEncoder().encode(config.auth.jwtSecret);
  const file = jwtSecretPath(config);
  const text = await readOrCreateKeyFile(file, () => randomBytes(32).toString('base64url'));
  if (text.length < MIN_SECRET_LENGTH) {
    throw new Error(
      `the JWT secret at ${file} is shorter than ${MIN_SECRET_LENGTH} characters; delete it to make a new one`,
    );
  }
  return new TextEncoder().encode(text);
}
