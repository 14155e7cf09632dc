import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import type { Db } from '../../src/db/database.js';
import { createAccount, insertBatch, listBatchGraphs, newBatchId, queryRows } from '../../src/db/index.js';
import {
  advanceGraphRun,
  batchProgress,
  finishBatch,
  getGraphRun,
  insertGraphRuns,
  insertTriggeredRuns,
  listTriggeredRuns,
  usageOf,
} from '../../src/db/graph-runs.js';
import { reserveSlot, setLimit } from '../../src/db/throttle-reservations.js';
import type { TransformGraph } from '../../src/core/graph/graph.js';
import { graphWorkflowId } from '../../src/core/jobs/workflow-ids.js';
import { databaseTargets, openMigrated, type TestDatabase } from '../support/test-databases.js';

const graph = (key: string): TransformGraph => ({
  transformUnits: [
    { type: 'StorageSource', bucket: 'in', key, versionId: 'v1' },
    { type: 'ImageFormat', format: 'webp' },
    { type: 'StorageSink', bucket: 'out', key: `${key}.webp` },
  ],
});

const sink = (bytes: number) => ({
  storage: 'default',
  bucket: 'out',
  key: 'a.webp',
  bytes,
  format: 'webp' as const,
  width: 10,
  height: 10,
  etag: '"e"',
});

