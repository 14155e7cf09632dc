/**
 * The embedded database's Drizzle handle (src/db/database.ts, withCallParsersInstalled): Drizzle's parsers
 * live in the PGlite client's table instead of travelling with every call, which PGlite would answer by
 * copying its whole table of types. The rows must be the ones Drizzle reads from a bare client.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PGlite, QueryOptions, Transaction } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { date, integer, interval, pgTable, timestamp } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
import { pgliteDatabase, queryRows } from '../../src/db/index.js';
import { blankPgliteClient } from '../support/test-databases.js';

const moments = pgTable('moments', {
  id: integer('id').primaryKey(),
  at: timestamp('at', { withTimezone: true, mode: 'date' }),
  atText: timestamp('at_text', { withTimezone: true, mode: 'string' }),
  local: timestamp('local', { mode: 'date' }),
  day: date('day'),
  span: interval('span'),
  ats: timestamp('ats', { withTimezone: true, mode: 'date' }).array(),
  days: date('days').array(),
});

const createMoments = sql`create table moments (id int primary key, at timestamptz, at_text timestamptz,
  local timestamp, day date, span interval, ats timestamptz[], days date[])`;

const row = (id: number) => ({
  id,
  at: new Date('2026-12-06T10:11:12.345Z'),
  atText: '2026-12-06 10:11:12.345+00',
  local: new Date('2026-01-02T03:04:05.678Z'),
  day: '2026-02-28',
  span: '1 day 02:03:04',
  ats: [new Date('2026-12-06T00:00:00.000Z'), new Date('1999-12-31T23:59:59.999Z')],
  days: ['2026-12-06', '2000-01-01'],
});

/** Every options object the client's `query` receives, on the client and inside its transactions. */
function recordCallOptions(client: PGlite): (QueryOptions | undefined)[] {
  const seen: (QueryOptions | undefined)[] = [];
  const spy =
    (query: PGlite['query']): PGlite['query'] =>
    (text, params, options) => {
      seen.push(options);
      return query(text, params, options);
    };
  client.query = spy(client.query.bind(client));
  const transaction = client.transaction.bind(client);
  client.transaction = <T>(run: (tx: Transaction) => Promise<T>) =>
    transaction((tx) => run({ ...tx, query: spy(tx.query.bind(tx)) }));
  return seen;
}

test('when Drizzle writes and reads timestamps, dates, intervals and their arrays on PGlite, then it gets the rows a bare client gives, and no call carries parsers', async () => {
  const bareClient = await blankPgliteClient();
  const client = await blankPgliteClient();
  const seen = recordCallOptions(client);
  const bare = drizzle({ client: bareClient });
  const database = pgliteDatabase(client);
  const { db } = database;
  try {
    for (const handle of [bare, db]) {
      await handle.execute(createMoments);
      await handle.insert(moments).values(row(1));
      await handle.transaction(async (tx) => {
        await tx.insert(moments).values(row(2));
      });
    }
    const expected = await bare.select().from(moments).orderBy(moments.id);
    assert.deepEqual(expected[0], row(1), 'the bare client reads back what was written');

    assert.deepEqual(await db.select().from(moments).orderBy(moments.id), expected);
    const inTransaction = await db.transaction((tx) => tx.select().from(moments).orderBy(moments.id));
    assert.deepEqual(inTransaction, expected);
    // A raw statement through the handle leaves the types as Drizzle leaves them: text.
    const [raw] = await queryRows(db, sql`select at, day, span from moments where id = 1`);
    assert.deepEqual(raw, {
      at: '2026-12-06 10:11:12.345+00',
      day: '2026-02-28',
      span: '1 day 02:03:04',
    });

    assert.ok(seen.length >= 6, `the client saw ${seen.length} calls`);
    assert.deepEqual(
      seen.filter((options) => options?.parsers !== undefined),
      [],
      'no call reaches PGlite with parsers of its own',
    );
  } finally {
    await database.close();
    await bareClient.close();
  }
});
