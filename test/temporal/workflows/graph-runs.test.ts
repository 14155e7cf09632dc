/**
 * Triggered graph runs on a real Temporal dev server, with the real local store and webhook delivery to a
 * loopback receiver: a run whose source was replaced after its event ends as `superseded`, a state of its
 * own (status, run listing, search attribute), and announces nothing, as does a bucket event's run whose
 * source is one of pixelshift's outputs; a run on a corrupt upload fails
 * with what the worker's log says about it in one line each, no stack.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TransformGraph } from '../../../src/core/graph/graph.js';
import type { GraphOutcome } from '../../../src/core/jobs/job-status.js';
import {
  generateSigningSecret,
  sealSecret,
  secretsKeyFromBase64,
} from '../../../src/core/auth/secret-box.js';
import { createAddressPolicy } from '../../../src/core/net/address-policy.js';
import { createOutboundClient } from '../../../src/core/net/outbound-http.js';
import { createObjectStores, type StoreRegistry } from '../../../src/core/storage/connections.js';
import { generatedMetadata } from '../../../src/core/storage/generated-metadata.js';
import { newSubscriptionId } from '../../../src/core/webhooks/webhook-ids.js';
import {
  ensureAccount,
  insertSubscription,
  listDeliveries,
  migrate,
  openDatabase,
  type Database,
} from '../../../src/db/index.js';
import { databaseThrottleGate } from '../../../src/db/throttle-gate.js';
import { databaseRunRecorder } from '../../../src/db/graph-runs.js';
import { TemporalJobEngine } from '../../../src/temporal/client/temporal-orchestrator.js';
import { stateKey } from '../../../src/temporal/search-attributes.js';
import { createWorkers, type RunningWorkers } from '../../../src/temporal/worker/worker.js';
import { installTemporalRuntime } from '../../../src/temporal/worker/runtime.js';
import { fixturePath } from '../../support/fixtures.js';
import { MemoryGraphSource } from '../../support/memory-graphs.js';
import { temporalForTests } from '../../support/temporal.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../support/webhook-receiver.js';

// The worker's log as the `pixelshift worker` process writes it (WARN and above), kept for the tests to read;
// errors are still shown. Installed before temporalForTests, whose own installation is then a no-op.
const workerLog: string[] = [];
installTemporalRuntime({
  level: 'WARN',
  write: (line) => {
    workerLog.push(line);
    if (line.includes(' [ERROR] ')) process.stderr.write(`${line}\n`);
  },
});

const accountId = `runs-${randomBytes(3).toString('hex')}`;
const ruleId = 'rule-1';

const thumbnail = (key: string): TransformGraph => ({
  transformUnits: [
    { type: 'StorageSource', bucket: 'photos', key },
    { type: 'Resize', width: 32 },
  ],
  outputs: [
    {
      transformUnits: [
        { type: 'ImageFormat', format: 'webp' },
        { type: 'StorageSink', bucket: 'out', key: `${key}.webp` },
      ],
    },
  ],
});

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: not reached; last ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('triggered graph runs on a real Temporal dev server', () => {
  let root: string;
  let stores: StoreRegistry;
  let database: Database;
  let receiver: WebhookReceiver;
  let workers: RunningWorkers;
  let orchestrator: TemporalJobEngine;
  let temporal: Awaited<ReturnType<typeof temporalForTests>>;
  let subscriptionId: string;

  before(async () => {
    temporal = await temporalForTests();
    root = await mkdtemp(path.join(os.tmpdir(), 'pixelshift-runs-'));
    await mkdir(path.join(root, 'photos'), { recursive: true });
    stores = createObjectStores({ default: { kind: 'local', root } });
    database = await openDatabase({ kind: 'pglite' });
    await migrate(database.db);
    await ensureAccount(database.db, { id: accountId, name: accountId });
    receiver = await startWebhookReceiver();
    const secretsKey = secretsKeyFromBase64(randomBytes(32).toString('base64'));
    subscriptionId = newSubscriptionId();
    await insertSubscription(database.db, {
      id: subscriptionId,
      accountId,
      url: receiver.url('/runs'),
      events: ['graph.succeeded', 'graph.failed'],
      enabled: true,
      secretSealed: sealSecret(secretsKey, generateSigningSecret(), subscriptionId),
    });
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
        graphs: new MemoryGraphSource(),
        stores,
        imaging: config.imaging,
        throttle: databaseThrottleGate(database.db, { windowMs: 3_600_000 }),
        runs: databaseRunRecorder(database.db),
        webhooks: {
          db: database.db,
          secretsKey,
          outbound: createOutboundClient({ policy: createAddressPolicy(['127.0.0.1']) }),
          retryScheduleMs: [200, 400],
        },
      },
      bundle: temporal.bundle,
      connection: temporal.nativeConnection,
      shutdownGraceTime: '2 seconds',
    });
    void workers.run();
    orchestrator = new TemporalJobEngine(temporal.client, config);
  });

  after(async () => {
    await workers?.shutdown();
    await receiver?.close();
    stores?.destroy();
    await database?.close();
    await rm(root, { recursive: true, force: true });
  });

  async function start(key: string, sourceRevision: string): Promise<string> {
    const workflowId = `s3/default/photos/${key}/${randomUUID()}/${ruleId}`;
    const started = await orchestrator.startGraphRun({
      accountId,
      workflowId,
      trigger: 's3',
      triggerId: ruleId,
      graph: thumbnail(key),
      sourceRevision,
    });
    assert.equal(started.started, true);
    return workflowId;
  }

  async function finished(workflowId: string): Promise<GraphOutcome> {
    const outcome = await waitFor(
      () => orchestrator.getGraphRun(accountId, workflowId),
      (found) => found !== undefined && !['queued', 'throttled', 'running'].includes(found.state),
      `run ${workflowId} finishes`,
    );
    return outcome!;
  }

  test('when the source was replaced after its event, then the run ends as superseded, is listed and searchable as such, and announces nothing', async () => {
    const file = path.join(root, 'photos', 'replaced.jpg');
    await copyFile(fixturePath('jpeg-progressive-srgb-icc.jpg'), file);
    const named = (await stores.get('default').head('photos', 'replaced.jpg')).revision!;
    await writeFile(file, 'a newer upload, still being written');
    const supersededRun = await start('replaced.jpg', named);

    // A run of the same rule that finds its version: it succeeds and is announced, so silence means something.
    await copyFile(fixturePath('jpeg-progressive-srgb-icc.jpg'), path.join(root, 'photos', 'kept.jpg'));
    const current = (await stores.get('default').head('photos', 'kept.jpg')).revision!;
    const keptRun = await start('kept.jpg', current);

    const outcome = await finished(supersededRun);
    assert.equal(outcome.state, 'superseded', JSON.stringify(outcome));
    assert.deepEqual([outcome.sinks, outcome.failures, outcome.error], [[], [], undefined]);
    assert.equal((await finished(keptRun)).state, 'succeeded');

    const description = await temporal.client.workflow.getHandle(supersededRun).describe();
    assert.equal(description.status.name, 'COMPLETED');
    assert.equal(description.typedSearchAttributes.get(stateKey), 'superseded');
    const listed = await waitFor(
      () => orchestrator.listGraphRuns({ accountId, trigger: 's3', state: 'superseded', pageSize: 10 }),
      (page) => page.runs.length > 0,
      'the run is listed as superseded',
    );
    assert.deepEqual(
      listed.runs.map((run) => [run.workflowId, run.state, run.source]),
      [[supersededRun, 'superseded', 'photos/replaced.jpg']],
    );

    // Events are stored before a run completes: both have, so every delivery there will be is recorded.
    const deliveries = await listDeliveries(database.db, accountId, subscriptionId, { limit: 10 });
    assert.deepEqual(
      deliveries.map((delivery) => delivery.eventType),
      ['graph.succeeded'],
      'the superseded run announced nothing',
    );
    const [announced] = await receiver.waitFor('/runs', (requests) => requests.length >= 1);
    assert.equal(announced!.json.data.workflowId, keptRun);
  });

  test('when a bucket event’s run finds that its source is an output of pixelshift, then it ends superseded, writing and announcing nothing; a hook’s run of the same object processes it', async () => {
    const jpeg = await readFile(fixturePath('jpeg-progressive-srgb-icc.jpg'));
    await stores.get('default').put('photos', 'an-output.jpg', jpeg, {
      contentType: 'image/jpeg',
      metadata: generatedMetadata({
        graphId: 'graph/acct/batch/0',
        sourceBucket: 'photos',
        sourceKey: 'a.jpg',
      }),
    });
    const named = (await stores.get('default').head('photos', 'an-output.jpg')).revision!;
    const deliveriesBefore = (await listDeliveries(database.db, accountId, subscriptionId, { limit: 100 }))
      .length;
    // As ingest starts it for an AWS record, which cannot say whether the object is an output.
    const ruleRun = `s3/default/photos/an-output.jpg/${randomUUID()}/${ruleId}`;
    await orchestrator.startGraphRun({
      accountId,
      workflowId: ruleRun,
      trigger: 's3',
      triggerId: ruleId,
      graph: thumbnail('an-output.jpg'),
      sourceRevision: named,
      skipGeneratedSource: true,
    });
    const outcome = await finished(ruleRun);
    assert.equal(outcome.state, 'superseded', JSON.stringify(outcome));
    assert.deepEqual([outcome.sinks, outcome.failures, outcome.error], [[], [], undefined]);
    const description = await temporal.client.workflow.getHandle(ruleRun).describe();
    assert.equal(description.status.name, 'COMPLETED');
    assert.equal(description.typedSearchAttributes.get(stateKey), 'superseded');
    await assert.rejects(stores.get('default').head('out', 'an-output.jpg.webp'), 'nothing was written');

    // An inbound hook may name any object, outputs included: its run has no such check.
    const hookRun = `hook/${randomUUID()}`;
    await orchestrator.startGraphRun({
      accountId,
      workflowId: hookRun,
      trigger: 'webhook',
      triggerId: 'hook-1',
      graph: thumbnail('an-output.jpg'),
    });
    assert.equal((await finished(hookRun)).state, 'succeeded');
    await stores.get('default').head('out', 'an-output.jpg.webp');
    await receiver.waitFor('/runs', (requests) =>
      requests.some((request) => request.json.data.workflowId === hookRun),
    );
    const deliveries = await listDeliveries(database.db, accountId, subscriptionId, { limit: 100 });
    assert.equal(deliveries.length, deliveriesBefore + 1, 'only the hook’s run was announced');
  });

  test('when the source is a corrupt upload, then the run fails and the worker logs it in one line each, with its code and no stack', async () => {
    await copyFile(fixturePath('bad-truncated.jpg'), path.join(root, 'photos', 'truncated.jpg'));
    const named = (await stores.get('default').head('photos', 'truncated.jpg')).revision!;
    const failedRun = await start('truncated.jpg', named);
    const failure = await temporal.client.workflow
      .getHandle(failedRun)
      .result()
      .then(
        () => assert.fail('expected the run to fail'),
        (error: unknown) => error,
      );
    assert.ok(failure instanceof WorkflowFailedError, String(failure));
    assert.ok(failure.cause instanceof ApplicationFailure);
    assert.equal(failure.cause.type, 'corrupt_input');
    // The history (and the Temporal UI) has the same one line where a stack would be.
    assert.match(failure.cause.stack ?? '', /^corrupt_input: The source could not be decoded[^\n]*$/);
    const lines = await waitFor(
      () => Promise.resolve(workerLog.filter((line) => line.includes(failedRun))),
      (found) => found.some((line) => line.includes('Workflow failed')),
      "the SDK's 'Workflow failed' entry",
    );
    for (const line of lines) assert.doesNotMatch(line, /\n/, 'every entry is one line');
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0]!, /\[WARN\] graph failed: corrupt_input local:\/\/photos\/truncated\.jpg: /);
    assert.match(
      lines[1]!,
      /\[WARN\] Workflow failed .*error: 'corrupt_input: The source could not be decoded/,
    );
  });
});
