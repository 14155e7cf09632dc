/**
 * `pixelshift reconcile` against a real Temporal dev server, real workers and a real database: the rows a
 * database restore lost come back as the live path wrote them, a second reconcile changes nothing, and
 * `--since` picks only work started since then.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import type { TransformGraph } from '../../../src/core/graph/graph.js';
import { createObjectStores } from '../../../src/core/storage/connections.js';
import { batchWorkflowId } from '../../../src/core/jobs/workflow-ids.js';
import {
  batches,
  ensureAccount,
  getBatch,
  getBatchGraph,
  graphRuns,
  insertBatch,
  listBatchGraphs,
  markBatchStarted,
  newBatchId,
  usageHourly,
} from '../../../src/db/index.js';
import { databaseRunRecorder, insertTriggeredRuns } from '../../../src/db/graph-runs.js';
import type { GraphRunRow } from '../../../src/db/schema.js';
import { databaseThrottleGate } from '../../../src/db/throttle-gate.js';
import { setLimit } from '../../../src/db/throttle-reservations.js';
import { reconcile, ReconcileError, type ReconcileScope } from '../../../src/temporal/client/reconcile.js';
import { TemporalJobEngine } from '../../../src/temporal/client/temporal-orchestrator.js';
import { createWorkers, type RunningWorkers } from '../../../src/temporal/worker/worker.js';
import { webhookDepsFor } from '../../support/engine-deps.js';
import { fixturePath } from '../../support/fixtures.js';
import { databaseTargets, openMigrated, type TestDatabase } from '../../support/test-databases.js';
import { temporalForTests } from '../../support/temporal.js';

const accountId = `reconcile-${randomBytes(3).toString('hex')}`;
const ruleId = 'rule-1';

function thumbnail(key: string, out: string): TransformGraph {
  return {
    transformUnits: [
      { type: 'StorageSource', bucket: 'photos', key },
      { type: 'Resize', width: 32 },
    ],
    outputs: [
      {
        transformUnits: [
          { type: 'ImageFormat', format: 'webp' },
          { type: 'StorageSink', bucket: 'out', key: `${out}.webp` },
        ],
      },
    ],
  };
}

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: not reached; last ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** What a rebuilt row must have exactly as the live path wrote it. */
function durable(row: GraphRunRow) {
  return {
    workflowId: row.workflowId,
    accountId: row.accountId,
    trigger: row.trigger,
    triggerId: row.triggerId,
    batchId: row.batchId,
    graphIndex: row.graphIndex,
    source: row.source,
    sourceVersion: row.sourceVersion,
    state: row.state,
    stateRank: row.stateRank,
    throttledUntil: row.throttledUntil,
    errorCode: row.errorCode,
    errorMessage: row.errorMessage,
    sinks: row.sinks,
    failures: row.failures,
    started: row.startedAt !== null,
    finished: row.finishedAt !== null,
  };
}

