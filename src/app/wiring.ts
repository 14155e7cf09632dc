/**
 * How the processes are put together from the plain modules: shared by `dev`, `api` and `worker`.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { Client, Connection, type ClientInterceptors } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { ActivityDeps, BatchGraphSource } from '../temporal/activities/index.js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { loadOrCreateJwtSecret } from '../core/auth/jwt-secret.js';
import { loadOrCreateSecretsKey } from '../core/auth/secret-box.js';
import { outboundAddressPolicy } from '../core/net/own-api-address.js';
import { createOutboundClient } from '../core/net/outbound-http.js';
import type { Config } from '../core/config.js';
import { createApp } from './http-app.js';
import { startHttpServer, type HttpServer } from '../api/http-server.js';
import { getBatchGraph, listBatchGraphs, openDatabase, migrate, type Database } from '../db/index.js';
import { TemporalJobEngine } from '../temporal/client/temporal-orchestrator.js';
import type { DeliveryStarter } from '../core/jobs/orchestrator-ports.js';
import { TemporalDeliveryStarter } from '../temporal/client/delivery-starter.js';
import type { StoreRegistry } from '../core/storage/connections.js';
import { databaseThrottleGate } from '../db/throttle-gate.js';
import { databaseRunRecorder } from '../db/graph-runs.js';
import { createWorkerMetrics } from '../temporal/worker/worker-metrics.js';

/** Opens the configured database and brings its schema up to date (advisory-locked, so replicas may race). */
export async function openMigratedDatabase(
  config: Pick<Config, 'database'>,
  log: (line: string) => void,
): Promise<Database> {
  const database = await openDatabase(config.database, {
    onPoolError: (error) => log(`database connection error: ${error.message}`),
  });
  await migrate(database.db);
  return database;
}

export function batchGraphSource(database: Database): BatchGraphSource {
  return {
    getBatchGraph: (accountId, batchId, index) => getBatchGraph(database.db, accountId, batchId, index),
    listBatchGraphs: (accountId, batchId) => listBatchGraphs(database.db, accountId, batchId),
  };
}

/**
 * Everything the activities need, over the process's database and stores; they count what they do on
 * `metricsRegistry` (the worker's /metrics), with the throttle's gauges.
 */
export async function activityDeps(
  config: Pick<Config, 'imaging' | 'throttle' | 'dataDir' | 'secrets' | 'outbound' | 'http' | 'webhooks'>,
  database: Database,
  stores: StoreRegistry,
  metricsRegistry?: Registry,
): Promise<ActivityDeps> {
  return {
    ...(metricsRegistry
      ? {
          metrics: createWorkerMetrics(metricsRegistry, {
            db: database.db,
            windowMs: config.throttle.windowMs,
          }),
        }
      : {}),
    graphs: batchGraphSource(database),
    stores,
    imaging: config.imaging,
    throttle: databaseThrottleGate(database.db, config.throttle),
    runs: databaseRunRecorder(database.db),
    webhooks: {
      db: database.db,
      secretsKey: await loadOrCreateSecretsKey(config),
      outbound: createOutboundClient({ policy: outboundAddressPolicy(config) }),
      retryScheduleMs: config.webhooks.retryScheduleMs,
    },
  };
}

/**
 * `interceptors`: OpenTelemetry's, when the process traces (tracing.ts), so starts carry the trace.
 * `workerConnection`: the connection of the workers running in this process. The client then shares it,
 * and new workflows start eagerly: the server hands a workflow's first task back with the start, to this
 * process's orchestration worker, instead of through its task queue (docs/decisions.md, "Eager
 * workflow start"). Its owner closes it, after the workers; `close()` closes only a connection of the
 * client's own.
 */
export async function connectClient(
  config: Pick<Config, 'temporal'>,
  interceptors?: ClientInterceptors,
  workerConnection?: NativeConnection,
): Promise<{
  client: Client;
  orchestrator: TemporalJobEngine;
  deliveries: TemporalDeliveryStarter;
  close: () => Promise<void>;
}> {
  const connection =
    workerConnection ??
    (await Connection.connect({
      address: config.temporal.address,
      ...(config.temporal.tls ? { tls: true } : {}),
      ...(config.temporal.apiKey ? { apiKey: config.temporal.apiKey } : {}),
    }));
  const client = new Client({
    connection,
    namespace: config.temporal.namespace,
    ...(interceptors ? { interceptors } : {}),
  });
  return {
    client,
    orchestrator: new TemporalJobEngine(client, config, { eagerStart: workerConnection !== undefined }),
    deliveries: new TemporalDeliveryStarter(client, config),
    close: () => (workerConnection ? Promise.resolve() : connection.close()),
  };
}

/** The HTTP API over the given database and orchestrator, listening where the config says. */
export async function startApiServer(
  config: Config,
  database: Database,
  orchestrator: TemporalJobEngine,
  logger: Logger,
  extras: {
    /** Shared with the workers when they run in this process; the app builds its own otherwise. */
    stores?: StoreRegistry;
    /** Starts webhook redeliveries; redelivery answers 503 without it. */
    deliveries?: DeliveryStarter;
    /** What /metrics serves: shared with the workers when they run in this process. */
    metricsRegistry?: Registry;
    /** The built dashboard (`ensureDashboardBuilt`'s outDir); dashboard/dist by default. */
    dashboardDir?: string;
  } = {},
): Promise<HttpServer> {
  const jwtSecret = await loadOrCreateJwtSecret(config);
  // Loaded up front so that a wrong PIXELSHIFT_SECRETS_KEY stops the start, not a hook request.
  const secretsKey = await loadOrCreateSecretsKey(config);
  return startHttpServer(
    createApp({
      db: database.db,
      progressChanges: database.progressChanges,
      orchestrator,
      config,
      jwtSecret,
      logger,
      secretsKey,
      ...extras,
    }),
    config.http,
  );
}

/**
 * glibc reads MALLOC_ARENA_MAX only at process start, so a process that runs sharp re-executes itself
 * once with it set: libvips' threads otherwise each grow a malloc arena and RSS balloons (docs/architecture.md §5).
 * Resolves true when this process has handed over to the child (and the child has ended): the caller
 * must then do nothing else. Signals are passed on, so Ctrl-C and SIGTERM reach the real process and
 * this one waits for its clean shutdown instead of dying first.
 */
export async function reexecWithMallocArenaMax(): Promise<boolean> {
  if (process.env.MALLOC_ARENA_MAX) return false;
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, MALLOC_ARENA_MAX: '2' },
  });
  const forward = (signal: NodeJS.Signals) => () => {
    // A terminal's Ctrl-C already reached the child through the process group; only forward other senders.
    if (signal !== 'SIGINT' || !process.stdin.isTTY) child.kill(signal);
  };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  const code = await new Promise<number>((resolve) =>
    child.once('exit', (exitCode, signal) =>
      resolve(exitCode ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1)),
    ),
  );
  process.off('SIGINT', onInt);
  process.off('SIGTERM', onTerm);
  process.exitCode = code;
  return true;
}
