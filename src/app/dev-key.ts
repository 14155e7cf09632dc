/**
 * The embedded default's dev account and key pair. The pair is kept in the data folder (mode 0600), so
 * every `npm start` can print a working key for curl; production keys are only ever shown once.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createApiKey, verifyApiKey } from '../db/api-key-credentials.js';
import { ensureAccount, type Db } from '../db/index.js';

export const devAccountId = 'dev';

/** The dashboard user of the dev account: no usable password; it signs in with the link each start prints. */
export const devUserEmail = 'dev@localhost';

export async function ensureDevKeyPair(db: Db, dataDir: string): Promise<{ keyId: string; secret: string }> {
  await ensureAccount(db, { id: devAccountId, name: 'Local development' });
  const file = path.join(dataDir, 'dev-key.json');
  if (existsSync(file)) {
    const saved = JSON.parse(await readFile(file, 'utf8')) as { keyId?: string; secret?: string };
    if (saved.keyId && saved.secret && (await verifyApiKey(db, saved.keyId, saved.secret))) {
      return { keyId: saved.keyId, secret: saved.secret };
    }
  }
  const created = await createApiKey(db, devAccountId, 'npm start');
  await writeFile(file, JSON.stringify({ keyId: created.keyId, secret: created.secret }, null, 2), {
    mode: 0o600,
  });
  return { keyId: created.keyId, secret: created.secret };
}
