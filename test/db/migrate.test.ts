import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, appendFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { getTableConfig } from 'drizzle-orm/pg-core';
import {
  appliedMigrations,
  defaultMigrationsDirectory,
  migrate,
  MigrationError,
  queryRows,
  readMigrationFiles,
  schema,
} from '../../src/db/index.js';
import { databaseTargets, type DatabaseTarget, type TestDatabase } from '../support/test-databases.js';

const allFiles = readMigrationFiles().map((file) => file.name);

async function withDatabase(
  target: DatabaseTarget,
  run: (database: TestDatabase) => Promise<void>,
): Promise<void> {
  const database = await target.open();
  try {
    await run(database);
  } finally {
    await database.close();
  }
}

for (const target of databaseTargets()) {
  describe(`migrations on ${target.name}`, () => {
    test('when migrate runs twice, then the first applies every file in order and the second does nothing', async () => {
      await withDatabase(target, async ({ db }) => {
        assert.deepEqual(await appliedMigrations(db), []);
        assert.deepEqual(await migrate(db), { applied: allFiles });
        assert.deepEqual(await migrate(db), { applied: [] });
        assert.deepEqual(await appliedMigrations(db), allFiles);
      });
    });

    test('when several migrators run at once, then each file is applied exactly once', async () => {
      await withDatabase(target, async (first) => {
        const second = await first.openAnotherClient();
        try {
          const results = await Promise.all([migrate(first.db), migrate(second.db), migrate(first.db)]);
          assert.deepEqual(results.flatMap((result) => result.applied).sort(), [...allFiles].sort());
          const rows = await queryRows<{ count: string | number }>(
            first.db,
            sql`select count(*) as count from pixelshift_migrations`,
          );
          assert.equal(Number(rows[0]?.count), allFiles.length);
        } finally {
          await second.close();
        }
      });
    });

    describe('on a migrated database', () => {
      let database: TestDatabase;
      before(async () => {
        database = await target.open();
        await migrate(database.db);
      });
      after(() => database.close());

      test('when the tables exist, then they match the Drizzle schema column for column', async () => {
        const { db } = database;
        for (const table of Object.values(schema)) {
          const config = getTableConfig(table);
          const columns = await queryRows<{ column_name: string; is_nullable: string }>(
            db,
            sql`select column_name, is_nullable from information_schema.columns
                where table_schema = current_schema() and table_name = ${config.name}`,
          );
          const actual = Object.fromEntries(
            columns.map((row) => [row.column_name, row.is_nullable === 'NO']),
          );
          const expected = Object.fromEntries(
            config.columns.map((column) => [column.name, column.notNull || column.primary]),
          );
          assert.deepEqual(actual, expected, `table ${config.name}`);
        }
      });

      test('when an applied migration file was edited, then migrate refuses instead of running the new text', async () => {
        const directory = mkdtempSync(path.join(os.tmpdir(), 'pixelshift-migrations-'));
        try {
          cpSync(defaultMigrationsDirectory, directory, { recursive: true });
          assert.deepEqual(await migrate(database.db, { directory }), { applied: [] });
          appendFileSync(path.join(directory, allFiles[0]!), '\n-- an edit after the fact\n');
          await assert.rejects(migrate(database.db, { directory }), MigrationError);
        } finally {
          rmSync(directory, { recursive: true, force: true });
        }
      });

      test('when a migration file fails, then nothing of it remains and it is not recorded', async () => {
        const directory = mkdtempSync(path.join(os.tmpdir(), 'pixelshift-migrations-'));
        try {
          cpSync(defaultMigrationsDirectory, directory, { recursive: true });
          appendFileSync(
            path.join(directory, '9999_broken.sql'),
            'create table half_done (id int);\nselect * from no_such_table;\n',
          );
          await assert.rejects(migrate(database.db, { directory }));
          assert.deepEqual(await appliedMigrations(database.db), allFiles);
          const tables = await queryRows<{ present: boolean }>(
            database.db,
            sql`select to_regclass('half_done') is not null as present`,
          );
          assert.equal(tables[0]?.present, false);
        } finally {
          rmSync(directory, { recursive: true, force: true });
        }
      });
    });
  });
}
