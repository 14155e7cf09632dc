/**
 * The pixelshift that the pipeline and shapes benches measure, inside the bench process (the `npm start`
 * topology): the embedded database with a `bench` account, the object stores, the three workers on the
 * real workflow bundle, a Temporal client and the HTTP API.
 */
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { activityDeps, connectClient } from '../src/app/wiring.js';
import type { ActivityDeps } from '../src/temporal/activities/index.js';
import { loadConfig, type Config } from '../src/core/config.js';
import { createObjectStores } from '../src/core/storage/connections.js';
import { createApiKey } from '../src/db/api-key-credentials.js';
import { ensureAccount, migrate, openDatabase, type Database } from '../src/db/index.js';
import { buildWorkflowBundle } from '../src/temporal/worker/workflow-bundle.js';
import { createWorkers } from '../src/temporal/worker/worker.js';
import { serveApi, type ServedApi } from './lib.js';

/** Imaging slots of the benches' worker; raw sharp gets as many lanes. */
export const benchImagingSlots = 2;

/**
 * The settings every bench runs with: data under `root`, two imaging slots, no throttle (a 1000-graph
 * batch would exceed the default limit; `npm run bench -- throttle` measures what a throttle costs),
 * nothing logged.
 */
export function benchEnv(
  root: string,
  temporalAddress: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    PIXELSHIFT_DATA_DIR: root,
    PIXELSHIFT_JWT_SECRET: randomBytes(32).toString('base64url'),
    TEMPORAL_ADDRESS: temporalAddress,
    PIXELSHIFT_IMAGING_SLOTS: String(benchImagingSlots),
    PIXELSHIFT_THROTTLE: 'off',
    // `PIXELSHIFT_BATCH_GRAPHS=activities npm run bench -- pipeline` measures the other batch shape.
    PIXELSHIFT_BATCH_GRAPHS: process.env.PIXELSHIFT_BATCH_GRAPHS ?? 'children',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    ...extra,
  };
}

export interface BenchStack {
  config: Config;
  database: Database;
  nativeConnection: NativeConnection;
  client: Client;
  served: ServedApi;
  /** Stops the API, the workers (and `alsoRunning`), the connections, the stores and the database. */
  stop(): Promise<void>;
}

/** Starts the stack; `extraWorkers` are created on the same connection and run beside the three. */
export async function startBenchStack(
  root: string,
  temporalAddress: string,
  extraWorkers: (
    nativeConnection: NativeConnection,
    config: Config,
    deps: ActivityDeps,
  ) => Promise<Worker[]> = () => Promise.resolve([]),
): Promise<BenchStack> {
  const config = loadConfig(benchEnv(root, temporalAddress));
  const database = await openDatabase({ kind: 'pglite' });
  await migrate(database.db);
  await ensureAccount(database.db, { id: 'bench', name: 'bench' });
  const key = await createApiKey(database.db, 'bench');
  const stores = createObjectStores(config.storage.connections);
  const nativeConnection = await NativeConnection.connect({ address: temporalAddress });
  const deps = await activityDeps(config, database, stores);
  const workers = await createWorkers({
    config,
    deps,
    bundle: await buildWorkflowBundle(),
    connection: nativeConnection,
  });
  const extra = await extraWorkers(nativeConnection, config, deps);
  const workersDone = Promise.all([workers.run(), ...extra.map((worker) => worker.run())]);
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection });
  // As in `npm start`: the API's client shares the workers' connection, so work starts eagerly on them.
  const { orchestrator } = await connectClient(config, undefined, nativeConnection);
  const served = await serveApi(config, database, orchestrator, key);
  return {
    config,
    database,
    nativeConnection,
    client,
    served,
    async stop() {
      await served.server.close();
      for (const worker of extra) if (worker.getState() === 'RUNNING') worker.shutdown();
      await workers.shutdown();
      await workersDone;
      await connection.close();
      await nativeConnection.close();
      stores.destroy();
      await database.close();
    },
  };
}
