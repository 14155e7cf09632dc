import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ensureAccount } from '../../src/db/index.js';
import { maxInAnyWindow, nextSlot } from '../../src/core/throttle/throttle-schedule.js';
import {
  getLimit,
  listReservations,
  projectStarts,
  releaseSlot,
  reserveSlot,
  setLimit,
  slotsOf,
} from '../../src/db/throttle-reservations.js';
import { databaseTargets, openMigrated, type TestDatabase } from '../support/test-databases.js';

const t0 = Date.parse('2030-01-01T00:00:00Z');
const at = (ms: number) => new Date(t0 + ms);
const W = 4000;

for (const target of databaseTargets()) {
  describe(`throttle reservations on ${target.name}`, () => {
    let database: TestDatabase;
    before(async () => {
      database = await openMigrated(target);
    });
    after(() => database.close());

    async function account(limit?: number): Promise<string> {
      const id = `thr-${randomBytes(4).toString('hex')}`;
      await ensureAccount(database.db, { id, name: id });
      if (limit !== undefined) await setLimit(database.db, { accountId: id, limit, windowMs: W, now: at(0) });
      return id;
    }

    const reserve = (accountId: string, graphKey: string, now: number, db = database.db) =>
      reserveSlot(db, { accountId, graphKey, windowMs: W, now: at(now) });

    const slotsMs = async (accountId: string) =>
      (await listReservations(database.db, accountId)).map((row) => row.slotAt.getTime() - t0);

    test('when an account never set a limit, then it has the default of 1000', async () => {
      assert.equal(await getLimit(database.db, await account()), 1000);
    });

    test('when one graph reserves again (a retried activity, a replay, a crash after commit), then it gets the same slot and holds one row', async () => {
      const id = await account(1);
      const first = await reserve(id, 'graph/a/b/0', 0);
      const waiting = await reserve(id, 'graph/a/b/1', 0);
      assert.equal(first.created, true);
      assert.equal(waiting.slotAt.getTime(), t0 + W);
      for (const now of [0, 10, W + 1]) {
        const again = await reserve(id, 'graph/a/b/1', now);
        assert.equal(again.created, false);
        assert.equal(again.slotAt.getTime(), waiting.slotAt.getTime());
      }
      assert.equal((await listReservations(database.db, id)).length, 2);
    });

    test('when 8 graphs reserve at once with a limit of 3, then they get three waves one window apart', async () => {
      const id = await account(3);
      for (let i = 0; i < 8; i++) await reserve(id, `g${i}`, 100);
      assert.deepEqual(await slotsMs(id), [100, 100, 100, 4100, 4100, 4100, 8100, 8100]);
    });

    test('when two API replicas reserve concurrently on the database clock, then no window ever holds more than the limit and each graph has one row', async () => {
      const id = await account();
      await setLimit(database.db, { accountId: id, limit: 5, windowMs: 60_000 });
      const other = await database.openAnotherClient();
      try {
        const keys = Array.from({ length: 40 }, (_, i) => `graph/${id}/b/${i}`);
        // Every key is asked for twice, once through each client, all at the same time.
        const results = await Promise.all(
          keys.flatMap((key) => [
            reserveSlot(database.db, { accountId: id, graphKey: key, windowMs: 60_000 }),
            reserveSlot(other.db, { accountId: id, graphKey: key, windowMs: 60_000 }),
          ]),
        );
        const rows = await listReservations(database.db, id);
        assert.equal(rows.length, 40);
        assert.deepEqual(
          rows.map((row) => row.seq),
          Array.from({ length: 40 }, (_, i) => i + 1),
        );
        const slots = rows.map((row) => row.slotAt.getTime());
        assert.ok(maxInAnyWindow(slots, 60_000) <= 5);
        assert.deepEqual(
          slots,
          [...slots].sort((a, b) => a - b),
          'FIFO',
        );
        // Both callers of one key were told the same slot.
        for (let i = 0; i < keys.length; i++) {
          assert.equal(results[2 * i]!.slotAt.getTime(), results[2 * i + 1]!.slotAt.getTime());
        }
        assert.equal(results.filter((result) => result.created).length, 40);
      } finally {
        await other.close();
      }
    });

    test('when a waiting graph gives its slot back, then its row is gone and the next graph may use the capacity', async () => {
      const id = await account(1);
      await reserve(id, 'a', 0);
      await reserve(id, 'b', 0);
      await reserve(id, 'c', 0);
      assert.deepEqual(await slotsMs(id), [0, W, 2 * W]);
      assert.equal(await releaseSlot(database.db, id, 'c'), true);
      assert.equal(await releaseSlot(database.db, id, 'c'), false);
      assert.equal(await releaseSlot(database.db, id, 'never-reserved'), false);
      assert.equal((await reserve(id, 'd', 1)).slotAt.getTime(), t0 + 2 * W);
      // A gap in the middle is never filled out of order: FIFO, and never over the limit.
      assert.equal(await releaseSlot(database.db, id, 'b'), true);
      assert.equal((await reserve(id, 'e', 2)).slotAt.getTime(), t0 + 3 * W);
      assert.ok(maxInAnyWindow(await slotsMs(id), W) <= 1);
    });

    test('when the limit is raised, then waiting slots move earlier (never before now) and are reported as moved', async () => {
      const id = await account(1);
      for (const key of ['a', 'b', 'c', 'd', 'e']) await reserve(id, key, 0);
      assert.deepEqual(await slotsMs(id), [0, W, 2 * W, 3 * W, 4 * W]);
      const change = await setLimit(database.db, { accountId: id, limit: 3, windowMs: W, now: at(1000) });
      assert.equal(change.previous, 1);
      assert.deepEqual(
        change.moved.map((row) => [row.graphKey, row.slotAt.getTime() - t0]),
        [
          ['b', 1000],
          ['c', 1000],
          ['d', W],
          ['e', W + 1000],
        ],
      );
      assert.deepEqual(change.waiting, ['b', 'c', 'd', 'e']);
      assert.deepEqual(await slotsMs(id), [0, 1000, 1000, W, W + 1000]);
      assert.equal(await getLimit(database.db, id), 3);
    });

    test('when the limit is lowered, then waiting slots move later and started ones stay', async () => {
      const id = await account(3);
      for (const key of ['a', 'b', 'c', 'd', 'e', 'f']) await reserve(id, key, 0);
      const change = await setLimit(database.db, { accountId: id, limit: 1, windowMs: W, now: at(1) });
      assert.deepEqual(
        change.moved.map((row) => [row.graphKey, row.slotAt.getTime() - t0]),
        [
          ['e', 2 * W],
          ['f', 3 * W],
        ],
      );
      assert.deepEqual(await slotsMs(id), [0, 0, 0, W, 2 * W, 3 * W]);
      // A graph reserving again after the change is told its new slot.
      assert.equal((await reserve(id, 'f', 2)).slotAt.getTime(), t0 + 3 * W);
    });

    test('when the same limit is set again, then nothing moves but every waiting graph is listed', async () => {
      const id = await account(2);
      for (const key of ['a', 'b', 'c']) await reserve(id, key, 0);
      const change = await setLimit(database.db, { accountId: id, limit: 2, windowMs: W, now: at(1) });
      assert.deepEqual(change.moved, []);
      assert.deepEqual(change.waiting, ['c']);
    });

    test('when the last start of a batch is projected, then it is where the reservations then land', async () => {
      const id = await account(3);
      for (const key of ['x', 'y', 'z', 'w']) await reserve(id, key, 0);
      for (const count of [1, 2, 5, 7]) {
        const projection = await projectStarts(database.db, {
          accountId: id,
          count,
          windowMs: W,
          now: at(10),
        });
        assert.equal(projection.limit, 3);
        const trial = await account(3);
        for (const key of ['x', 'y', 'z', 'w']) await reserve(trial, key, 0);
        let last = 0;
        for (let i = 0; i < count; i++) last = (await reserve(trial, `n${i}`, 10)).slotAt.getTime();
        assert.equal(projection.lastStartAt.getTime(), last, `count ${count}`);
      }
      assert.equal(
        (
          await projectStarts(database.db, {
            accountId: await account(),
            count: 1000,
            windowMs: W,
            now: at(5),
          })
        ).lastStartAt.getTime(),
        t0 + 5,
        '1000 graphs fit in a fresh account’s default limit',
      );
    });

    test('when reservations are a window old, then the next reservation purges them', async () => {
      const id = await account(2);
      await reserve(id, 'old-1', 0);
      await reserve(id, 'old-2', 0);
      await reserve(id, 'new', W + 1);
      assert.deepEqual(
        (await listReservations(database.db, id)).map((row) => row.graphKey),
        ['new'],
      );
      const slots = await slotsOf(database.db, id, ['new', 'old-1', 'missing']);
      assert.deepEqual([...slots.keys()], ['new']);
    });

    test('when reservations arrive at random times, then the database lays them out exactly as schedule.ts does, and cautiously around released ones', async () => {
      for (const seed of [11, 12, 13]) {
        let state = seed;
        const next = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
        const limit = 1 + Math.floor(next() * 4);
        const id = await account(limit);
        const rule = { limit, windowMs: W };
        const expected: number[] = [];
        const live: number[] = [];
        let now = 0;
        for (let i = 0; i < 40; i++) {
          if (next() < 0.5) now += Math.floor(next() * W);
          const slot = (await reserve(id, `k${i}`, now)).slotAt.getTime() - t0;
          if (i < 25) {
            // No gaps yet: exactly the pure rule.
            expected.push(nextSlot(expected, rule, now));
            assert.equal(slot, expected.at(-1), `seed ${seed}, reservation ${i}`);
          } else {
            assert.ok(slot >= nextSlot(live, rule, now), `seed ${seed}: never earlier than the rule allows`);
          }
          live.push(slot);
          // From the 25th on, waiting graphs are sometimes cancelled.
          const waiting = live.filter((s) => s > now);
          if (i >= 25 && waiting.length > 0 && next() < 0.3) {
            const victim = (await listReservations(database.db, id)).find(
              (row) => row.slotAt.getTime() - t0 > now,
            )!;
            await releaseSlot(database.db, id, victim.graphKey);
            live.splice(live.indexOf(victim.slotAt.getTime() - t0), 1);
          }
        }
        assert.ok(maxInAnyWindow(await slotsMs(id), W) <= limit, `seed ${seed}`);
      }
    });

    test('when two accounts reserve, then one account’s backlog does not move the other’s slots', async () => {
      const busy = await account(1);
      const quiet = await account(1);
      for (let i = 0; i < 50; i++) await reserve(busy, `b${i}`, 0);
      assert.equal((await reserve(quiet, 'q', 5)).slotAt.getTime(), t0 + 5);
    });
  });
}
