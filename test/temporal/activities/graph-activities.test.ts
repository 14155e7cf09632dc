import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { TransformGraph } from '../../../src/core/graph/graph.js';
import { createObjectStores, type StoreRegistry } from '../../../src/core/storage/connections.js';
import { databaseThrottleGate } from '../../../src/db/throttle-gate.js';
import { databaseRunRecorder } from '../../../src/db/graph-runs.js';
import { createActivities } from '../../../src/temporal/activities/index.js';
import { formatLogEntry } from '../../../src/temporal/worker/runtime.js';
import { imagingHeartbeatIntervalMs } from '../../../src/temporal/workflows/definitions.js';
import { webhookDepsFor } from '../../support/engine-deps.js';
import { fixturePath } from '../../support/fixtures.js';
import { MemoryGraphSource } from '../../support/memory-graphs.js';
import { databaseTargets, openMigrated, type TestDatabase } from '../../support/test-databases.js';

const graphOf = (key: string): TransformGraph => ({
  transformUnits: [
    { type: 'StorageSource', bucket: 'uploads', key },
    { type: 'Resize', width: 32 },
    { type: 'ImageFormat', format: 'webp' },
    { type: 'StorageSink', bucket: 'thumbnails', key: `${key}.webp` },
  ],
});

// One database and one local store for the file: a broken upload and a good one.
let root: string;
let stores: StoreRegistry;
let database: TestDatabase;
before(async () => {
  database = await openMigrated(databaseTargets()[0]!);
  root = mkdtempSync(path.join(os.tmpdir(), 'pixelshift-activities-'));
  mkdirSync(path.join(root, 'uploads'));
  copyFileSync(fixturePath('bad-truncated.jpg'), path.join(root, 'uploads', 'broken.jpg'));
  copyFileSync(fixturePath('png-rgba-alpha.png'), path.join(root, 'uploads', 'cat.png'));
  stores = createObjectStores({ default: { kind: 'local', root } });
});
after(async () => {
  rmSync(root, { recursive: true, force: true });
  await database.close();
});

describe('runGraph logging', () => {
  /** Runs runGraph as Temporal's worker does (its failure logging included), capturing every log entry. */
  async function run(graph: TransformGraph, deps: Partial<Parameters<typeof createActivities>[0]> = {}) {
    const entries: LogEntry[] = [];
    const environment = new MockActivityEnvironment(
      {},
      { logger: new DefaultLogger('DEBUG', (entry) => entries.push(entry)) },
    );
    const { runGraph } = createActivities({
      graphs: new MemoryGraphSource(),
      stores,
      imaging: { maxInputPixels: 100_000_000, maxSourceBytes: 10_000_000 },
      throttle: databaseThrottleGate(database.db, { windowMs: 60_000 }),
      runs: databaseRunRecorder(database.db),
      webhooks: webhookDepsFor(database.db),
      ...deps,
    });
    const error = await environment
      .run(runGraph, { accountId: 'acme', workflowId: 's3/default/uploads/broken.jpg/1/rule', graph })
      .then(
        () => assert.fail('expected the graph to fail'),
        (caught: unknown) => caught,
      );
    const loud = entries.filter((entry) => entry.level === 'WARN' || entry.level === 'ERROR');
    return { error, entries, loud };
  }

  test('when the source is a corrupt image, then one warning line names the code and the object, with no stack', async () => {
    const { error, loud } = await run(graphOf('broken.jpg'));
    assert.ok(error instanceof ApplicationFailure);
    assert.equal(error.type, 'corrupt_input');
    assert.equal(loud.length, 1, JSON.stringify(loud.map((entry) => entry.message)));
    const [line] = loud;
    assert.match(line!.message, /^graph failed: corrupt_input local:\/\/uploads\/broken\.jpg: /);
    assert.deepEqual([line!.meta?.code, line!.meta?.object], ['corrupt_input', 'local://uploads/broken.jpg']);
    assert.equal(line!.meta?.error, undefined, 'no error object, so no stack');
    assert.doesNotMatch(formatLogEntry(line!), /\n/, 'printed on one line');
  });

  test('when the failure is a bug, then Temporal still logs it with its stack', async () => {
    const broken: StoreRegistry = {
      ...stores,
      get: () => {
        throw new TypeError('cannot read properties of undefined (a bug)');
      },
    };
    const { error, loud } = await run(graphOf('broken.jpg'), { stores: broken });
    assert.ok(error instanceof TypeError);
    assert.equal(loud.length, 1);
    assert.equal(loud[0]!.message, 'Activity failed');
    assert.match(String((loud[0]!.meta?.error as Error).stack), /TypeError: cannot read properties/);
  });
});

describe('runGraph heartbeats', () => {
  /** Runs a one-output graph of cat.png; `sourceDelayMs` holds the source read back that long. */
  async function run(sourceDelayMs: number) {
    const store = stores.get('default');
    const slowStore: typeof store = Object.create(store, {
      getBuffer: {
        value: async (...args: Parameters<typeof store.getBuffer>) => {
          await new Promise((resolve) => setTimeout(resolve, sourceDelayMs));
          return store.getBuffer(...args);
        },
      },
    });
    const slowStores: StoreRegistry = { ...stores, get: () => slowStore };
    const heartbeats: unknown[] = [];
    const environment = new MockActivityEnvironment();
    environment.on('heartbeat', (details: unknown) => heartbeats.push(details));
    const { runGraph } = createActivities({
      graphs: new MemoryGraphSource(),
      stores: slowStores,
      imaging: { maxInputPixels: 100_000_000, maxSourceBytes: 10_000_000 },
      throttle: databaseThrottleGate(database.db, { windowMs: 60_000 }),
      runs: databaseRunRecorder(database.db),
      webhooks: webhookDepsFor(database.db),
    });
    const result: Awaited<ReturnType<typeof runGraph>> = await environment.run(runGraph, {
      accountId: 'acme',
      workflowId: `s3/default/uploads/cat.png/${sourceDelayMs}/rule`,
      graph: graphOf('cat.png'),
    });
    return { result, heartbeats };
  }

  test('when a graph ends inside one heartbeat interval, then it sends no heartbeat (the server would write each one)', async () => {
    const { result, heartbeats } = await run(0);
    assert.equal(result.sinks.length, 1);
    assert.deepEqual(heartbeats, []);
  });

  test('when a graph takes longer than an interval, then heartbeats start and carry its progress', async () => {
    const { result, heartbeats } = await run(imagingHeartbeatIntervalMs + 300);
    assert.equal(result.sinks.length, 1);
    // The interval's beat while the source is read, then one for each stage after it.
    assert.deepEqual(heartbeats[0], { stage: 'download', completedSinks: 0, totalSinks: 1 });
    assert.ok(heartbeats.length >= 2, `heartbeats: ${JSON.stringify(heartbeats)}`);
    assert.ok(heartbeats.some((beat) => (beat as { stage: string }).stage !== 'download'));
  });
});
