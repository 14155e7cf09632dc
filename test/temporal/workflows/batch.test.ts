import type { ApplicationFailure, WorkflowFailedError, WorkflowHandle } from '@temporalio/client';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { TransformGraph } from '../../../src/core/graph/graph.js';
import { TemporalJobEngine } from '../../../src/temporal/client/temporal-orchestrator.js';
import { createObjectStores } from '../../../src/core/storage/connections.js';
import { createWorkers, type RunningWorkers } from '../../../src/temporal/worker/worker.js';
import { Worker } from '@temporalio/worker';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { BatchStatus, GraphOutcome } from '../../../src/core/jobs/job-status.js';
import { ensureAccount } from '../../../src/db/index.js';
import { databaseThrottleGate } from '../../../src/db/throttle-gate.js';
import { databaseRunRecorder } from '../../../src/db/graph-runs.js';
import { fixturePath } from '../../support/fixtures.js';
import { webhookDepsFor } from '../../support/engine-deps.js';
import { MemoryGraphSource } from '../../support/memory-graphs.js';
import { databaseTargets, openMigrated, type TestDatabase } from '../../support/test-databases.js';
import { temporalForTests } from '../../support/temporal.js';
import { stateKey } from '../../../src/temporal/search-attributes.js';
import { eq } from 'drizzle-orm';
import { generateSigningSecret, sealSecret } from '../../../src/core/auth/secret-box.js';
import { newSubscriptionId } from '../../../src/core/webhooks/webhook-ids.js';
import { insertSubscription } from '../../../src/db/webhook-subscriptions.js';
import { webhookEvents } from '../../../src/db/schema.js';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes.js';

const account = 'acme';

function thumbnailGraph(sourceKey: string, outKey: string): TransformGraph {
  return {
    transformUnits: [
      { type: 'StorageSource', bucket: 'photos', key: sourceKey },
      { type: 'Resize', width: 64, height: 64, fit: 'cover' },
    ],
    outputs: [
      {
        transformUnits: [
          { type: 'ImageFormat', format: 'webp' },
          { type: 'StorageSink', bucket: 'out', key: `${outKey}.webp` },
        ],
      },
      {
        transformUnits: [
          { type: 'ImageFormat', format: 'jpeg' },
          { type: 'StorageSink', bucket: 'out', key: `${outKey}.jpg` },
        ],
      },
    ],
  };
}

