/**
 * Recovery after a database restore, as an operator does it: the stack runs a batch on PostgreSQL, a
 * "restore" loses the batch's read-model rows, its end and its usage, and the real `pixelshift reconcile`
 * command, run as its own process, brings back what the API answered before. The finer cases (lost batch
 * rows, rows that only lag, `--since`) are in test/temporal/client/reconcile.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import type { TransformGraph } from '../../src/core/graph/index.js';
import { batches, graphRuns, usageHourly } from '../../src/db/schema.js';
import { freshPostgresDatabase } from '../support/postgres.js';
import { readBatch, runReconcileCommand, startStack, withoutTimes, type Stack } from '../support/stack.js';

describe('reconcile on the real stack', () => {
  let stack: Stack;
  let database: Awaited<ReturnType<typeof freshPostgresDatabase>>;

  before(async () => {
    database = await freshPostgresDatabase();
    stack = await startStack({ databaseUrl: database.url });
  });
  after(async () => {
    await stack?.close();
    await database?.drop();
  });

  function graph(sourceKey: string, outKey: string): TransformGraph {
    return {
      transformUnits: [{ type: 'StorageSource', bucket: stack.buckets.input, key: sourceKey }],
      outputs: [
        {
          transformUnits: [
            { type: 'Resize', width: 64, fit: 'inside' },
            { type: 'ImageFormat', format: 'webp' },
            { type: 'StorageSink', bucket: stack.buckets.output, key: outKey },
          ],
        },
      ],
    };
  }

  /** What the API tells a client about the batch and the account's usage today. */
  async function whatTheApiSays(batchId: string) {
    const status = await readBatch((pathname) => stack.api(pathname), batchId);
    const usage = await stack.api('/v1/account/usage?granularity=day');
    assert.equal(usage.status, 200, JSON.stringify(usage.body));
    return { status, usage: usage.body };
  }

  test("when a restore loses a finished batch's rows, then `pixelshift reconcile --batch` brings back the same status, graphs and usage", async () => {
    const photo = await stack.uploadFixture('jpeg-exif-orientation-6.jpg', 'in/reconcile/photo.jpg');
    const graphs = [
      graph(photo, 'out/reconcile/0.webp'),
      graph(photo, 'out/reconcile/1.webp'),
      graph('in/reconcile/missing.jpg', 'out/reconcile/2.webp'),
    ];
    const submitted = await stack.api('/v1/batches', { method: 'POST', body: JSON.stringify({ graphs }) });
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    const { batchId } = submitted.body as { batchId: string };
    const finished = await stack.waitForBatch(batchId, 120_000);
    assert.equal(finished.state, 'partial', JSON.stringify(finished.counts));
    const beforeRestore = await whatTheApiSays(batchId);

    // The restore: a backup taken when the batch had just started.
    const { db } = stack.database;
    await db.delete(graphRuns).where(eq(graphRuns.batchId, batchId));
    await db.update(batches).set({ state: 'running', finishedAt: null }).where(eq(batches.id, batchId));
    await db.delete(usageHourly).where(eq(usageHourly.accountId, stack.account.accountId));
    const lost = await stack.api(`/v1/batches/${batchId}/graphs`);
    assert.deepEqual((lost.body as { graphs: unknown[] }).graphs, [], 'the restore lost the graph rows');

    const summary = await runReconcileCommand(stack, ['--batch', batchId]);
    assert.equal(summary.graphRuns.inserted, 3, JSON.stringify(summary));

    // Megapixels read are not in Temporal's records (docs/architecture.md §7.2): everything else is.
    const withoutMegapixels = (usage: unknown) =>
      JSON.parse(JSON.stringify(usage), (key, value: unknown) =>
        key === 'megapixelsRead' ? undefined : value,
      ) as unknown;
    const afterReconcile = await whatTheApiSays(batchId);
    // Times come back from Temporal's history, not from the clock of the writes the restore lost: the
    // same story in the same order, not the same milliseconds.
    assert.deepEqual(withoutTimes(afterReconcile.status), withoutTimes(beforeRestore.status));
    const { status } = afterReconcile;
    for (const graph of status.graphs) {
      assert.ok(status.createdAt <= graph.startedAt!, JSON.stringify(graph));
      assert.ok(graph.startedAt! <= graph.finishedAt!, JSON.stringify(graph));
      assert.ok(graph.finishedAt! <= status.finishedAt!, JSON.stringify(graph));
    }
    assert.deepEqual(withoutMegapixels(afterReconcile.usage), withoutMegapixels(beforeRestore.usage));
  });
});
