/**
 * Eager workflow start (docs/decisions.md, "Eager workflow start") on a real Temporal dev server: a process
 * whose orchestration worker shares the client's connection gets each new workflow's first task back with
 * the start, instead of through the task queue. The start is as durable as before: a duplicate is still
 * refused, a start where no worker of the process polls the queue goes through the queue, and a task
 * that the process's own worker fails is handed to another worker, which finishes the run.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { temporal as proto } from '@temporalio/proto';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { connectClient } from '../../../src/app/wiring.js';
import { createObjectStores, type StoreRegistry } from '../../../src/core/storage/connections.js';
import { insertTriggeredRuns } from '../../../src/db/graph-runs.js';
import { ensureAccount, migrate, openDatabase, type Database } from '../../../src/db/index.js';
import type { TemporalJobEngine } from '../../../src/temporal/client/temporal-orchestrator.js';
import { createWorkers, type RunningWorkers } from '../../../src/temporal/worker/worker.js';
import { engineDepsFor } from '../../support/engine-deps.js';
import { fixturePath } from '../../support/fixtures.js';
import { resizedCopyGraph } from '../../support/graphs.js';
import { temporalForTests } from '../../support/temporal.js';
import { waitFor } from '../../support/wait.js';

type HistoryEvent = proto.api.history.v1.IHistoryEvent;

const accountId = `eager-${randomBytes(3).toString('hex')}`;

const thumbnail = (name: string) =>
  resizedCopyGraph({ bucket: 'photos', key: 'photo.jpg' }, 32, 'webp', {
    bucket: 'out',
    key: `${name}.webp`,
  });

describe('eager workflow start on a real Temporal dev server', () => {
  let root: string;
  let stores: StoreRegistry;
  let database: Database;
  let temporal: Awaited<ReturnType<typeof temporalForTests>>;
  const running: RunningWorkers[] = [];

  const configFor = (prefix: string) => ({
    temporal: {
      address: temporal.address,
      namespace: 'default',
      apiKey: undefined,
      tls: false,
      uiUrl: undefined,
      taskQueues: {
        orchestration: `${prefix}-orchestration`,
        imaging: `${prefix}-imaging`,
        webhooks: `${prefix}-webhooks`,
      },
    },
    imaging: { slots: 2, maxInputPixels: 100_000_000, maxSourceBytes: 800 * 1024 * 1024, heic: true },
  });
  type TestConfig = ReturnType<typeof configFor>;

  /** This process's workers for the config's queues, on the given connection. */
  async function startWorkers(config: TestConfig, connection: NativeConnection): Promise<RunningWorkers> {
    const workers = await createWorkers({
      config,
      deps: engineDepsFor(database, stores, config.imaging),
      bundle: temporal.bundle,
      connection,
      shutdownGraceTime: '2 seconds',
    });
    void workers.run();
    running.push(workers);
    return workers;
  }

  /** Starts a triggered run as the bucket-event ingest does: its read-model row first, then the start. */
  async function startRun(orchestrator: TemporalJobEngine, workflowId: string, name: string) {
    const run = {
      accountId,
      workflowId,
      trigger: 's3' as const,
      triggerId: 'rule-1',
      graph: thumbnail(name),
    };
    await insertTriggeredRuns(database.db, [run]);
    return orchestrator.startGraphRun(run);
  }

  const history = async (workflowId: string): Promise<HistoryEvent[]> =>
    (await temporal.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const handedBackWithStart = async (workflowId: string) =>
    (await history(workflowId))[0]?.workflowExecutionStartedEventAttributes?.eagerExecutionAccepted === true;
  const outcomeOf = (workflowId: string) =>
    temporal.client.workflow.getHandle(workflowId).result() as Promise<{ state: string }>;
  const outputSize = async (name: string) => (await stat(path.join(root, 'out', `${name}.webp`))).size;

  before(async () => {
    temporal = await temporalForTests();
    root = await mkdtemp(path.join(os.tmpdir(), 'pixelshift-eager-'));
    await mkdir(path.join(root, 'photos'), { recursive: true });
    await mkdir(path.join(root, 'out'), { recursive: true });
    await copyFile(fixturePath('jpeg-exif-orientation-1.jpg'), path.join(root, 'photos', 'photo.jpg'));
    stores = createObjectStores({ default: { kind: 'local', root } });
    database = await openDatabase({ kind: 'pglite' });
    await migrate(database.db);
    await ensureAccount(database.db, { id: accountId, name: accountId });
  });

  after(async () => {
    for (const workers of running) await workers.shutdown();
    stores?.destroy();
    await database?.close();
    await rm(root, { recursive: true, force: true });
  });

  test('when a run is started by a process whose worker shares the connection, then the worker gets its first task with the start and the run writes its output', async () => {
    const config = configFor(`eager-${randomUUID().slice(0, 8)}`);
    await startWorkers(config, temporal.nativeConnection);
    const { orchestrator } = await connectClient(config, undefined, temporal.nativeConnection);
    const workflowId = `s3/default/photos/photo.jpg/${randomUUID()}/rule-1`;

    assert.deepEqual(await startRun(orchestrator, workflowId, 'first'), { workflowId, started: true });

    assert.equal(await handedBackWithStart(workflowId), true);
    assert.equal((await outcomeOf(workflowId)).state, 'succeeded');
    assert.ok((await outputSize('first')) > 0);
  });

  test('when the same run is started again eagerly, then it is refused as a duplicate and the first run stays as it was', async () => {
    const config = configFor(`eager-${randomUUID().slice(0, 8)}`);
    await startWorkers(config, temporal.nativeConnection);
    const { orchestrator } = await connectClient(config, undefined, temporal.nativeConnection);
    const workflowId = `s3/default/photos/photo.jpg/${randomUUID()}/rule-1`;
    await startRun(orchestrator, workflowId, 'duplicate');
    assert.equal((await outcomeOf(workflowId)).state, 'succeeded');
    const eventsBefore = (await history(workflowId)).length;

    assert.deepEqual(await startRun(orchestrator, workflowId, 'duplicate'), { workflowId, started: false });

    assert.equal((await history(workflowId)).length, eventsBefore);
    const { executions } = await temporal.client.workflowService.listWorkflowExecutions({
      namespace: 'default',
      query: `WorkflowId = '${workflowId}'`,
    });
    assert.equal(executions?.length, 1);
  });

  test('when no worker of the process polls the run’s queue, then the run goes through the queue as before and a worker elsewhere finishes it', async () => {
    const config = configFor(`eager-${randomUUID().slice(0, 8)}`);
    // This process's client shares a connection that has no worker at all for these queues.
    const idle = await NativeConnection.connect({ address: temporal.address });
    try {
      const { orchestrator } = await connectClient(config, undefined, idle);
      const workflowId = `s3/default/photos/photo.jpg/${randomUUID()}/rule-1`;

      assert.equal((await startRun(orchestrator, workflowId, 'queued')).started, true);
      assert.equal(await handedBackWithStart(workflowId), false);

      await startWorkers(config, temporal.nativeConnection);
      assert.equal((await outcomeOf(workflowId)).state, 'succeeded');
      assert.ok((await outputSize('queued')) > 0);
    } finally {
      await idle.close();
    }
  });

  test('when the process’s own worker fails the task it was handed, then the task goes back to the queue and another worker finishes the run', async () => {
    const config = configFor(`eager-${randomUUID().slice(0, 8)}`);
    const brokenConnection = await NativeConnection.connect({ address: temporal.address });
    const broken = await Worker.create({
      connection: brokenConnection,
      taskQueue: config.temporal.taskQueues.orchestration,
      workflowBundle: await bundleWorkflowCode({
        workflowsPath: path.resolve(import.meta.dirname, '../../support/workflows-failing-their-task.ts'),
        logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
      }),
    });
    const brokenRun = broken.run();
    try {
      const { orchestrator } = await connectClient(config, undefined, brokenConnection);
      const workflowId = `s3/default/photos/photo.jpg/${randomUUID()}/rule-1`;

      assert.equal((await startRun(orchestrator, workflowId, 'handed-on')).started, true);
      assert.equal(await handedBackWithStart(workflowId), true);
      await waitFor('the handed-back task failed on the broken worker', async () =>
        (await history(workflowId)).some((event) => event.workflowTaskFailedEventAttributes),
      );
      broken.shutdown();
      await brokenRun;

      await startWorkers(config, temporal.nativeConnection);
      assert.equal((await outcomeOf(workflowId)).state, 'succeeded');
      assert.ok((await outputSize('handed-on')) > 0);
    } finally {
      if (broken.getState() === 'RUNNING') broken.shutdown();
      await brokenRun.catch(() => undefined);
      await brokenConnection.close();
    }
  });
});
