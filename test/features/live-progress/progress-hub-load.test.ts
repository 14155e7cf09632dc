/**
 * The read loop under a burst of changes: each change signals, but signals close together are read
 * together, so a busy batch costs its followers a bounded number of reads and loses nothing.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { setImmediate as turn } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { createAccount, insertBatch, markBatchStarted, newBatchId } from '../../../src/db/index.js';
import { advanceGraphRun, finishBatch } from '../../../src/db/graph-runs.js';
import type { TransformGraph } from '../../../src/core/graph/graph.js';
import { graphWorkflowId } from '../../../src/core/jobs/workflow-ids.js';
import { createProgressHub, type ProgressHub } from '../../../src/features/live-progress/progress-hub.js';
import { databaseTargets, openMigrated, type TestDatabase } from '../../support/test-databases.js';

const graphCount = 200;
const graph: TransformGraph = {
  transformUnits: [
    { type: 'StorageSource', bucket: 'in', key: 'a.jpg' },
    { type: 'ImageFormat', format: 'webp' },
    { type: 'StorageSink', bucket: 'out', key: 'a.webp' },
  ],
};

let database: TestDatabase;
let hub: ProgressHub;
let server: http.Server;
let reads = 0;
before(async () => {
  database = await openMigrated(databaseTargets()[0]!);
  // The hub reads through a handle that counts its queries; the writers signal on the real one.
  const counting = new Proxy(database.db, {
    get(target, key, receiver) {
      if (key === 'execute') reads += 1;
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  hub = createProgressHub({
    db: counting,
    changes: database.progressChanges,
    maxStreamsPerAccount: 5,
    // Only the signals can carry the changes within the test.
    pollMs: 600_000,
    heartbeatMs: 600_000,
  });
  server = http.createServer((req, res) => {
    const batchId = new URL(req.url ?? '/', 'http://x').searchParams.get('batch') ?? '';
    hub.open({
      accountId: 'burst',
      subject: { kind: 'batch', id: batchId },
      after: 0,
      res,
      render: (change) => ({ event: 'change', data: { state: change.state }, final: !change.workflowId }),
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
});
after(async () => {
  hub.close();
  server.close();
  await database.close();
});

test('when a batch changes hundreds of times in a burst, then its stream gets every change in order from far fewer reads', async () => {
  await createAccount(database.db, { id: 'burst', name: 'burst' });
  const batchId = newBatchId();
  await insertBatch(database.db, { batchId, accountId: 'burst', graphs: Array(graphCount).fill(graph) });
  await markBatchStarted(database.db, batchId);
  const { port } = server.address() as AddressInfo;
  const response = await fetch(`http://127.0.0.1:${port}/?batch=${batchId}`);
  const text = response.text();

  const readsBefore = reads;
  // Each write lets the event loop turn, as writes from separate activities do (PGlite alone answers
  // within microtasks, and a loop of awaits would never let a read's timer fire).
  for (let index = 0; index < graphCount; index++) {
    const workflowId = graphWorkflowId('burst', batchId, index);
    await advanceGraphRun(database.db, workflowId, { state: 'running' });
    await turn();
    await advanceGraphRun(database.db, workflowId, { state: 'succeeded', sinks: [], failures: [] });
    await turn();
  }
  await finishBatch(database.db, batchId, 'succeeded');
  // The stream closes after the end, which only a signal could have brought within the test.
  const ids = [...(await text).matchAll(/^id: (\d+)$/gm)].map((match) => Number(match[1]));
  const changes = 2 * graphCount + 1;

  assert.deepEqual(
    ids,
    Array.from({ length: changes }, (_, i) => i + 1),
  );
  const readsDuringBurst = reads - readsBefore;
  assert.ok(
    readsDuringBurst <= changes / 4,
    `${readsDuringBurst} reads for ${changes} changes: signals close together are read together`,
  );
});
