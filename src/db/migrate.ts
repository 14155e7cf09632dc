/**
 * A small, real migrator for the hand-written SQL files in `migrations/` (`NNNN_name.sql`, applied in
 * name order). Each file runs in its own transaction together with the row that records it in
 * `pixelshift_migrations`, so a file is applied entirely or not at all.
 *
 * Safe to run repeatedly and concurrently (several API replicas starting at once, or `pixelshift migrate`
 * beside them): every file's transaction first takes the same transaction-scoped advisory lock, then
 * checks whether the file is already recorded. Transaction-scoped locks are released by COMMIT or
 * ROLLBACK, so a crashed migrator never leaves the lock behind, and they work through a pool, where a
 * session lock could be taken on one connection and released on another.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite, type Transaction as PGliteTransaction } from '@electric-sql/pglite';
import pg from 'pg';
import type { Db } from './database.js';

/** The lock every migrator takes: the ASCII bytes of "pixelshi" as a bigint, unlikely to clash with anyone's. */
const MIGRATION_LOCK_KEY = '8100137781809080425';

/**
 * Where the SQL files live. `tsc` does not copy `.sql` files, so a compiled build must ship this folder
 * beside `migrate.js` (or pass `directory`).
 */
export const defaultMigrationsDirectory = fileURLToPath(new URL('./migrations/', import.meta.url));

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateOptions {
  directory?: string;
}

export interface MigrateResult {
  /** Files this call applied (empty when the database was already up to date). */
  applied: string[];
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

export function readMigrationFiles(directory = defaultMigrationsDirectory): MigrationFile[] {
  return readdirSync(directory)
    .filter((name) => /^\d{4}_[a-z0-9_]+\.sql$/.test(name))
    .sort()
    .map((name) => {
      const sql = readFileSync(path.join(directory, name), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

/** The operations the migrator needs inside one transaction, over either driver. */
interface MigrationTransaction {
  query(text: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  /** Runs a script of several statements (the simple query protocol). */
  script(text: string): Promise<void>;
}

type RunInTransaction = <T>(work: (tx: MigrationTransaction) => Promise<T>) => Promise<T>;

/** Applies every migration not yet recorded. Takes the Drizzle handle returned by `openDatabase`. */
export async function migrate(db: Db, options: MigrateOptions = {}): Promise<MigrateResult> {
  const inTransaction = transactionRunner(db);
  const applied: string[] = [];
  for (const file of readMigrationFiles(options.directory)) {
    const didApply = await inTransaction(async (tx) => {
      await tx.query('select pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
      await tx.query(`create table if not exists pixelshift_migrations (
        name text primary key,
        checksum text not null,
        applied_at timestamptz not null default now()
      )`);
      const [recorded] = await tx.query('select checksum from pixelshift_migrations where name = $1', [
        file.name,
      ]);
      if (recorded) {
        // Applied files are history: editing one would leave databases that ran the old text behind.
        if (recorded.checksum !== file.checksum) {
          throw new MigrationError(
            `migration ${file.name} was changed after it was applied; add a new migration file instead`,
          );
        }
        return false;
      }
      await tx.script(file.sql);
      await tx.query('insert into pixelshift_migrations (name, checksum) values ($1, $2)', [
        file.name,
        file.checksum,
      ]);
      return true;
    });
    if (didApply) applied.push(file.name);
  }
  return { applied };
}

/** Names of the applied migrations, in order (for `pixelshift migrate --status` and tests). */
export async function appliedMigrations(db: Db): Promise<string[]> {
  return transactionRunner(db)(async (tx) => {
    const [exists] = await tx.query("select to_regclass('pixelshift_migrations') is not null as present");
    if (!exists?.present) return [];
    const rows = await tx.query('select name from pixelshift_migrations order by name');
    return rows.map((row) => String(row.name));
  });
}

/**
 * Drizzle's `execute` cannot run a multi-statement file on PGlite (it uses the extended protocol), so
 * the migrator drives the raw client that `openDatabase` put under the Drizzle handle.
 */
function transactionRunner(db: Db): RunInTransaction {
  const client = (db as unknown as { $client?: unknown }).$client;
  if (client instanceof PGlite) {
    return (work) =>
      client.transaction(async (tx: PGliteTransaction) =>
        work({
          query: async (text, params) => (await tx.query<Record<string, unknown>>(text, params)).rows,
          script: async (text) => {
            await tx.exec(text);
          },
        }),
      );
  }
  if (client instanceof pg.Pool) {
    return async (work) => {
      const connection = await client.connect();
      try {
        await connection.query('begin');
        const result = await work({
          query: async (text, params) => (await connection.query<Record<string, unknown>>(text, params)).rows,
          script: async (text) => {
            await connection.query(text);
          },
        });
        await connection.query('commit');
        return result;
      } catch (error) {
        await connection.query('rollback').catch(() => undefined);
        throw error;
      } finally {
        connection.release();
      }
    };
  }
  throw new MigrationError(
    'migrate() needs the Drizzle handle returned by openDatabase(), not a transaction',
  );
}
