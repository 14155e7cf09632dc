/** `pixelshift migrate`, `setup`, `keys create`, `purge` and `reconcile`: operator commands. */
import { z } from 'zod';
import { createApiKey } from '../db/api-key-credentials.js';
import { loadConfig, parseDuration } from '../core/config.js';
import {
  accountIdSchema,
  batchIdPattern,
  DEFAULT_RETENTION_MS,
  ensureAccount,
  purgeExpiredRows,
} from '../db/index.js';
import { reconcile, ReconcileError, type ReconcileScope } from '../temporal/client/reconcile.js';
import { setupTemporal } from '../temporal/setup.js';
import type { CliIo } from './io.js';
import { connectClient, openMigratedDatabase } from './wiring.js';

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

/** An ISO 8601 time with its offset (`2025-01-02T00:00:00Z`), or a date (midnight UTC). */
const sinceSchema = z.union([z.iso.datetime({ offset: true }), z.iso.date()]);

/** The scope `reconcile` was given, or the error that names what is wrong with its arguments. */
export function reconcileScopeOf(options: {
  batch?: string | undefined;
  since?: string | undefined;
}): ReconcileScope | { error: { code: string; message: string } } {
  if ((options.batch === undefined) === (options.since === undefined)) {
    return {
      error: {
        code: 'invalid_arguments',
        message: 'Expected exactly one of --batch <id> and --since <ISO time>',
      },
    };
  }
  if (options.batch !== undefined) {
    if (!batchIdPattern.test(options.batch)) {
      return {
        error: {
          code: 'invalid_batch_id',
          message: 'Expected --batch as a batch id: b_ followed by 26 characters',
        },
      };
    }
    return { batchId: options.batch };
  }
  if (!sinceSchema.safeParse(options.since).success) {
    return {
      error: {
        code: 'invalid_since',
        message:
          'Expected --since as an ISO 8601 time with its offset, such as 2025-01-02T00:00:00Z, or a date',
      },
    };
  }
  return { since: new Date(options.since!) };
}

/**
 * `pixelshift reconcile --batch <id> | --since <ISO time>`: rebuilds read-model rows from Temporal's
 * records after a database restore (docs/architecture.md §7.2). Safe to run again: it only moves rows
 * forward.
 */
export async function reconcileCommand(
  options: { batch?: string | undefined; since?: string | undefined },
  io: CliIo,
): Promise<void> {
  const scope = reconcileScopeOf(options);
  if ('error' in scope) {
    io.fail(scope);
    return;
  }
  const config = loadConfig();
  const database = await openMigratedDatabase(config, io.log);
  try {
    const { client, close } = await connectClient(config);
    try {
      const summary = await reconcile({ client, db: database.db }, scope);
      const runs = summary.graphRuns;
      io.log(
        `graph runs: ${runs.inserted} inserted, ${runs.advanced} advanced, ${runs.unchanged} unchanged; ` +
          `batches: ${summary.batches.restored} restored, ${summary.batches.finished} finished`,
      );
      io.print(summary);
    } catch (error) {
      if (!(error instanceof ReconcileError)) throw error;
      io.fail({ error: { code: error.code, message: error.message } });
    } finally {
      await close();
    }
  } finally {
    await database.close();
  }
}