for (const target of databaseTargets()) {
  describe(`read model of graph runs on ${target.name}`, () => {
    let database: TestDatabase;
    let accountCount = 0;
    const newAccount = async () => {
      const id = `rm-${target.name}-${(accountCount += 1)}`;
      await createAccount(database.db, { id, name: id });
      return id;
    };
    const start = (accountId: string, workflowId: string, trigger: 's3' | 'webhook' = 's3') =>
      insertTriggeredRuns(database.db, [
        { accountId, workflowId, trigger, triggerId: `${trigger}-trigger`, graph: graph(workflowId) },
      ]);

    before(async () => {
      database = await openMigrated(target);
    });
    after(() => database.close());

    test('when a run is recorded again after it ended (a retried activity, a replay), then its outcome and the usage counters stay as first recorded', async () => {
      const accountId = await newAccount();
      await start(accountId, `${accountId}/one`);
      const at = new Date('2026-12-03T10:15:00Z');
      const done = {
        state: 'succeeded' as const,
        at,
        sinks: [sink(500)],
        failures: [],
        sourcePixels: 2_000_000,
      };
      assert.equal(await advanceGraphRun(database.db, `${accountId}/one`, { state: 'running', at }), true);
      assert.equal(await advanceGraphRun(database.db, `${accountId}/one`, done), true);
      assert.equal(await advanceGraphRun(database.db, `${accountId}/one`, done), false);
      // A late write of an earlier state (a throttle answer delivered after the outcome) changes nothing.
      assert.equal(await advanceGraphRun(database.db, `${accountId}/one`, { state: 'running' }), false);
      assert.equal(
        await advanceGraphRun(database.db, `${accountId}/one`, {
          state: 'failed',
          error: { code: 'internal', message: 'late' },
        }),
        false,
      );
      const row = await getGraphRun(database.db, accountId, `${accountId}/one`);
      assert.equal(row?.state, 'succeeded');
      assert.deepEqual(row?.sinks, [sink(500)]);
      assert.equal(row?.sourceVersion, 'v1');
      const [usage] = await usageOf(database.db, accountId, {
        from: new Date('2026-12-03T00:00:00Z'),
        to: new Date('2026-12-04T00:00:00Z'),
        granularity: 'hour',
      });
      assert.deepEqual(usage, {
        start: new Date('2026-12-03T10:00:00Z'),
        graphs: { succeeded: 1, partial: 0, failed: 0, cancelled: 0 },
        transforms: 1,
        megapixelsRead: 2,
        bytesWritten: 500,
      });
    });

    test('when the database session runs in a half-hour time zone, then usage is still counted in the UTC hour', async () => {
      const accountId = await newAccount();
      await start(accountId, `${accountId}/kolkata`);
      const at = new Date('2026-12-03T10:15:00Z');
      await database.db.transaction(async (tx) => {
        // A server configured for India (UTC+05:30): hours there begin at :30 UTC.
        await tx.execute(sql`set local time zone 'Asia/Kolkata'`);
        const done = { state: 'succeeded' as const, at, sinks: [sink(1)], failures: [] };
        assert.equal(await advanceGraphRun(tx as unknown as Db, `${accountId}/kolkata`, done), true);
      });
      const usage = await usageOf(database.db, accountId, {
        from: new Date('2026-12-03T09:00:00Z'),
        to: new Date('2026-12-03T11:00:00Z'),
        granularity: 'hour',
      });
      assert.deepEqual(
        usage.map((bucket) => [bucket.start.toISOString(), bucket.graphs.succeeded]),
        [['2026-12-03T10:00:00.000Z', 1]],
      );
    });

    test('when the recording reservation makes a graph wait, then it is throttled until its slot, and running once the slot has come', async () => {
      const accountId = await newAccount();
      await setLimit(database.db, { accountId, limit: 1, windowMs: 60_000 });
      await start(accountId, `${accountId}/first`);
      await start(accountId, `${accountId}/second`);
      const request = (graphKey: string) => ({ accountId, graphKey, windowMs: 60_000, recordOnRun: true });
      await reserveSlot(database.db, request(`${accountId}/first`));
      const waiting = await reserveSlot(database.db, request(`${accountId}/second`));
      const first = await getGraphRun(database.db, accountId, `${accountId}/first`);
      const second = await getGraphRun(database.db, accountId, `${accountId}/second`);
      assert.equal(first?.state, 'running');
      assert.ok(first?.startedAt);
      assert.equal(second?.state, 'throttled');
      assert.deepEqual(second?.throttledUntil, waiting.slotAt);
      // The slot has come (asked again at that time): running, and counted once as a transform.
      await reserveSlot(database.db, { ...request(`${accountId}/second`), now: waiting.slotAt });
      assert.equal((await getGraphRun(database.db, accountId, `${accountId}/second`))?.state, 'running');
    });

    test('when a 1000-graph batch is stored in one statement, then each graph and its run keep their index, order and content', async () => {
      const accountId = await newAccount();
      const batchId = newBatchId();
      // Keys that JSON and SQL both treat specially, so a row that lost or mangled anything would show.
      const keys = Array.from({ length: 1000 }, (_, index) => `dir/${index} "quoted" \\ ü 😀 ' ;--`);
      await insertBatch(database.db, { batchId, accountId, graphs: keys.map((key) => graph(key)) });
      const stored = await listBatchGraphs(database.db, accountId, batchId);
      assert.deepEqual(
        stored,
        keys.map((key) => graph(key)),
      );
      const runs = await queryRows<{
        workflow_id: string;
        graph_index: number;
        source: string;
        source_version: string;
        state: string;
      }>(
        database.db,
        sql`select workflow_id, graph_index, source, source_version, state from graph_runs
          where batch_id = ${batchId} order by seq`,
      );
      assert.deepEqual(
        runs,
        keys.map((key, index) => ({
          workflow_id: graphWorkflowId(accountId, batchId, index),
          graph_index: index,
          source: `in/${key}`,
          source_version: 'v1',
          state: 'queued',
        })),
      );
    });

    test('when runs already exist, then inserting them again keeps them as they are and counts only the new ones', async () => {
      const accountId = await newAccount();
      const first = { workflowId: `${accountId}/first`, accountId, trigger: 's3' as const, source: 'in/a' };
      assert.equal(await insertGraphRuns(database.db, [first]), 1);
      await advanceGraphRun(database.db, first.workflowId, { state: 'running' });
      const second = { ...first, workflowId: `${accountId}/second` };
      assert.equal(await insertGraphRuns(database.db, [{ ...first, source: 'in/changed' }, second]), 1);
      const kept = await getGraphRun(database.db, accountId, first.workflowId);
      assert.equal(kept?.state, 'running');
      assert.equal(kept?.source, 'in/a');
    });

    test('when a cancelled batch ends, then its graphs that never started end as cancelled and finished ones keep their outcome', async () => {
      const accountId = await newAccount();
      const batchId = newBatchId();
      await insertBatch(database.db, { batchId, accountId, graphs: [graph('a'), graph('b'), graph('c')] });
      await advanceGraphRun(database.db, graphWorkflowId(accountId, batchId, 0), {
        state: 'succeeded',
        sinks: [sink(1)],
        failures: [],
      });
      await finishBatch(database.db, batchId, 'cancelled');
      await finishBatch(database.db, batchId, 'cancelled');
      const { counts } = await batchProgress(database.db, batchId);
      assert.equal(counts.succeeded, 1);
      assert.equal(counts.cancelled, 2);
      assert.equal(counts.queued, 0);
    });

    test('when runs change state while a client pages, then each run is listed exactly once, newest first', async () => {
      const accountId = await newAccount();
      const ids = Array.from({ length: 30 }, (_, i) => `${accountId}/run-${String(i).padStart(2, '0')}`);
      for (const id of ids) await start(accountId, id);
      await start(accountId, `${accountId}/hooked`, 'webhook');
      const seen: string[] = [];
      let beforeSeq: number | undefined;
      for (let page = 0; ; page += 1) {
        const rows = await listTriggeredRuns(database.db, { accountId, trigger: 's3', beforeSeq, limit: 7 });
        seen.push(...rows.map((row) => row.workflowId));
        if (rows.length < 7) break;
        beforeSeq = rows.at(-1)!.seq;
        // Runs on both sides of the cursor move on between pages.
        for (const id of [ids[page]!, ids[29 - page]!]) {
          await advanceGraphRun(database.db, id, { state: 'running' });
        }
      }
      assert.deepEqual(seen, [...ids].reverse());
      const both = await listTriggeredRuns(database.db, { accountId, limit: 100 });
      assert.equal(both.length, 31, 'without a trigger, rule and hook runs are listed together');
    });
  });
}