describe('reconcile on a real Temporal dev server', () => {
  let root: string;
  let workers: RunningWorkers;
  let orchestrator: TemporalJobEngine;
  let temporal: Awaited<ReturnType<typeof temporalForTests>>;
  let database: TestDatabase;
  let batchId: string;
  let firstRun: string;

  before(async () => {
    temporal = await temporalForTests();
    database = await openMigrated(databaseTargets()[0]!);
    await ensureAccount(database.db, { id: accountId, name: accountId });
    root = await mkdtemp(path.join(os.tmpdir(), 'pixelshift-reconcile-'));
    await mkdir(path.join(root, 'photos'), { recursive: true });
    for (const file of ['jpeg-exif-orientation-6.jpg', 'png-rgba-alpha.png', 'bad-truncated.jpg']) {
      await copyFile(fixturePath(file), path.join(root, 'photos', file));
    }
    const stores = createObjectStores({ default: { kind: 'local', root } });
    const config = {
      temporal: {
        address: temporal.address,
        namespace: 'default',
        apiKey: undefined,
        tls: false,
        uiUrl: undefined,
        taskQueues: temporal.taskQueues,
      },
      imaging: { slots: 2, maxInputPixels: 100_000_000, maxSourceBytes: 800 * 1024 * 1024, heic: true },
    };
    workers = await createWorkers({
      config,
      deps: {
        // Batch graphs are read from the database, as in production: a lost batch row loses them too.
        graphs: {
          getBatchGraph: (account, batch, index) => getBatchGraph(database.db, account, batch, index),
          listBatchGraphs: (account, batch) => listBatchGraphs(database.db, account, batch),
        },
        stores,
        imaging: config.imaging,
        throttle: databaseThrottleGate(database.db, { windowMs: 3_600_000 }),
        runs: databaseRunRecorder(database.db),
        webhooks: webhookDepsFor(database.db),
      },
      bundle: temporal.bundle,
      connection: temporal.nativeConnection,
      shutdownGraceTime: '2 seconds',
    });
    void workers.run();
    orchestrator = new TemporalJobEngine(temporal.client, config);

    // Two graphs that succeed, one that fails on a truncated file, and a run started by a rule.
    batchId = newBatchId();
    await insertBatch(database.db, {
      batchId,
      accountId,
      graphs: [
        thumbnail('jpeg-exif-orientation-6.jpg', `${batchId}/a`),
        thumbnail('bad-truncated.jpg', `${batchId}/bad`),
        thumbnail('png-rgba-alpha.png', `${batchId}/b`),
      ],
    });
    await orchestrator.startBatch({ accountId, batchId, graphCount: 3 });
    await markBatchStarted(database.db, batchId);
    firstRun = await startTriggeredRun('png-rgba-alpha.png');
    await closed(batchWorkflowId(accountId, batchId));
    await closed(firstRun);
  });

  after(async () => {
    await workers?.shutdown();
    await database?.close();
    await rm(root, { recursive: true, force: true });
  });

  async function startTriggeredRun(key: string, account = accountId): Promise<string> {
    const start = {
      accountId: account,
      workflowId: `s3/default/photos/${key}/${randomUUID()}/${ruleId}`,
      trigger: 's3' as const,
      triggerId: ruleId,
      graph: thumbnail(key, `runs/${randomUUID()}`),
    };
    await insertTriggeredRuns(database.db, [start]);
    assert.equal((await orchestrator.startGraphRun(start)).started, true);
    return start.workflowId;
  }

  /** Waits for a workflow to close: its rows are written before it announces and returns. */
  const closed = (workflowId: string) =>
    temporal.client.workflow
      .getHandle(workflowId)
      .result()
      .catch(() => undefined);

  const rows = (account = accountId) =>
    database.db
      .select()
      .from(graphRuns)
      .where(eq(graphRuns.accountId, account))
      .orderBy(graphRuns.workflowId);
  const batchRow = () => getBatch(database.db, accountId, batchId);
  const usage = () =>
    database.db
      .select({
        succeeded: usageHourly.succeeded,
        partial: usageHourly.partial,
        failed: usageHourly.failed,
        cancelled: usageHourly.cancelled,
        transforms: usageHourly.transforms,
        bytesWritten: usageHourly.bytesWritten,
      })
      .from(usageHourly)
      .where(eq(usageHourly.accountId, accountId));
  const totals = async () => {
    const sum = { succeeded: 0, partial: 0, failed: 0, cancelled: 0, transforms: 0, bytesWritten: 0 };
    for (const row of await usage()) {
      for (const key of Object.keys(sum) as (keyof typeof sum)[]) sum[key] += Number(row[key]);
    }
    return sum;
  };

  /** What a restore to a backup taken before this work would leave: no rows, no batch end, no usage. */
  async function loseReadModel() {
    await database.db.delete(graphRuns).where(eq(graphRuns.accountId, accountId));
    await database.db
      .update(batches)
      .set({ state: 'running', finishedAt: null })
      .where(eq(batches.id, batchId));
    await database.db.delete(usageHourly).where(eq(usageHourly.accountId, accountId));
  }

  /** Each rebuilt time lies within its workflow's own run: it came from Temporal's records. */
  async function assertTimesWithinWorkflows(all: GraphRunRow[]) {
    for (const row of all) {
      const { startTime, closeTime } = await temporal.client.workflow.getHandle(row.workflowId).describe();
      for (const time of [row.startedAt, row.finishedAt]) {
        assert.ok(
          time && time >= startTime && closeTime && time <= closeTime,
          `${row.workflowId}: ${time?.toISOString()}`,
        );
      }
    }
  }

  const run = (scope: ReconcileScope) => reconcile({ client: temporal.client, db: database.db }, scope);

  test('when the read model lost a batch and a triggered run, then reconcile brings their rows back as they were, and a second run changes nothing', async () => {
    const original = await rows();
    const originalBatch = await batchRow();
    const originalUsage = await totals();
    assert.deepEqual(
      original.map((row) => [row.graphIndex, row.state]),
      [
        [0, 'succeeded'],
        [1, 'failed'],
        [2, 'succeeded'],
        [null, 'succeeded'],
      ],
    );
    await loseReadModel();

    const batchSummary = await run({ batchId });
    assert.deepEqual(batchSummary, {
      graphRuns: { inserted: 3, advanced: 0, unchanged: 0 },
      batches: { restored: 0, finished: 1, unchanged: 0 },
      skipped: [],
    });
    const since = await run({ since: originalBatch!.createdAt });
    assert.equal(since.graphRuns.inserted, 1, 'the triggered run');
    assert.equal(since.graphRuns.unchanged, 3, 'the batch graphs, rebuilt already');

    const rebuilt = await rows();
    assert.deepEqual(rebuilt.map(durable), original.map(durable));
    await assertTimesWithinWorkflows(rebuilt);
    const rebuiltBatch = await batchRow();
    assert.equal(rebuiltBatch?.state, originalBatch?.state);
    assert.ok(rebuiltBatch?.finishedAt);
    // Megapixels read are not in Temporal's records; everything else is counted again, once.
    assert.deepEqual(await totals(), originalUsage);

    const again = await run({ batchId });
    assert.deepEqual(again, {
      graphRuns: { inserted: 0, advanced: 0, unchanged: 3 },
      batches: { restored: 0, finished: 0, unchanged: 1 },
      skipped: [],
    });
    assert.deepEqual(await rows(), rebuilt);
    assert.deepEqual(await totals(), originalUsage, 'a final run is never counted twice');
  });

  test('when rows only lag behind (a restore to the middle of the work), then reconcile moves them forward and counts usage for those moves only', async () => {
    const before = await rows();
    const usageBefore = await totals();
    // The batch's first graph as the restore left it: admitted by the throttle, not finished.
    const lagging = before.find((row) => row.graphIndex === 0)!;
    await database.db.execute(
      sql`update graph_runs set state = 'running', state_rank = 2, finished_at = null, sinks = '[]'::jsonb
          where workflow_id = ${lagging.workflowId}`,
    );
    const bytes = lagging.sinks.reduce((sum, sink) => sum + sink.bytes, 0);
    await database.db.execute(
      sql`update usage_hourly set succeeded = succeeded - 1, bytes_written = bytes_written - ${bytes}
          where account_id = ${accountId}
          and hour = date_trunc('hour', ${lagging.finishedAt!.toISOString()}::timestamptz)`,
    );

    const summary = await run({ batchId });
    assert.deepEqual(summary.graphRuns, { inserted: 0, advanced: 1, unchanged: 2 });
    assert.deepEqual((await rows()).map(durable), before.map(durable));
    assert.deepEqual(await totals(), usageBefore, 'the finish counted once; the start was counted already');
  });

  test('when the batch row itself was lost, then reconcile recreates it from its workflow with its graph rows, without their definitions', async () => {
    const before = await rows();
    const graphCountBefore = (await batchRow())!.graphCount;
    // Deleting the batch cascades to its graphs and their read-model rows.
    await database.db.delete(batches).where(eq(batches.id, batchId));

    const summary = await run({ batchId });
    assert.deepEqual(summary.batches, { restored: 1, finished: 1, unchanged: 0 });
    assert.equal(summary.graphRuns.inserted, 3);
    const restored = await batchRow();
    assert.equal(restored?.graphCount, graphCountBefore);
    assert.equal(restored?.state, 'partial');
    assert.deepEqual(
      await listBatchGraphs(database.db, accountId, batchId),
      [],
      'definitions are not in Temporal',
    );
    assert.deepEqual(
      (await rows()).map(durable),
      before.map(durable),
      'same states, outcomes and sources (these graphs name no version)',
    );
  });

  test('when given a time, then reconcile rebuilds only the work started since then', async () => {
    const newer = await startTriggeredRun('jpeg-exif-orientation-6.jpg');
    await closed(newer);
    const { startTime } = await temporal.client.workflow.getHandle(newer).describe();
    await database.db.delete(graphRuns).where(eq(graphRuns.accountId, accountId));

    const summary = await run({ since: startTime });
    assert.equal(summary.graphRuns.inserted, 1);
    assert.deepEqual(
      (await rows()).map((row) => [row.workflowId, row.state]),
      [[newer, 'succeeded']],
      `older work (${firstRun} and batch ${batchId}) is left alone`,
    );
  });

  test('when a run still waits for its throttle slot, then reconcile brings its row back throttled until the slot it holds', async () => {
    const throttled = `${accountId}-slow`;
    await ensureAccount(database.db, { id: throttled, name: throttled });
    await setLimit(database.db, { accountId: throttled, limit: 1, windowMs: 3_600_000 });
    const admitted = await startTriggeredRun('png-rgba-alpha.png', throttled);
    // One after the other: the first takes the hour's only slot.
    await closed(admitted);
    const waiting = await startTriggeredRun('jpeg-exif-orientation-6.jpg', throttled);
    try {
      const original = await waitFor(
        () => rows(throttled),
        (all) => all.find((row) => row.workflowId === waiting)?.state === 'throttled',
        'the other run waits',
      );
      const { startTime } = await temporal.client.workflow.getHandle(admitted).describe();
      await database.db.delete(graphRuns).where(eq(graphRuns.accountId, throttled));

      const summary = await run({ since: startTime });
      assert.equal(summary.graphRuns.inserted, 2);
      const rebuilt = await rows(throttled);
      assert.deepEqual(rebuilt.map(durable), original.map(durable));
      assert.ok(rebuilt.find((row) => row.workflowId === waiting)?.throttledUntil, 'the slot it holds');

      // Already throttled: the slot the live path recorded is kept, not rewritten.
      assert.equal((await run({ since: startTime })).graphRuns.advanced, 0);
    } finally {
      await temporal.client.workflow.getHandle(waiting).terminate('test over');
    }
  });

  test('when the batch is unknown to Temporal, then reconcile says so and writes nothing', async () => {
    await assert.rejects(
      run({ batchId: newBatchId() }),
      (error) => error instanceof ReconcileError && error.code === 'batch_not_found',
    );
  });
});
