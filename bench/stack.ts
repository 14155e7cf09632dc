/**
 * The pixelshift that the pipeline and shapes benches measure, inside the bench process (the `npm start`
 * topology): the embedded database with a `bench` account, the object stores, the three workers on the
 * real workflow bundle, a Temporal client and the HTTP API. The pipeline bench can put the database on a
 * PostgreSQL server of its own instead (`BENCH_DATABASE=postgres`), as a production deployment has it.
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
import { startPostgres, type PostgresServer } from '../scripts/postgres.js';
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

/** Where the bench's database runs: `BENCH_DATABASE`, the embedded PGlite unless it says `postgres`. */
export function benchDatabaseKind(): 'pglite' | 'postgres' {
  const named = process.env.BENCH_DATABASE ?? 'pglite';
  if (named !== 'pglite' && named !== 'postgres')
    throw new Error(`BENCH_DATABASE=${named}: pglite or postgres`);
  return named;
}

export interface BenchStack {
  config: Config;
  database: Database;
  /** The PostgreSQL server's own process (its backends are its children); none for the embedded PGlite. */
  databaseServerPid: number | undefined;
  nativeConnection: NativeConnection;
  client: Client;
  served: ServedApi;
  /** Stops the API, the workers (and `alsoRunning`), the connections, the stores and the database. */
  stop(): Promise<void>;
}

/**
 * Starts the stack; `extraWorkers` are created on the same connection and run beside the three. The
 * database is PGlite in this process unless `options.database` says `postgres`.
 */
export async function startBenchStack(
  root: string,
  temporalAddress: string,
  extraWorkers: (
    nativeConnection: NativeConnection,
    config: Config,
    deps: ActivityDeps,
  ) => Promise<Worker[]> = () => Promise.resolve([]),
  options: { database?: 'pglite' | 'postgres' } = {},
): Promise<BenchStack> {
  const config = loadConfig(benchEnv(root, temporalAddress));
  // The bench's own server, stopped with the stack: durability is off as in the tests' (the data dies
  // with the run), as the in-memory PGlite keeps none either.
  const postgres: PostgresServer | undefined =
    options.database === 'postgres' ? await startPostgres({ database: 'pixelshift_bench' }) : undefined;
  const database = await openDatabase(
    postgres ? { kind: 'postgres', url: postgres.url } : { kind: 'pglite' },
  );
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
    databaseServerPid: postgres?.pid,
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
      await postgres?.stop();
    },
  };
}
