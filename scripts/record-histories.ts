/**
 * Records workflow histories for the determinism replay test (test/temporal/workflows/replay.test.ts).
 * Run it after a deliberate, patched workflow change, and commit the new files beside the old ones:
 * old histories must keep replaying against new code (that is what `patched()` is for).
 *
 * Usage: node --import tsx scripts/record-histories.ts <label>
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { TransformGraph } from '../src/core/graph/graph.js';
import { generateSigningSecret, sealSecret, secretsKeyFromBase64 } from '../src/core/auth/secret-box.js';
import { ensureAccount, insertSubscription, listDeliveries, migrate, openDatabase } from '../src/db/index.js';
import { createAddressPolicy } from '../src/core/net/address-policy.js';
import { createOutboundClient } from '../src/core/net/outbound-http.js';
import { newSubscriptionId } from '../src/core/webhooks/webhook-ids.js';
import { TemporalJobEngine } from '../src/temporal/client/temporal-orchestrator.js';
import { createObjectStores } from '../src/core/storage/connections.js';
import { generatedMetadata } from '../src/core/storage/generated-metadata.js';
import { findTemporalCli, startTemporalDevServer } from '../src/tools/temporal-cli.js';
import { execFileSync } from 'node:child_process';
import { installTemporalRuntime } from '../src/temporal/worker/runtime.js';
import { buildWorkflowBundle } from '../src/temporal/worker/workflow-bundle.js';
import { createWorkers } from '../src/temporal/worker/worker.js';
import { databaseThrottleGate } from '../src/db/throttle-gate.js';
import { databaseRunRecorder } from '../src/db/graph-runs.js';
import { fixturePath } from '../test/support/fixtures.js';
import { MemoryGraphSource } from '../test/support/memory-graphs.js';

const label = process.argv[2] ?? 'v1';
const outDir = path.resolve('test/temporal/workflows/histories');

const graph = (source: string, out: string): TransformGraph => ({
  transformUnits: [
    { type: 'StorageSource', bucket: 'photos', key: source },
    { type: 'Resize', width: 32 },
  ],
  outputs: [
    {
      transformUnits: [
        { type: 'ImageFormat', format: 'webp' },
        { type: 'StorageSink', bucket: 'out', key: `${out}.webp` },
      ],
    },
    {
      transformUnits: [
        { type: 'ImageFormat', format: 'png' },
        { type: 'StorageSink', bucket: 'out', key: `${out}.png` },
      ],
    },
  ],
});

installTemporalRuntime({ level: 'ERROR' });
const server = await startTemporalDevServer({ headless: true });
const root = await mkdtemp(path.join(os.tmpdir(), 'pixelshift-record-'));
try {
  await mkdir(path.join(root, 'photos'), { recursive: true });
  await copyFile(fixturePath('webp-lossy.webp'), path.join(root, 'photos', 'good.webp'));
  await copyFile(fixturePath('bad-truncated.jpg'), path.join(root, 'photos', 'bad.jpg'));
  const graphs = new MemoryGraphSource();
  const taskQueues = {
    orchestration: 'record-orchestration',
    imaging: 'record-imaging',
    webhooks: 'record-webhooks',
  };
  const config = {
    temporal: {
      address: server.address,
      namespace: 'default',
      apiKey: undefined,
      tls: false,
      uiUrl: undefined,
      taskQueues,
    },
    imaging: { slots: 2, maxInputPixels: 100_000_000, maxSourceBytes: 800 * 1024 * 1024, heic: true },
  };
  // Webhooks: one subscription to every event on a loopback receiver, so the histories record the
  // emission and the delivery children (and a delivery workflow of its own).
  const database = await openDatabase({ kind: 'pglite' });
  await migrate(database.db);
  await ensureAccount(database.db, { id: 'acme', name: 'Acme' });
  const receiver = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const secretsKey = secretsKeyFromBase64(randomBytes(32).toString('base64'));
  const subscriptionId = newSubscriptionId();
  await insertSubscription(database.db, {
    id: subscriptionId,
    accountId: 'acme',
    url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
    events: ['graph.succeeded', 'graph.failed', 'batch.completed'],
    enabled: true,
    secretSealed: sealSecret(secretsKey, generateSigningSecret(), subscriptionId),
  });
  // A subscription the address policy refuses at connect time: its delivery ends as refused.
  const refusedSubscriptionId = newSubscriptionId();
  await insertSubscription(database.db, {
    id: refusedSubscriptionId,
    accountId: 'acme',
    url: 'http://10.0.0.1:9/hook',
    events: ['batch.completed'],
    enabled: true,
    secretSealed: sealSecret(secretsKey, generateSigningSecret(), refusedSubscriptionId),
  });
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const workers = await createWorkers({
    config,
    deps: {
      graphs,
      stores: createObjectStores({ default: { kind: 'local', root } }),
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
    bundle: await buildWorkflowBundle(),
    connection: nativeConnection,
  });
  const running = workers.run();
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const orchestrator = new TemporalJobEngine(client, config);
  const waitDone = async (batchId: string) => {
    for (;;) {
      const status = await orchestrator.getBatchStatus('acme', batchId);
      if (status && status.state !== 'running') return status;
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  graphs.put('acme', 'partial', [graph('good.webp', 'a'), graph('bad.jpg', 'b'), graph('good.webp', 'c')]);
  await orchestrator.startBatch({ accountId: 'acme', batchId: 'partial', graphCount: 3 });
  await waitDone('partial');

  let release!: () => void;
  graphs.gates.set('acme/cancelled/0', new Promise<void>((resolve) => (release = resolve)));
  graphs.put('acme', 'cancelled', [graph('good.webp', 'x')]);
  await orchestrator.startBatch({ accountId: 'acme', batchId: 'cancelled', graphCount: 1 });
  await new Promise((r) => setTimeout(r, 1000));
  await orchestrator.cancelBatch('acme', 'cancelled');
  await waitDone('cancelled');
  release();

  // The same two batches with their graphs run as activities of the batch (PIXELSHIFT_BATCH_GRAPHS).
  graphs.put('acme', 'activities-partial', [graph('good.webp', 'd'), graph('bad.jpg', 'e')]);
  await orchestrator.startBatch({
    accountId: 'acme',
    batchId: 'activities-partial',
    graphCount: 2,
    graphsAs: 'activities',
  });
  await waitDone('activities-partial');
  let releaseActivity!: () => void;
  graphs.gates.set(
    'acme/activities-cancelled/0',
    new Promise<void>((resolve) => (releaseActivity = resolve)),
  );
  graphs.put('acme', 'activities-cancelled', [graph('good.webp', 'y')]);
  await orchestrator.startBatch({
    accountId: 'acme',
    batchId: 'activities-cancelled',
    graphCount: 1,
    graphsAs: 'activities',
  });
  await new Promise((r) => setTimeout(r, 1000));
  await orchestrator.cancelBatch('acme', 'activities-cancelled');
  await waitDone('activities-cancelled');
  releaseActivity();

  /** Starts a rule's run on `photos/<key>` as bucket-event ingest does, and waits for its end; its ID. */
  const triggeredRun = async (key: string, upload: string, sourceRevision: string) => {
    const workflowId = `s3/default/photos/${key}/${upload}/rule`;
    await orchestrator.startGraphRun({
      accountId: 'acme',
      workflowId,
      trigger: 's3',
      triggerId: 'rule',
      graph: graph(key, key.replace(/\.webp$/, '')),
      sourceRevision,
      skipGeneratedSource: true,
    });
    await client.workflow.getHandle(workflowId).result();
    return workflowId;
  };

  // A triggered run whose source was replaced after its event: it ends as superseded.
  const replaced = path.join(root, 'photos', 'replaced.webp');
  await copyFile(fixturePath('webp-lossy.webp'), replaced);
  const stores = createObjectStores({ default: { kind: 'local', root } });
  const named = (await stores.get('default').head('photos', 'replaced.webp')).revision!;
  await writeFile(replaced, 'a newer upload');
  const supersededId = await triggeredRun('replaced.webp', '0001', named);

  // A bucket event's run whose source is an output of pixelshift: it checks the mark and ends superseded.
  await stores
    .get('default')
    .put('photos', 'an-output.webp', await readFile(fixturePath('webp-lossy.webp')), {
      contentType: 'image/webp',
      metadata: generatedMetadata({ graphId: 'graph/acme/x/0', sourceBucket: 'photos', sourceKey: 'x.jpg' }),
    });
  const outputRevision = (await stores.get('default').head('photos', 'an-output.webp')).revision!;
  const generatedSourceId = await triggeredRun('an-output.webp', '0002', outputRevision);

  await mkdir(outDir, { recursive: true });
  // The batch.completed delivery of the partial batch, once it has finished.
  const [delivery] = (await listDeliveries(database.db, 'acme', subscriptionId, { limit: 100 })).filter(
    (row) => row.eventType === 'batch.completed',
  );
  if (!delivery) throw new Error('no batch.completed delivery was recorded');
  await client.workflow.getHandle(delivery.workflowId).result();
  const [refused] = await listDeliveries(database.db, 'acme', refusedSubscriptionId, { limit: 100 });
  if (!refused) throw new Error('no refused delivery was recorded');
  await client.workflow.getHandle(refused.workflowId).result();
  const ids = [
    delivery.workflowId,
    refused.workflowId,
    supersededId,
    generatedSourceId,
    'batch/acme/partial',
    'graph/acme/partial/0',
    'graph/acme/partial/1',
    'batch/acme/cancelled',
    'graph/acme/cancelled/0',
    'batch/acme/activities-partial',
    'batch/acme/activities-cancelled',
  ];
  for (const id of ids) {
    // The CLI's JSON is the standard interchange format for histories (what `historyFromJSON` reads).
    const json = execFileSync(
      await findTemporalCli(),
      ['workflow', 'show', '--workflow-id', id, '--output', 'json', '--address', server.address],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    const name =
      id === refused.workflowId
        ? 'delivery_acme_partial_batch-completed_refused'
        : id.startsWith('delivery/')
          ? 'delivery_acme_partial_batch-completed'
          : id === supersededId
            ? 'graph_acme_superseded'
            : id === generatedSourceId
              ? 'graph_acme_generated-source'
              : id.replace(/\//g, '_');
    const file = path.join(outDir, `${label}-${name}.json`);
    await writeFile(file, json);
    console.log(`wrote ${file} (${(JSON.parse(json) as { events: unknown[] }).events.length} events)`);
  }
  await workers.shutdown();
  await running;
  await connection.close();
  await nativeConnection.close();
  receiver.close();
  await database.close();
} finally {
  await server.stop();
  await rm(root, { recursive: true, force: true });
}
