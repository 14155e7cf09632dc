/**
 * The pixelshift that the pipeline and shapes benches measure, inside the bench process (the `npm start`
 * topology): the embedded database with a `bench` account, the object stores, the three workers on the
 * real workflow bundle, a Temporal client and the HTTP API. The pipeline bench can put the database on a
 * PostgreSQL server of its own instead (`BENCH_DATABASE=postgres`), as a production deployment has it, and
 * then also the workers in a `pixelshift worker` process of their own (`BENCH_WORKER=process`), leaving the
 * API alone in the bench process: the production topology, where the two are pinned to different cores.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { activityDeps, connectClient } from '../src/app/wiring.js';
import type { ActivityDeps } from '../src/temporal/activities/index.js';
import { loadConfig, type Config } from '../src/core/config.js';
import { DEFAULT_CONNECTION } from '../src/core/graph/units.js';
import { createObjectStores } from '../src/core/storage/connections.js';
import { createApiKey } from '../src/db/api-key-credentials.js';
import { ensureAccount, migrate, openDatabase, type Database } from '../src/db/index.js';
import { startPostgres, type PostgresServer } from '../scripts/postgres.js';
import { buildWorkflowBundle } from '../src/temporal/worker/workflow-bundle.js';
import { createWorkers } from '../src/temporal/worker/worker.js';
import { startWorkerProcess } from '../test/support/worker-process.js';
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

/**
 * Where the bench's workers run: `BENCH_WORKER`, in the bench process beside the API unless it says
 * `process` (a `pixelshift worker` of its own, which needs the database on a server: BENCH_DATABASE=postgres).
 */
export function benchWorkerPlace(database: 'pglite' | 'postgres'): 'in-process' | 'process' {
  const named = process.env.BENCH_WORKER ?? 'in-process';
  if (named !== 'in-process' && named !== 'process')
    throw new Error(`BENCH_WORKER=${named}: in-process or process`);
  if (named === 'process' && database !== 'postgres')
    throw new Error('BENCH_WORKER=process needs BENCH_DATABASE=postgres: PGlite lives in one process');
  return named;
}

export interface BenchStack {
  config: Config;
  database: Database;
  /** The PostgreSQL server's own process (its backends are its children); none for the embedded PGlite. */
  databaseServerPid: number | undefined;
  /** The `pixelshift worker` process with `worker: 'process'`; undefined when the workers are in this one. */
  workerPid: number | undefined;
  client: Client;
  served: ServedApi;
  /** Stops the API, the workers (and `alsoRunning`), the connections, the stores and the database. */
  stop(): Promise<void>;
}

/**
 * Starts the stack; `extraWorkers` are created on the same connection and run beside the three (in this
 * process only). The database is PGlite in this process unless `options.database` says `postgres`, and the
 * workers are in this process unless `options.worker` says `process`.
 */
export async function startBenchStack(
  root: string,
  temporalAddress: string,
  extraWorkers: (
    nativeConnection: NativeConnection,
    config: Config,
    deps: ActivityDeps,
  ) => Promise<Worker[]> = () => Promise.resolve([]),
  options: { database?: 'pglite' | 'postgres'; worker?: 'in-process' | 'process' } = {},
): Promise<BenchStack> {
  // The bench's own server, stopped with the stack: durability is off as in the tests' (the data dies
  // with the run), as the in-memory PGlite keeps none either.
  const postgres: PostgresServer | undefined =
    options.database === 'postgres' ? await startPostgres({ database: 'pixelshift_bench' }) : undefined;
  const workerApart = options.worker === 'process';
  if (workerApart && !postgres) throw new Error('a worker process of its own needs the database on a server');
  const env = benchEnv(root, temporalAddress, workerApart ? await separateProcessesEnv(root, postgres!) : {});
  const config = loadConfig(env);
  const database = await openDatabase(
    postgres ? { kind: 'postgres', url: postgres.url } : { kind: 'pglite' },
  );
  await migrate(database.db);
  await ensureAccount(database.db, { id: 'bench', name: 'bench' });
  const key = await createApiKey(database.db, 'bench');
  const stores = createObjectStores(config.storage.connections);
  // The workers' connection, in this process only when they are: the API's process in production has none.
  let nativeConnection: NativeConnection | undefined;
  let workerProcess: ChildProcess | undefined;
  let stopWorkers: () => Promise<void>;
  if (workerApart) {
    workerProcess = await startWorkerProcess({ ...process.env, ...env });
    const exited = new Promise((resolve) => workerProcess!.once('exit', resolve));
    // A bench that fails before stopping the stack must not leave its worker polling.
    const child = workerProcess;
    process.once('exit', () => child.kill('SIGKILL'));
    stopWorkers = async () => {
      workerProcess!.kill('SIGTERM');
      await exited;
    };
  } else {
    nativeConnection = await NativeConnection.connect({ address: temporalAddress });
    const deps = await activityDeps(config, database, stores);
    const workers = await createWorkers({
      config,
      deps,
      bundle: await buildWorkflowBundle(),
      connection: nativeConnection,
    });
    const extra = await extraWorkers(nativeConnection, config, deps);
    const workersDone = Promise.all([workers.run(), ...extra.map((worker) => worker.run())]);
    stopWorkers = async () => {
      for (const worker of extra) if (worker.getState() === 'RUNNING') worker.shutdown();
      await workers.shutdown();
      await workersDone;
    };
  }
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection });
  // As in `npm start`: the API's client shares the workers' connection, so work starts eagerly on them.
  // With the workers in a process of their own, as `pixelshift api` does: no workers to start on.
  const apiClient = await connectClient(config, undefined, nativeConnection);
  const { orchestrator } = apiClient;
  const served = await serveApi(config, database, orchestrator, key);
  return {
    config,
    database,
    databaseServerPid: postgres?.pid,
    workerPid: workerProcess?.pid,
    client,
    served,
    async stop() {
      await served.server.close();
      await stopWorkers();
      await apiClient.close();
      await connection.close();
      await nativeConnection?.close();
      stores.destroy();
      await database.close();
      await postgres?.stop();
    },
  };
}

/**
 * The settings the API and a worker process of its own share: the bench's database server, and the
 * embedded storage without its watcher, whose feeder the worker would otherwise run on every output it
 * writes (the bench has no rules; the in-process stack runs no feeders either).
 */
async function separateProcessesEnv(root: string, postgres: PostgresServer): Promise<Record<string, string>> {
  const configFile = path.join(root, 'bench-config.json');
  const connection = { kind: 'local', root: path.join(root, 'storage'), watch: false };
  await writeFile(
    configFile,
    JSON.stringify({
      connections: { [DEFAULT_CONNECTION]: connection },
      grants: { '*': [{ connection: DEFAULT_CONNECTION, buckets: ['*'] }] },
    }),
  );
  return { DATABASE_URL: postgres.url, PIXELSHIFT_CONFIG: configFile };
}
