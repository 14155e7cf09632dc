/**
 * Opens the database: PGlite (PostgreSQL compiled to WebAssembly, in-process) for the embedded default
 * and tests, or a real PostgreSQL server through a `pg` pool (docs/architecture.md §12). Both speak the same SQL and
 * give the same Drizzle API, so nothing above this file knows which one it runs on.
 */
import { mkdirSync } from 'node:fs';
import { PGlite, type QueryOptions, type Transaction } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { sql, type SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { schema, type Schema } from './schema.js';
import { localProgressChanges, postgresProgressChanges, type ProgressChanges } from './progress-signal.js';

/** The Drizzle handle repositories take; a transaction (`tx`) is one too. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export type DatabaseTarget =
  | { kind: 'pglite'; /** In memory when undefined. */ dir?: string | undefined }
  | { kind: 'postgres'; url: string };

export interface Database {
  db: Db;
  kind: DatabaseTarget['kind'];
  /** Wakes the live progress streams when the change log moves (progress-signal.ts). */
  progressChanges: ProgressChanges;
  /** Throws when the database cannot answer a trivial query (used by /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /**
   * Errors of idle pooled connections (a server restart, say), and of the connection that listens for
   * progress changes; without a listener they would crash the process.
   */
  onPoolError?: (error: Error) => void;
  /** Pool size for PostgreSQL. */
  maxConnections?: number;
}

export async function openDatabase(
  target: DatabaseTarget,
  options: OpenDatabaseOptions = {},
): Promise<Database> {
  if (target.kind === 'pglite') {
    if (target.dir !== undefined) mkdirSync(target.dir, { recursive: true });
    const client = target.dir === undefined ? new PGlite() : new PGlite(target.dir);
    await client.waitReady;
    return pgliteDatabase(client);
  }
  const pool = new pg.Pool({ connectionString: target.url, max: options.maxConnections ?? 10 });
  pool.on('error', (error) => options.onPoolError?.(error));
  const db: Db = drizzleNodePg({ client: pool, schema });
  const progressChanges = postgresProgressChanges(db, target.url, { onError: options.onPoolError });
  let closed = false;
  return {
    db,
    kind: 'postgres',
    progressChanges,
    async ping() {
      await pool.query('select 1');
    },
    async close() {
      if (closed) return;
      closed = true;
      await progressChanges.close();
      await pool.end();
    },
  };
}

/** Wraps a PGlite instance the caller made itself (tests start theirs from a pre-initialised data dir). */
export function pgliteDatabase(client: PGlite): Database {
  const db: Db = drizzlePglite({ client: withCallParsersInstalled(client), schema });
  return {
    db,
    kind: 'pglite',
    // The database lives in this process, so every writer of the change log is here too.
    progressChanges: localProgressChanges(db),
    async ping() {
      await client.query('select 1');
    },
    async close() {
      if (!client.closed) await client.close();
    },
  };
}

/**
 * Drizzle passes the same parsers with every query (timestamps, dates and intervals stay text; it parses
 * them itself), and PGlite merges a call's parsers into a fresh copy of its whole table of some 300 types
 * before reading the rows: 0.1 ms of CPU per call here, 40 % of a trivial query (`npm run bench --
 * dbcalls`). Here a call's parsers go into the client's table instead, and the call runs without them:
 * the same rows, without the copy. They are written again on every call, so a table PGlite rebuilds (its
 * array types) is corrected before the next Drizzle query. The client's own raw queries (the migrations,
 * the ping) read none of those types.
 */
function withCallParsersInstalled(client: PGlite): PGlite {
  const install = (options: QueryOptions | undefined): QueryOptions | undefined => {
    if (!options?.parsers) return options;
    const { parsers, ...rest } = options;
    Object.assign(client.parsers, parsers);
    return rest;
  };
  const query = (target: PGlite | Transaction) =>
    ((text: string, params?: unknown[], options?: QueryOptions) =>
      target.query(text, params, install(options))) as PGlite['query'];
  // PGlite's methods use private fields, so everything else is read from, and bound to, the real object.
  const member = (target: object, key: string | symbol): unknown => {
    const value: unknown = Reflect.get(target, key, target);
    return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
  };
  const transactionOf = (tx: Transaction): Transaction =>
    new Proxy(tx, { get: (target, key) => (key === 'query' ? query(target) : member(target, key)) });
  return new Proxy(client, {
    get(target, key) {
      if (key === 'query') return query(target);
      if (key === 'transaction')
        return <T>(run: (tx: Transaction) => Promise<T>) =>
          target.transaction((tx) => run(transactionOf(tx)));
      return member(target, key);
    },
  });
}

/** A trivial round trip through the Drizzle handle (for /readyz, which has no access to the pool). */
export async function pingDatabase(db: Db): Promise<void> {
  await db.execute(sql`select 1`);
}

/**
 * Rows of a raw SQL query. `db.execute` is typed per driver and is `unknown` through the shared `Db`
 * type; both drivers answer with `{ rows }`, so this is the one place that says so.
 */
export async function queryRows<T extends Record<string, unknown>>(
  db: Pick<Db, 'execute'>,
  query: SQL,
): Promise<T[]> {
  const result = (await db.execute(query)) as { rows: T[] };
  return result.rows;
}