async function waitFor<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out; last value: ${JSON.stringify(value)?.slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('batch and graph workflows on a real Temporal dev server', () => {
  let root: string;
  let workers: RunningWorkers;
  let orchestrator: TemporalJobEngine;
  let engineConfig: ConstructorParameters<typeof TemporalJobEngine>[1];
  let temporal: Awaited<ReturnType<typeof temporalForTests>>;
  let database: TestDatabase;
  const graphs = new MemoryGraphSource();

  before(async () => {
    temporal = await temporalForTests();
    // The throttle and the webhook events run for real: over an empty database, no graph waits and
    // no event has a subscriber.
    database = await openMigrated(databaseTargets()[0]!);
    await ensureAccount(database.db, { id: account, name: account });
    root = await mkdtemp(path.join(os.tmpdir(), 'pixelshift-wf-'));
    await mkdir(path.join(root, 'photos'), { recursive: true });
    await mkdir(path.join(root, 'out'), { recursive: true });
    for (const file of [
      'jpeg-exif-orientation-6.jpg',
      'png-rgba-alpha.png',
      'webp-lossy.webp',
      'bad-truncated.jpg',
    ]) {
      await copyFile(fixturePath(file), path.join(root, 'photos', file));
    }
    const stores = createObjectStores({ default: { kind: 'local', root } });
    const config = {
      temporal: {
        address: temporal.address,
        namespace: 'default',
        apiKey: undefined,
        tls: false,
        uiUrl: 'http://127.0.0.1:8233',
        taskQueues: temporal.taskQueues,
      },
      imaging: { slots: 2, maxInputPixels: 100_000_000, maxSourceBytes: 800 * 1024 * 1024, heic: true },
    };
    workers = await createWorkers({
      config,
      deps: {
        graphs,
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
    engineConfig = config;
    orchestrator = new TemporalJobEngine(temporal.client, config);
  });

  after(async () => {
    await workers?.shutdown();
    await database?.close();
    await rm(root, { recursive: true, force: true });
  });

  test('when a batch mixes good photos and a truncated file, then the good graphs succeed and the batch is partial', async () => {
    const batchId = `b-${randomUUID().slice(0, 8)}`;
    graphs.put(account, batchId, [
      thumbnailGraph('jpeg-exif-orientation-6.jpg', `${batchId}/a`),
      thumbnailGraph('png-rgba-alpha.png', `${batchId}/b`),
      thumbnailGraph('bad-truncated.jpg', `${batchId}/bad`),
      thumbnailGraph('webp-lossy.webp', `${batchId}/c`),
    ]);
    await orchestrator.startBatch({ accountId: account, batchId, graphCount: 4 });
    // A retried submission must not start a second batch.
    await orchestrator.startBatch({ accountId: account, batchId, graphCount: 4 });

    const status = await waitFor(
      () => orchestrator.getBatchStatus(account, batchId),
      (s): s is BatchStatus => s?.state !== 'running' && s !== undefined,
    );
    assert.equal(status!.state, 'partial');
    assert.deepEqual(
      status!.graphs.map((g) => g.state),
      ['succeeded', 'succeeded', 'failed', 'succeeded'],
    );
    assert.equal(status!.counts.succeeded, 3);
    assert.equal(status!.counts.failed, 1);
    assert.equal(status!.graphs[2]!.error?.code, 'corrupt_input');
    for (const graph of [status!.graphs[0]!, status!.graphs[1]!, status!.graphs[3]!]) {
      assert.equal(graph.sinks.length, 2);
      for (const sink of graph.sinks) {
        const meta = await sharp(path.join(root, sink.bucket, sink.key)).metadata();
        assert.equal(meta.width, 64);
        assert.equal(meta.height, 64);
        assert.equal(meta.format, sink.format);
      }
    }

    // Nobody listens to this account's graph events (no subscription, no callbackUrl): the batch asked
    // once, and no graph ran the publishing activity; the batch still announces batch.completed.
    const activityTypes = async (workflowId: string) =>
      ((await temporal.client.workflow.getHandle(workflowId).fetchHistory()).events ?? []).flatMap(
        (event) => event.activityTaskScheduledEventAttributes?.activityType?.name ?? [],
      );
    for (const index of [0, 2]) {
      assert.deepEqual(await activityTypes(`graph/${account}/${batchId}/${index}`), ['runGraph']);
    }
    assert.ok((await activityTypes(`batch/${account}/${batchId}`)).includes('publishWebhookEvent'));

    const graphStatus = await orchestrator.getGraphStatus(account, batchId, 0);
    assert.equal(graphStatus?.workflowId, `graph/${account}/${batchId}/0`);

    // Operators find the whole batch by its search attribute.
    const listed = await waitFor(
      async () => {
        const ids: string[] = [];
        for await (const execution of temporal.client.workflow.list({
          query: `PixelshiftBatchId="${batchId}"`,
        })) {
          ids.push(execution.workflowId);
        }
        return ids.sort();
      },
      (ids) => ids.length === 5,
    );
    assert.deepEqual(
      listed,
      [`batch/${account}/${batchId}`, ...[0, 1, 2, 3].map((i) => `graph/${account}/${batchId}/${i}`)].sort(),
    );
    // The failed graph is a Failed execution (the UI's status filter finds it), failing with its code.
    const failedIds = await waitFor(
      async () => {
        const ids: string[] = [];
        for await (const execution of temporal.client.workflow.list({
          query: `PixelshiftBatchId="${batchId}" AND ExecutionStatus="Failed"`,
        })) {
          ids.push(execution.workflowId);
        }
        return ids;
      },
      (ids) => ids.length === 1,
    );
    assert.deepEqual(failedIds, [`graph/${account}/${batchId}/2`]);
    const failure = await temporal.client.workflow
      .getHandle(`graph/${account}/${batchId}/2`)
      .result()
      .then(
        () => assert.fail('the failed graph completed'),
        (error: WorkflowFailedError) => error.cause as ApplicationFailure,
      );
    assert.equal(failure.type, 'corrupt_input');
    assert.equal((failure.details?.[0] as GraphOutcome).state, 'failed');
    assert.equal(
      orchestrator.uiUrl(`batch/${account}/${batchId}`),
      `http://127.0.0.1:8233/namespaces/default/workflows/batch%2F${account}%2F${batchId}`,
    );
  });

  test('when a status query splits the task that recorded the batch end from the rest, then the batch history still replays', async () => {
    // A batch started by the current code, and one started as before batches carried a generation.
    const current = `b-${randomUUID().slice(0, 8)}`;
    const older = `b-${randomUUID().slice(0, 8)}`;
    for (const batchId of [current, older]) {
      graphs.put(account, batchId, [thumbnailGraph('png-rgba-alpha.png', `${batchId}/a`)]);
    }
    await orchestrator.startBatch({ accountId: account, batchId: current, graphCount: 1 });
    await temporal.client.workflow.start('batchWorkflow', {
      workflowId: `batch/${account}/${older}`,
      taskQueue: temporal.taskQueues.orchestration,
      args: [
        { accountId: account, batchId: older, graphCount: 1, imagingTaskQueue: temporal.taskQueues.imaging },
      ],
    });

    const replayed = async (batchId: string) => {
      const handle = temporal.client.workflow.getHandle(`batch/${account}/${batchId}`);
      await handle.result();
      const history = splitByQueryAfterBatchEnd(
        JSON.parse(historyToJSON(await handle.fetchHistory())) as JsonHistory,
      );
      try {
        await Worker.runReplayHistory({ workflowBundle: temporal.bundle }, history, handle.workflowId);
        return 'replayed';
      } catch (error) {
        return String(error);
      }
    };
    assert.equal(await replayed(current), 'replayed');
    // The SDK's fault itself, still there: the older batch asks patched() right after the recording.
    assert.match(await replayed(older), /patch marker encountered for change webhook-events/);
  });

  test('when a batch runs without a throttle, then its graphs start as running and write their state once, at the end', async () => {
    const unthrottled = new TemporalJobEngine(temporal.client, {
      ...engineConfig,
      throttle: { enabled: false, windowMs: 3_600_000 },
    });
    const batchId = `b-${randomUUID().slice(0, 8)}`;
    graphs.put(account, batchId, [
      thumbnailGraph('png-rgba-alpha.png', `${batchId}/a`),
      thumbnailGraph('bad-truncated.jpg', `${batchId}/bad`),
    ]);
    await unthrottled.startBatch({ accountId: account, batchId, graphCount: 2 });
    const status = await waitFor(
      () => unthrottled.getBatchStatus(account, batchId),
      (s): s is BatchStatus => s?.state !== 'running' && s !== undefined,
    );
    assert.deepEqual(
      status!.graphs.map((g) => g.state),
      ['succeeded', 'failed'],
    );
    // The failed graph records its end itself (its activity never returned it): one local-activity marker.
    for (const [index, final, markers] of [
      [0, 'succeeded', []],
      [1, 'failed', ['core_local_activity']],
    ] as const) {
      const handle = temporal.client.workflow.getHandle(`graph/${account}/${batchId}/${index}`);
      const events = (await handle.fetchHistory()).events ?? [];
      const started = events[0]?.workflowExecutionStartedEventAttributes?.searchAttributes?.indexedFields;
      assert.equal(decodeTypedSearchAttributes(started).get(stateKey), 'running');
      // No patch markers and no TemporalChangeVersion upserts: the graph was started by current code.
      assert.deepEqual(upsertsOf(events), [{ PixelshiftState: final }]);
      assert.deepEqual(markersOf(events), markers);
      assert.equal((await handle.describe()).typedSearchAttributes.get(stateKey), final);
    }
    // With the throttle on (the other tests' engine), a graph moves from queued to running, and its only
    // marker is the reservation's local activity.
    const throttledBatch = `b-${randomUUID().slice(0, 8)}`;
    graphs.put(account, throttledBatch, [thumbnailGraph('webp-lossy.webp', `${throttledBatch}/a`)]);
    await orchestrator.startBatch({ accountId: account, batchId: throttledBatch, graphCount: 1 });
    await waitFor(
      () => orchestrator.getBatchStatus(account, throttledBatch),
      (s): s is BatchStatus => s?.state !== 'running' && s !== undefined,
    );
    const events =
      (await temporal.client.workflow.getHandle(`graph/${account}/${throttledBatch}/0`).fetchHistory())
        .events ?? [];
    assert.deepEqual(upsertsOf(events), [{ PixelshiftState: 'running' }, { PixelshiftState: 'succeeded' }]);
    assert.deepEqual(markersOf(events), ['core_local_activity']);
  });

  test('when a batch is cancelled while its graphs wait, then every unfinished graph is recorded as cancelled', async () => {
    const batchId = `b-${randomUUID().slice(0, 8)}`;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    for (let index = 0; index < 3; index++) graphs.gates.set(`${account}/${batchId}/${index}`, gate);
    graphs.put(
      account,
      batchId,
      [0, 1, 2].map((i) => thumbnailGraph('webp-lossy.webp', `${batchId}/${i}`)),
    );
    await orchestrator.startBatch({ accountId: account, batchId, graphCount: 3 });
    await waitFor(
      () => orchestrator.getBatchStatus(account, batchId),
      (s) => (s?.graphs ?? []).every((g) => g.state === 'running'),
    );
    assert.equal(await orchestrator.cancelBatch(account, batchId), true);
    const status = await waitFor(
      () => orchestrator.getBatchStatus(account, batchId),
      (s) => s?.state !== 'running',
    );
    release();
    assert.equal(status!.state, 'cancelled');
    assert.deepEqual(
      status!.graphs.map((g) => g.state),
      ['cancelled', 'cancelled', 'cancelled'],
    );
    assert.equal(status!.counts.cancelled, 3);
  });

  test('when a batch runs its graphs as activities and graph events are wanted, then each graph is an activity of the batch and publishes an event of its own', async () => {
    const listener = 'globex';
    await ensureAccount(database.db, { id: listener, name: listener });
    const subscriptionId = newSubscriptionId();
    await insertSubscription(database.db, {
      id: subscriptionId,
      accountId: listener,
      // Nothing listens there: only the stored events matter here, and their deliveries are abandoned.
      url: 'http://127.0.0.1:9/hook',
      events: ['graph.succeeded', 'graph.failed'],
      enabled: true,
      secretSealed: sealSecret(
        webhookDepsFor(database.db).secretsKey,
        generateSigningSecret(),
        subscriptionId,
      ),
    });
    const batchId = `b-${randomUUID().slice(0, 8)}`;
    graphs.put(listener, batchId, [
      thumbnailGraph('png-rgba-alpha.png', `${batchId}/a`),
      thumbnailGraph('bad-truncated.jpg', `${batchId}/bad`),
    ]);
    await orchestrator.startBatch({ accountId: listener, batchId, graphCount: 2, graphsAs: 'activities' });
    const status = await waitFor(
      () => orchestrator.getBatchStatus(listener, batchId),
      (s): s is BatchStatus => s?.state !== 'running' && s !== undefined,
    );
    assert.equal(status!.state, 'partial');
    assert.deepEqual(
      status!.graphs.map((g) => [g.workflowId, g.state, g.error?.code]),
      [
        [`graph/${listener}/${batchId}/0`, 'succeeded', undefined],
        [`graph/${listener}/${batchId}/1`, 'failed', 'corrupt_input'],
      ],
    );
    const events =
      (await temporal.client.workflow.getHandle(`batch/${listener}/${batchId}`).fetchHistory()).events ?? [];
    assert.equal(
      events.filter(
        (event) =>
          event.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name === 'graphWorkflow',
      ).length,
      0,
    );
    assert.deepEqual(
      events.flatMap((event) => {
        const scheduled = event.activityTaskScheduledEventAttributes;
        return scheduled?.activityType?.name === 'runGraph' ? [scheduled.activityId] : [];
      }),
      ['graph-0', 'graph-1'],
    );
    // Each graph's event is its own (an ID from the graph's key), as when a graph execution emits it.
    const stored = await database.db
      .select()
      .from(webhookEvents)
      .where(eq(webhookEvents.accountId, listener));
    assert.deepEqual(
      stored.map((event) => [event.type, (event.payload.data as { workflowId: string }).workflowId]).sort(),
      [
        ['graph.failed', `graph/${listener}/${batchId}/1`],
        ['graph.succeeded', `graph/${listener}/${batchId}/0`],
      ],
    );
    assert.equal(new Set(stored.map((event) => event.id)).size, 2);
  });

  test('when a batch does not exist, then status is undefined and cancel reports false', async () => {
    assert.equal(await orchestrator.getBatchStatus(account, 'nope'), undefined);
    assert.equal(await orchestrator.cancelBatch(account, 'nope'), false);
  });
});

type HistoryEvents = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>;

/** Each search-attribute upsert of a history, as the attributes it wrote. */
function upsertsOf(events: HistoryEvents): Record<string, unknown>[] {
  return events.flatMap((event) => {
    const fields = event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
    if (!fields) return [];
    return [
      Object.fromEntries(
        Object.entries(fields).map(([key, payload]) => [
          key,
          JSON.parse(Buffer.from(payload.data!).toString()),
        ]),
      ),
    ];
  });
}

function markersOf(events: HistoryEvents): string[] {
  return events.flatMap((event) => event.markerRecordedEventAttributes?.markerName ?? []);
}

/** A history in the JSON form of the CLI and `historyToJSON`: int64 fields are strings. */
interface JsonHistory {
  events: (Record<string, unknown> & { eventId: string; eventType: string })[];
}

/** Whether an event is the marker of the batch's `recordBatchEnd` local activity. */
function recordsBatchEnd(event: JsonHistory['events'][number]): boolean {
  const marker = event.markerRecordedEventAttributes as
    { markerName: string; details: Record<string, { payloads: { data: string }[] }> } | undefined;
  const data =
    marker?.markerName === 'core_local_activity' ? marker.details.data?.payloads[0]?.data : undefined;
  return (
    data !== undefined && Buffer.from(data, 'base64').toString().includes('"activity_type":"recordBatchEnd"')
  );
}

/**
 * The history as a status query makes it when it is answered in the workflow task that ran the batch's
 * `recordBatchEnd` local activity: the SDK ends that task with the activity's marker and a new task at
 * once, and the batch goes on in that new task. Rewritten from a history without the query, since the
 * moment cannot be arranged from outside: a workflow task is inserted after the marker and later event
 * ids move up by three.
 */
function splitByQueryAfterBatchEnd(history: JsonHistory): JsonHistory {
  const events = history.events;
  const at = events.findIndex(recordsBatchEnd);
  assert.ok(at > 0, 'the batch recorded its end in a local activity');
  const marker = Number(events[at]!.eventId);
  const moved = <T>(node: T): T => {
    if (Array.isArray(node)) return node.map(moved) as T;
    if (typeof node !== 'object' || node === null) return node;
    return Object.fromEntries(
      Object.entries(node).map(([key, value]) => [
        key,
        /EventId$|^eventId$/.test(key) && typeof value === 'string' && Number(value) > marker
          ? String(Number(value) + 3)
          : moved(value),
      ]),
    ) as T;
  };
  const last = (type: string) => events.slice(0, at).findLast((event) => event.eventType === type)!;
  const task = (offset: number, type: string, attributes: string, extra: Record<string, string>) => ({
    eventId: String(marker + offset),
    eventTime: events[at]!.eventTime,
    eventType: `EVENT_TYPE_WORKFLOW_TASK_${type}`,
    [attributes]: { ...(last(`EVENT_TYPE_WORKFLOW_TASK_${type}`)[attributes] as object), ...extra },
  });
  const scheduled = String(marker + 1);
  return {
    ...history,
    events: [
      ...events.slice(0, at + 1),
      task(1, 'SCHEDULED', 'workflowTaskScheduledEventAttributes', {}),
      task(2, 'STARTED', 'workflowTaskStartedEventAttributes', { scheduledEventId: scheduled }),
      task(3, 'COMPLETED', 'workflowTaskCompletedEventAttributes', {
        scheduledEventId: scheduled,
        startedEventId: String(marker + 2),
      }),
      ...events.slice(at + 1).map(moved),
    ],
  };
}
