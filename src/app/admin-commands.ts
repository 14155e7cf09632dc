/** `pixelshift migrate`, `setup`, `keys create` and `purge`: operator commands. */
import { createApiKey } from '../db/api-key-credentials.js';
import { loadConfig, parseDuration } from '../core/config.js';
import { accountIdSchema, DEFAULT_RETENTION_MS, ensureAccount, purgeExpiredRows } from '../db/index.js';
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

/**
 * `pixelshift purge [--older-than 30d]`: deletes idempotency keys, inbound-hook message ids and webhook
 * events (with their delivery log) older than the retention; events still being delivered are kept.
 * Safe to run from cron on any one replica.
 */
export async function purgeCommand(olderThan: string | undefined, io: CliIo): Promise<void> {
  const retentionMs = olderThan === undefined ? DEFAULT_RETENTION_MS : parseDuration(olderThan);
  // Deliveries retry for about three days: a shorter retention could drop what a retry still needs.
  if (retentionMs === undefined || retentionMs < 4 * 86_400_000) {
    io.fail({
      error: {
        code: 'invalid_retention',
        message: 'Expected --older-than as a duration of at least 4d, such as 30d or 720h',
      },
    });
    return;
  }
  const config = loadConfig();
  const database = await openMigratedDatabase(config, io.log);
  try {
    io.print(await purgeExpiredRows(database.db, new Date(Date.now() - retentionMs)));
  } finally {
    await database.close();
  }
}
