import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { migrate, openDatabase, pgliteDatabase, type Database } from '../../src/db/index.js';

export interface TestDatabase extends Database {
  /**
   * A second client onto the same database, as a second API replica would have: its own pool on
   * PostgreSQL; on PGlite (one process, one connection) the same client.
   */
  openAnotherClient(): Promise<Database>;
}

export interface DatabaseTarget {
  name: 'pglite' | 'postgres';
  /** A fresh, empty database of this kind (not migrated); `close()` also discards it. */
  open(): Promise<TestDatabase>;
}

/**
 * Where database tests run: PGlite always, and the real PostgreSQL server the suite runner started when
 * PIXELSHIFT_TEST_DATABASE_URL is set. Each `open()` on PostgreSQL creates its own database, so test
 * files running in parallel never see each other's rows.
 */
export function databaseTargets(): DatabaseTarget[] {
  const targets: DatabaseTarget[] = [{ name: 'pglite', open: openPglite }];
  const serverUrl = process.env.PIXELSHIFT_TEST_DATABASE_URL;
  if (serverUrl) targets.push({ name: 'postgres', open: () => openFreshPostgresDatabase(serverUrl) });
  return targets;
}

export async function openMigrated(target: DatabaseTarget): Promise<TestDatabase> {
  const database = await target.open();
  await migrate(database.db);
  return database;
}

let template: Promise<Blob> | undefined;

/**
 * A blank PGlite data dir, made once and kept in the temp dir (keyed by the PGlite build): a new PGlite
 * runs initdb, which takes seconds; loading this archive takes a fraction of one.
 */
function pgliteTemplate(): Promise<Blob> {
  template ??= (async () => {
    const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
    const { size, mtimeMs } = statSync(entry);
    const file = path.join(os.tmpdir(), `pixelshift-pglite-template-${size}-${Math.round(mtimeMs)}.tar`);
    if (existsSync(file)) return new Blob([readFileSync(file)]);
    const blank = new PGlite();
    await blank.waitReady;
    const archive = await blank.dumpDataDir('none');
    await blank.close();
    // Written aside, then renamed: parallel test files never read half an archive.
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, Buffer.from(await archive.arrayBuffer()));
    renameSync(partial, file);
    return archive;
  })();
  return template;
}

/** A blank PGlite client from the template, for tests that need the client under the Drizzle handle. */
export async function blankPgliteClient(): Promise<PGlite> {
  const client = new PGlite({ loadDataDir: await pgliteTemplate() });
  await client.waitReady;
  return client;
}

async function openPglite(): Promise<TestDatabase> {
  const database = pgliteDatabase(await blankPgliteClient());
  return {
    ...database,
    openAnotherClient: () => Promise.resolve({ ...database, close: () => Promise.resolve() }),
  };
}

/** A new, empty database on the server, for one test file or one process tree. */
export async function createFreshPostgresDatabase(
  serverUrl: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  await adminQuery(serverUrl, `create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => adminQuery(serverUrl, `drop database if exists ${name} with (force)`),
  };
}

async function openFreshPostgresDatabase(serverUrl: string): Promise<TestDatabase> {
  const fresh = await createFreshPostgresDatabase(serverUrl);
  const database = await openDatabase({ kind: 'postgres', url: fresh.url });
  return {
    ...database,
    openAnotherClient: () => openDatabase({ kind: 'postgres', url: fresh.url }),
    async close() {
      await database.close();
      await fresh.drop();
    },
  };
}

async function adminQuery(serverUrl: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
