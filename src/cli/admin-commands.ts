/** `pixelshift migrate`, `pixelshift setup` and `pixelshift keys create`: operator commands. */
import { createApiKey } from '../auth/api-keys.js';
import { loadConfig } from '../config/config.js';
import { accountIdSchema, ensureAccount } from '../db/index.js';
import { setupTemporal } from '../temporal/setup.js';
import type { CliIo } from './io.js';
import { openMigratedDatabase } from './wiring.js';

export async function migrateCommand(io: CliIo): Promise<void> {
  const config = loadConfig();
  const database = await openMigratedDatabase(config, io.log);
  await database.close();
  io.log(`database schema is up to date (${config.database.kind})`);
}

export async function setupCommand(io: CliIo): Promise<void> {
  const config = loadConfig();
  const report = await setupTemporal(config);
  io.print({ address: config.temporal.address, namespace: config.temporal.namespace, ...report });
}

export async function keysCreateCommand(accountId: string, json: boolean, io: CliIo): Promise<void> {
  const parsed = accountIdSchema.safeParse(accountId);
  if (!parsed.success) {
    io.fail({
      error: {
        code: 'invalid_account',
        message: 'Expected an account id of lower-case letters, digits and hyphens',
      },
    });
    return;
  }
  const config = loadConfig();
  const database = await openMigratedDatabase(config, io.log);
  try {
    await ensureAccount(database.db, { id: accountId, name: accountId });
    const key = await createApiKey(database.db, accountId, 'pixelshift keys create');
    if (json) io.print({ accountId, clientId: key.keyId, clientSecret: key.secret });
    else {
      io.log(`account     ${accountId}`);
      io.log(`client_id   ${key.keyId}`);
      io.log(`client_secret ${key.secret}   (shown once: store it now)`);
    }
  } finally {
    await database.close();
  }
}
