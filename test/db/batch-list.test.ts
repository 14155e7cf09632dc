import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import type { TransformGraph } from '../../src/core/graph/graph.js';
import { advanceGraphRun, finishBatch } from '../../src/db/graph-runs.js';
import {
  batchCounts,
  createAccount,
  failedBatchGraphs,
  insertBatch,
  listBatches,
  markBatchStarted,
  migrate,
  newBatchId,
  defaultMigrationsDirectory,
} from '../../src/db/index.js';
import { graphWorkflowId } from '../../src/core/jobs/workflow-ids.js';
import { databaseTargets, openMigrated, type TestDatabase } from '../support/test-databases.js';

const graph = (key: string): TransformGraph => ({
  transformUnits: [
    { type: 'StorageSource', bucket: 'in', key },
    { type: 'ImageFormat', format: 'webp' },
    { type: 'StorageSink', bucket: 'out', key: `${key}.webp` },
  ],
});

for (const target of databaseTargets()) {
  describe(`batch list and retries on ${target.name}`, () => {
    let database: TestDatabase;
    let accountCount = 0;
    const newAccount = async () => {
      const id = `bl-${target.name}-${(accountCount += 1)}`;
      await createAccount(database.db, { id, name: id });
      return id;
    };
    const started = async (accountId: string, at: number, graphs = [graph('a')], retryOf?: string) => {
      const batchId = newBatchId(at);
      await insertBatch(database.db, { batchId, accountId, graphs, retryOf });
      await markBatchStarted(database.db, batchId);
      return batchId;
    };

    before(async () => {
      database = await openMigrated(target);
    });
    after(() => database?.close());

    test('when batches are listed, then newest first by insertion, by state, by literal id prefix, and keyset pages', async () => {
      const accountId = await newAccount();
      const moment = Date.UTC(2026, 5, 1);
      const a = await started(accountId, moment);
      const b = await started(accountId, moment + 1, [graph('a'), graph('b')], a);
      const c = await started(accountId, moment + 500 * 86_400_000);
      await finishBatch(database.db, a, 'failed');
      const ids = async (filter: Partial<Parameters<typeof listBatches>[1]> = {}) =>
        (await listBatches(database.db, { accountId, limit: 10, ...filter })).map((row) => row.id);

      assert.deepEqual(await ids(), [c, b, a]);
      assert.deepEqual(await ids({ state: 'failed' }), [a]);
      assert.deepEqual(await ids({ idPrefix: a.slice(0, 10) }), [b, a]);
      assert.deepEqual(await ids({ idPrefix: c }), [c]);
      // `_` in `b_` is matched literally, never as LIKE's one-character wildcard.
      assert.deepEqual(await ids({ idPrefix: `bx${a.slice(2, 10)}` }), []);
      const [newest] = await listBatches(database.db, { accountId, limit: 1 });
      assert.deepEqual(await ids({ beforeSeq: newest!.seq }), [b, a]);
      const [linked] = await listBatches(database.db, { accountId, idPrefix: b, limit: 1 });
      assert.equal(linked!.retryOf, a);
    });

    test('when counts and failed graphs are read, then they come from the read model per batch, in index order with their definitions', async () => {
      const accountId = await newAccount();
      const batchId = await started(accountId, Date.UTC(2026, 5, 2), [graph('x'), graph('y'), graph('z')]);
      const id = (index: number) => graphWorkflowId(accountId, batchId, index);
      await advanceGraphRun(database.db, id(0), {
        state: 'failed',
        error: { code: 'corrupt_input', message: 'x' },
      });
      await advanceGraphRun(database.db, id(1), { state: 'succeeded', sinks: [], failures: [] });
      await advanceGraphRun(database.db, id(2), { state: 'partial', sinks: [], failures: [] });

      const counts = await batchCounts(database.db, [batchId, 'b_none']);
      assert.deepEqual(
        {
          failed: counts.get(batchId)!.failed,
          succeeded: counts.get(batchId)!.succeeded,
          partial: counts.get(batchId)!.partial,
        },
        { failed: 1, succeeded: 1, partial: 1 },
      );
      assert.equal(counts.get('b_none')!.queued, 0);
      assert.deepEqual(await failedBatchGraphs(database.db, accountId, batchId), [
        { index: 0, graph: graph('x') },
        { index: 2, graph: graph('z') },
      ]);
      assert.deepEqual(await failedBatchGraphs(database.db, 'someone-else', batchId), []);
    });

    test('when the original batch is deleted, then its retry stays, without the link', async () => {
      const accountId = await newAccount();
      const original = await started(accountId, Date.UTC(2026, 5, 3));
      const retry = await started(accountId, Date.UTC(2026, 5, 3) + 1, [graph('a')], original);
      await database.db.execute(sql`delete from batches where id = ${original}`);
      const [row] = await listBatches(database.db, { accountId, limit: 5 });
      assert.deepEqual([row!.id, row!.retryOf], [retry, null]);
    });

    test('when migration 0011 meets existing batches, then it numbers them in creation order and new batches continue after them', async () => {
      const fresh = await target.open();
      const earlier = mkdtempSync(path.join(os.tmpdir(), 'pixelshift-migrations-'));
      try {
        for (const file of readdirSync(defaultMigrationsDirectory).filter((name) => name < '0011')) {
          copyFileSync(path.join(defaultMigrationsDirectory, file), path.join(earlier, file));
        }
        await migrate(fresh.db, { directory: earlier });
        await createAccount(fresh.db, { id: 'old', name: 'old' });
        // Inserted out of creation order: the numbering follows created_at, not insertion.
        const ids = [newBatchId(3), newBatchId(1), newBatchId(2)];
        for (const [i, id] of ids.entries()) {
          await fresh.db.execute(
            sql`insert into batches (id, account_id, graph_count, created_at, started_at)
                values (${id}, 'old', 1, ${new Date(Date.UTC(2026, 0, 1 + [3, 1, 2][i]!)).toISOString()}::timestamptz, now())`,
          );
        }
        await migrate(fresh.db);
        const newest = newBatchId();
        await insertBatch(fresh.db, { batchId: newest, accountId: 'old', graphs: [graph('n')] });
        await markBatchStarted(fresh.db, newest);
        const rows = await listBatches(fresh.db, { accountId: 'old', limit: 10 });
        assert.deepEqual(
          rows.map((row) => row.id),
          [newest, ids[0], ids[2], ids[1]],
        );
        assert.deepEqual(
          rows.map((row) => row.seq),
          [4, 3, 2, 1],
        );
      } finally {
        rmSync(earlier, { recursive: true, force: true });
        await fresh.close();
      }
    });
  });
}
