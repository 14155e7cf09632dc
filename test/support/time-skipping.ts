/**
 * Temporal's time-skipping test environment, for tests of waits that last hours or days (docs/architecture.md
 * §14): the Java SDK's test server, installed by src/tools/temporal-test-server.ts and started by the SDK's
 * `TestWorkflowEnvironment.createTimeSkipping`, once per test file. Time skips only while a test awaits a
 * workflow's result through `client` (or calls `env.sleep`); then the server jumps to the next timer whenever
 * no workflow task or activity is in flight, so a three-day schedule runs in seconds. Tests in one file share
 * the clock and must not overlap (node:test runs a file's tests one after another).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { NativeConnection, WorkflowBundle } from '@temporalio/worker';
import sharp from 'sharp';
import type { Config } from '../../src/core/config.js';
import type { TransformGraph } from '../../src/core/graph/graph.js';
import { resizedCopyGraph } from './graphs.js';
import { createObjectStores, type StoreRegistry } from '../../src/core/storage/connections.js';
import { ensureAccount, migrate, openDatabase, type Database } from '../../src/db/index.js';
import { databaseRunRecorder } from '../../src/db/graph-runs.js';
import { databaseThrottleGate, type ThrottleGate } from '../../src/db/throttle-gate.js';
import type { WebhookDeps } from '../../src/temporal/activities/webhook-activities.js';
import { TemporalJobEngine } from '../../src/temporal/client/temporal-orchestrator.js';
import { addSearchAttributes } from '../../src/temporal/setup.js';
import { installTemporalRuntime } from '../../src/temporal/worker/runtime.js';
import { createWorkers, type RunningWorkers } from '../../src/temporal/worker/worker.js';
import { loadWorkflowBundle } from '../../src/temporal/worker/workflow-bundle.js';
import { ensureTemporalTestServer } from '../../src/tools/temporal-test-server.js';
import { webhookDepsFor } from './engine-deps.js';
import { MemoryGraphSource } from './memory-graphs.js';

export interface TimeSkippingTemporal {
  env: TestWorkflowEnvironment;
  /** Awaiting a workflow's `result()` through this client lets time skip. */
  client: Client;
  nativeConnection: NativeConnection;
  /** The config section workers and the orchestrator take, with task queues of this file's own. */
  config: Pick<Config, 'temporal'>;
  /** The project's workflow bundle: the suite's, or one built for this file. */
  bundle: WorkflowBundle;
  /** The environment's clock (epoch ms): what workflows see as the time. */
  now: () => Promise<number>;
  teardown: () => Promise<void>;
}

export async function timeSkippingTemporal(): Promise<TimeSkippingTemporal> {
  installTemporalRuntime({ level: 'ERROR' });
  const launcher = await ensureTemporalTestServer();
  // No extra arguments: the SDK passes the port alone, so the server starts with time skipping locked and
  // the client unlocks it only while a test awaits a result. `--enable-time-skipping` would start it
  // unlocked, and time would then run ahead of work in flight (tried: the first delivery's workflow timed out).
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: launcher } },
  });
  try {
    const namespace = env.namespace ?? 'default';
    await addSearchAttributes(env.connection, namespace);
    const prefix = `timeskip-${randomUUID().slice(0, 8)}`;
    return {
      env,
      client: env.client,
      nativeConnection: env.nativeConnection,
      config: {
        temporal: {
          address: env.address,
          namespace,
          apiKey: undefined,
          tls: false,
          uiUrl: undefined,
          taskQueues: {
            orchestration: `${prefix}-orchestration`,
            imaging: `${prefix}-imaging`,
            webhooks: `${prefix}-webhooks`,
          },
        },
      },
      bundle: await loadWorkflowBundle(),
      now: () => env.currentTimeMs(),
      teardown: () => env.teardown(),
    };
  } catch (error) {
    await env.teardown();
    throw error;
  }
}

/**
 * The job engine on the test server, wired as `pixelshift worker` wires it: the three workers with the real
 * activities over a PGlite database and a local store (a generated photo in `photos/`), the default webhook
 * retry schedule, and the orchestrator that starts runs. `throttle` replaces the database gate, whose clock
 * is the database's and so cannot skip.
 */
export interface TimeSkippingEngine {
  database: Database;
  stores: StoreRegistry;
  webhooks: WebhookDeps;
  orchestrator: TemporalJobEngine;
  workers: RunningWorkers;
  /** A new account (each test its own, so one test's subscriptions never receive another's events). */
  newAccount(): Promise<string>;
  /** A triggered run's graph: the generated photo, 16 px wide, as WebP to `out/<name>.webp`. */
  thumbnail(name: string): TransformGraph;
  close(): Promise<void>;
}

export async function startTimeSkippingEngine(
  temporal: TimeSkippingTemporal,
  options: { throttle?: (database: Database) => ThrottleGate } = {},
): Promise<TimeSkippingEngine> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'pixelshift-timeskip-'));
  await mkdir(path.join(root, 'photos'), { recursive: true });
  const photo = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#c04020' } })
    .png()
    .toBuffer();
  await writeFile(path.join(root, 'photos', 'photo.png'), photo);
  const stores = createObjectStores({ default: { kind: 'local', root } });
  const database = await openDatabase({ kind: 'pglite' });
  await migrate(database.db);
  const webhooks = webhookDepsFor(database.db);
  const imaging = { slots: 2, maxInputPixels: 100_000_000, maxSourceBytes: 64 * 1024 * 1024, heic: false };
  const config = { ...temporal.config, imaging };
  const workers = await createWorkers({
    config,
    deps: {
      graphs: new MemoryGraphSource(),
      stores,
      imaging,
      throttle: options.throttle?.(database) ?? databaseThrottleGate(database.db, { windowMs: 3_600_000 }),
      runs: databaseRunRecorder(database.db),
      webhooks,
    },
    bundle: temporal.bundle,
    connection: temporal.nativeConnection,
    shutdownGraceTime: '2 seconds',
  });
  const running = workers.run();
  return {
    database,
    stores,
    webhooks,
    orchestrator: new TemporalJobEngine(temporal.client, config),
    workers,
    async newAccount() {
      const id = `timeskip-${randomBytes(4).toString('hex')}`;
      await ensureAccount(database.db, { id, name: id });
      return id;
    },
    thumbnail: (name) =>
      resizedCopyGraph({ bucket: 'photos', key: 'photo.png' }, 16, 'webp', {
        bucket: 'out',
        key: `${name}.webp`,
      }),
    async close() {
      await workers.shutdown();
      await running;
      stores.destroy();
      await database.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
