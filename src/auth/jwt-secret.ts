/**
 * The HMAC key of access tokens. Configured (`PIXELSHIFT_JWT_SECRET`) in production; on the embedded
 * default it is generated once and kept at `<dataDir>/jwt-secret`, so tokens stay valid across restarts.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile, link } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/config.js';

/** Shorter would weaken HS256; the config schema asks the same of PIXELSHIFT_JWT_SECRET. */
const MIN_SECRET_LENGTH = 32;

export function jwtSecretPath(config: Pick<Config, 'dataDir'>): string {
  return path.join(config.dataDir, 'jwt-secret');
}

/** The key as bytes (the UTF-8 of the configured or stored text). */
export async function loadOrCreateJwtSecret(config: Pick<Config, 'dataDir' | 'auth'>): Promise<Uint8Array> {
  if (config.auth.jwtSecret !== undefined) return new TextEncoder().encode(config.auth.jwtSecret);
  const file = jwtSecretPath(config);
  const existing = await readSecret(file);
  if (existing !== undefined) return existing;

  await mkdir(config.dataDir, { recursive: true });
  // Write a private temp file, then hard-link it into place: link() fails if the file exists, so two
  // processes starting at once both end up with whichever secret was linked first, never half a file.
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await rm(temp, { force: true });
  }
  const created = await readSecret(file);
  if (created === undefined) throw new Error(`could not read the JWT secret at ${file}`);
  return created;
}

async function readSecret(file: string): Promise<Uint8Array | undefined> {
  let text: string;
  try {
    text = (await readFile(file, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (text.length < MIN_SECRET_LENGTH) {
    throw new Error(
      `the JWT secret at ${file} is shorter than ${MIN_SECRET_LENGTH} characters; delete it to make a new one`,
    );
  }
  return new TextEncoder().encode(text);
}
