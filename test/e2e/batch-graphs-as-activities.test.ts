/**
 * Batches whose graphs run as activities of the batch (PIXELSHIFT_BATCH_GRAPHS=activities, docs/decisions.md)
 * on the real stack: the API, `pixelshift worker` processes, PostgreSQL, moto and the dev server, with a
 * 4-second throttle window. The same promises as a child per graph: outcomes and codes, the throttle
 * (waiting, woken by a limit change, cancelled with its slots given back), a worker killed mid-batch, and
 * `pixelshift reconcile` after a restore; what differs is where a graph lives in Temporal.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { eq } from 'drizzle-orm';
import sharp from 'sharp';
import type { BatchStatus } from '../../src/core/jobs/job-status.js';
import { maxInAnyWindow } from '../../src/core/throttle/throttle-schedule.js';
import { batches, graphRuns } from '../../src/db/schema.js';
import { listReservations } from '../../src/db/throttle-reservations.js';
import { freshPostgresDatabase } from '../support/postgres.js';
import { threeOutputGraph } from '../support/graphs.js';
import { startWorkerProcess } from '../support/worker-process.js';
import { readBatch, runReconcileCommand, startStack, withoutTimes, type Stack } from '../support/stack.js';
import { readUntil } from '../support/wait.js';

const W = 4000;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Api = Stack['api'];

const eventMs = (event: HistoryEvent): number =>
  Number(event.eventTime!.seconds) * 1000 + Math.round((event.eventTime!.nanos ?? 0) / 1e6);

describe('batches whose graphs run as activities, on the real stack', () => {
  let stack: Stack;
  let database: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  const workers: ChildProcess[] = [];
  let photo: string;

  before(async () => {
    database = await freshPostgresDatabase();
    stack = await startStack({
      databaseUrl: database.url,
      inProcessWorkers: false,
      env: { PIXELSHIFT_BATCH_GRAPHS: 'activities', PIXELSHIFT_THROTTLE_WINDOW: '4s' },
    });
    workers.push(await startWorkerProcess(stack.workerEnv));
    photo = await stack.uploadFixture('jpeg-exif-orientation-6.jpg', 'in/activities/photo.jpg');
  });
  after(async () => {
    for (const worker of workers) worker.kill('SIGKILL');
    await stack?.close();
    await database?.drop();
  });

  const smallGraph = (sourceKey: string, outKey: string) => ({
    transformUnits: [
      { type: 'StorageSource', bucket: stack.buckets.input, key: sourceKey },
      { type: 'Resize', width: 64, fit: 'inside' },
      { type: 'ImageFormat', format: 'webp' },
      { type: 'StorageSink', bucket: stack.buckets.output, key: outKey },
    ],
  });

  async function submit(api: Api, graphs: unknown[]): Promise<string> {
    const res = await api('/v1/batches', { method: 'POST', body: JSON.stringify({ graphs }) });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return (res.body as { batchId: string }).batchId;
  }

  async function batchEvents(accountId: string, batchId: string): Promise<HistoryEvent[]> {
    const handle = stack.temporal.client.workflow.getHandle(`batch/${accountId}/${batchId}`);
    return (await handle.fetchHistory()).events ?? [];
  }

  async function setLimit(api: Api, transformsPerHour: number): Promise<void> {
    const res = await api('/v1/account/throttle', {
      method: 'PUT',
      body: JSON.stringify({ transformsPerHour }),
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }

  test('when a batch mixes good photos and a missing one, then each graph ends as an activity of the batch with its code, and reconcile rebuilds the same status after a restore', async () => {
    const { accountId } = stack.account;
    const batchId = await submit(stack.api.bind(stack), [
      smallGraph(photo, 'out/activities/0.webp'),
      smallGraph('in/activities/missing.jpg', 'out/activities/1.webp'),
      smallGraph(photo, 'out/activities/2.webp'),
    ]);
    const finished = await readUntil(
      () => readBatch((pathname) => stack.api(pathname), batchId),
      (status) => status.state !== 'running',
    );
    assert.equal(finished.state, 'partial', JSON.stringify(finished.counts));
    assert.deepEqual(
      finished.graphs.map((graph) => [graph.state, graph.error?.code]),
      [
        ['succeeded', undefined],
        ['failed', 'source_not_found'],
        ['succeeded', undefined],
      ],
    );
    const written = await sharp(
      await stack.readObject(stack.buckets.output, 'out/activities/0.webp'),
    ).metadata();
    assert.equal(written.format, 'webp');

    // No graph has an execution of its own: each is the activity graph-<index> of its batch, named by its
    // summary, and its Temporal UI link opens the batch.
    for (const graph of finished.graphs) {
      await assert.rejects(
        stack.temporal.client.workflow.getHandle(graph.workflowId).describe(),
        WorkflowNotFoundError,
      );
      const link = (graph as { temporalUiUrl?: string }).temporalUiUrl ?? '';
      assert.match(link, new RegExp(`/workflows/batch%2F${accountId}%2F${batchId}$`));
    }
    const imaging = (await batchEvents(accountId, batchId)).flatMap((event) => {
      const scheduled = event.activityTaskScheduledEventAttributes;
      return scheduled?.activityType?.name === 'runGraph' ? [scheduled.activityId] : [];
    });
    assert.deepEqual(imaging.sort(), ['graph-0', 'graph-1', 'graph-2']);

    // A restore to a backup taken when the batch had just started; the real command rebuilds the rows from
    // the batch's history alone.
    const { db } = stack.database;
    await db.delete(graphRuns).where(eq(graphRuns.batchId, batchId));
    await db.update(batches).set({ state: 'running', finishedAt: null }).where(eq(batches.id, batchId));
    const summary = await runReconcileCommand(stack, ['--batch', batchId]);
    assert.equal(summary.graphRuns.inserted, 3, JSON.stringify(summary));
    const rebuilt = await readBatch((pathname) => stack.api(pathname), batchId);
    assert.deepEqual(withoutTimes(rebuilt), withoutTimes(finished));
    for (const graph of rebuilt.graphs) {
      assert.ok(rebuilt.createdAt <= graph.startedAt!, JSON.stringify(graph));
      assert.ok(graph.startedAt! <= graph.finishedAt!, JSON.stringify(graph));
    }
  });

  test('when the graphs wait for the throttle and the limit is raised, then the batch is woken and every graph completes, none beyond the limit before', async () => {
    const account = await stack.addAccount('raise');
    await setLimit(account.api, 2);
    const batchId = await submit(
      account.api,
      [0, 1, 2, 3, 4, 5].map((i) => smallGraph(photo, `out/raise/${i}.webp`)),
    );
    const waiting = await readUntil(
      () => readBatch(account.api, batchId),
      (status) => status.counts.throttled === 4,
    );
    assert.ok(waiting.graphs.every((graph) => graph.state !== 'throttled' || graph.throttledUntil));

    // The slots as the limit of 2 laid them out: two now, two a window later, two after two windows.
    const slotsBeforeRaise = new Map(
      (await listReservations(stack.database.db, account.accountId)).map((row) => [
        row.graphKey,
        row.slotAt.getTime(),
      ]),
    );
    assert.equal(slotsBeforeRaise.size, 6, 'one reservation per graph');
    assert.ok(maxInAnyWindow([...slotsBeforeRaise.values()], W) <= 2, 'at most 2 per window under the limit');

    await setLimit(account.api, 100);
    const done = await readUntil(
      () => readBatch(account.api, batchId),
      (status) => status.state !== 'running',
    );
    assert.equal(done.state, 'succeeded', JSON.stringify(done.counts));

    // The limit change signalled the batch (its graphs have no executions to signal), and the graphs that
    // waited for the last window started before the slots they held under the old limit, two windows out.
    const events = await batchEvents(account.accountId, batchId);
    const signals = events.filter(
      (event) => event.workflowExecutionSignaledEventAttributes?.signalName === 'throttleChanged',
    );
    assert.equal(signals.length, 1, 'one signal for the batch, however many of its graphs moved');
    const lastWindow = [...slotsBeforeRaise.values()].sort((a, b) => a - b)[4]!;
    const waited = waiting.graphs.filter((graph) => slotsBeforeRaise.get(graph.workflowId)! >= lastWindow);
    assert.equal(waited.length, 2);
    for (const graph of waited) {
      const scheduled = events.find(
        (event) => event.activityTaskScheduledEventAttributes?.activityId === `graph-${graph.index}`,
      );
      assert.ok(scheduled, `graph ${graph.index} ran`);
      const oldSlot = slotsBeforeRaise.get(graph.workflowId)!;
      assert.ok(
        eventMs(scheduled) < oldSlot,
        `graph ${graph.index} started ${eventMs(scheduled) - oldSlot} ms after its old slot`,
      );
    }
  });

  test('when a batch is cancelled while its graphs wait for the throttle, then every unfinished graph is cancelled and gives its slot back', async () => {
    const account = await stack.addAccount('cancel');
    await setLimit(account.api, 1);
    const batchId = await submit(
      account.api,
      [0, 1, 2, 3].map((i) => smallGraph(photo, `out/cancel/${i}.webp`)),
    );
    await readUntil(
      () => readBatch(account.api, batchId),
      (status) => status.counts.throttled === 3 && status.counts.succeeded === 1,
    );
    const cancelled = await account.api(`/v1/batches/${batchId}/cancel`, { method: 'POST' });
    assert.ok(cancelled.status < 300, JSON.stringify(cancelled.body));
    const done = await readUntil(
      () => readBatch(account.api, batchId),
      (status) => status.state !== 'running',
    );
    assert.equal(done.state, 'cancelled');
    // Whichever graph reserved first ran: the batch's graphs reserve side by side, in no promised order.
    const ran = done.graphs.filter((graph) => graph.state === 'succeeded');
    assert.equal(ran.length, 1, JSON.stringify(done.graphs.map((graph) => graph.state)));
    assert.deepEqual(
      done.graphs.filter((graph) => graph !== ran[0]).map((graph) => graph.state),
      ['cancelled', 'cancelled', 'cancelled'],
    );
    // Only the graph that ran keeps its reservation: the waiting ones released theirs.
    const reservations = await listReservations(stack.database.db, account.accountId);
    assert.deepEqual(
      reservations.map((row) => row.graphKey),
      [ran[0]!.workflowId],
    );
  });

  test('when the worker process is killed with SIGKILL mid-batch and another starts, then the batch completes with every output written once', async () => {
    const big = await stack.uploadFixture('jpeg-large-4608x1976-phone.jpg', 'in/kill/photo.jpg');
    const graphCount = 6;
    const batchId = await submit(
      stack.api.bind(stack),
      Array.from({ length: graphCount }, (_, i) =>
        threeOutputGraph(stack.buckets.input, big, stack.buckets.output, `kill/${i}`),
      ),
    );
    const succeeded = async () =>
      (await stack.orchestrator.getBatchStatus(stack.account.accountId, batchId))?.counts.succeeded ?? 0;
    await readUntil(succeeded, (count) => count >= 1);
    assert.ok((await succeeded()) < graphCount, 'the kill lands mid-batch');
    workers[0]!.kill('SIGKILL');
    workers.push(await startWorkerProcess(stack.workerEnv));

    const status: BatchStatus = await stack.waitForBatch(batchId, 180_000);
    assert.equal(status.state, 'succeeded', JSON.stringify(status.counts));
    const listed = await stack.s3.send(
      new ListObjectsV2Command({ Bucket: stack.buckets.output, Prefix: 'kill/' }),
    );
    const stored = new Map((listed.Contents ?? []).map((object) => [object.Key!, object.Size!]));
    assert.equal(stored.size, graphCount * 3, 'exactly the expected outputs, nothing extra');
    for (const graph of status.graphs) {
      for (const sink of graph.sinks) assert.equal(stored.get(sink.key), sink.bytes, sink.key);
    }
    // The graph in flight at the kill ran a second attempt of its imaging activity on the new worker.
    const attempts = (await batchEvents(stack.account.accountId, batchId)).map(
      (event) => event.activityTaskStartedEventAttributes?.attempt ?? 0,
    );
    assert.ok(Math.max(...attempts) >= 2, 'an imaging activity was retried after the kill');
  });
});
