/**
 * `pixelshift dev` (what `npm start` runs): the embedded default of docs/architecture.md §13 in one process tree —
 * a Temporal dev server (persistent file and UI), PGlite, a `local` storage connection, the API and a
 * worker — with nothing to install by hand. Ctrl-C stops everything; a second start keeps the data.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { loadConfig } from '../core/config.js';
import { createObjectStores } from '../core/storage/connections.js';
import { startTemporalDevServer, type DevServer } from '../tools/temporal-cli.js';
import { installTemporalRuntime } from '../temporal/worker/runtime.js';
import { loadWorkflowBundle } from '../temporal/worker/workflow-bundle.js';
import { connectToTemporal, createWorkers } from '../temporal/worker/worker.js';
import { createEventIngest } from '../features/bucket-events/bucket-event-ingest.js';
import { triggerEventMetrics } from '../features/bucket-events/event-metrics.js';
import { parseBucketNotification } from '../core/triggers/bucket-notification.js';
import { devAccountId, devUserEmail, ensureDevKeyPair } from './dev-key.js';
import { browserBaseUrl, devBannerLines } from './banner.js';
import { prepareDashboard } from './dashboard-assets.js';
import { findingLines, runDoctor, type DoctorOptions } from './doctor.js';
import { prepareExampleRule } from './example-rule.js';
import { startEventFeeders } from './feeders.js';
import type { CliIo } from './io.js';
import { temporalTracing, traceLogFields, type Tracing } from './tracing.js';
import { activityDeps, connectClient, openMigratedDatabase, startApiServer } from './wiring.js';
import { createSignInLink, ensureDashboardUser } from '../db/index.js';

const devTemporalPort = 7233;
const devTemporalUiPort = 8233;

export async function devCommand(io: CliIo, tracing?: Tracing): Promise<void> {
  const env = { ...process.env };
  const dataDir = path.resolve(env.PIXELSHIFT_DATA_DIR ?? '.pixelshift');
  await mkdir(path.join(dataDir, 'storage'), { recursive: true });
  const stops: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse())
      await stop().catch((error: unknown) => io.log(`while stopping: ${String(error)}`));
  };
  // We stop the workers ourselves, in order, so Temporal's runtime must not react to signals on its own.
  installTemporalRuntime({ level: 'WARN', shutdownSignals: [] });

  // Without its Temporal server nothing here can make progress, so the service stops with the reason
  // (its data is kept; the next start resumes every run) rather than answering while nothing moves.
  let temporalExited: (description: string) => void = () => undefined;
  const temporalGone = new Promise<string>((resolve) => (temporalExited = resolve));
  let stoppedBy: string | undefined;

  try {
    let temporal: DevServer | undefined;
    if (!env.TEMPORAL_ADDRESS) {
      io.log('starting the Temporal dev server…');
      temporal = await startTemporalDevServer({
        dbFile: path.join(dataDir, 'temporal.db'),
        port: Number(env.PIXELSHIFT_DEV_TEMPORAL_PORT ?? devTemporalPort),
        uiPort: Number(env.PIXELSHIFT_DEV_TEMPORAL_UI_PORT ?? devTemporalUiPort),
        onUnexpectedExit: temporalExited,
      });
      stops.push(() => temporal!.stop());
      env.TEMPORAL_ADDRESS = temporal.address;
      env.TEMPORAL_UI_URL ??= temporal.uiUrl;
    }
    const config = loadConfig({ ...env, PIXELSHIFT_DATA_DIR: dataDir });
    const logger = pino({
      level: config.logLevel === 'info' ? 'warn' : config.logLevel,
      mixin: traceLogFields,
    });
    const temporalTraces = await temporalTracing(tracing);

    const database = await openMigratedDatabase(config, io.log);
    stops.push(() => database.close());
    const devKey = await ensureDevKeyPair(database.db, dataDir);
    // No usable password: an unguessable random one (pixelshift users create sets real ones).
    const devUser = await ensureDashboardUser(database.db, { accountId: devAccountId, email: devUserEmail });

    const stores = createObjectStores(config.storage.connections);
    stops.push(() => Promise.resolve(stores.destroy()));
    // One process, one /metrics (the API's): the workers' and the feeders' metrics are on its registry.
    const metricsRegistry = new Registry();
    // One connection for the workers and the client, so that work started here starts eagerly on these
    // workers (wiring.ts, connectClient); closed after the workers have stopped.
    const connection = await connectToTemporal(config);
    stops.push(() => connection.close());
    const workers = await createWorkers({
      config,
      deps: await activityDeps(config, database, stores, metricsRegistry),
      bundle: await loadWorkflowBundle(),
      connection,
      shutdownGraceTime: '10 seconds',
      ...(temporalTraces.worker ? { tracing: temporalTraces.worker } : {}),
    });
    const workersDone = workers.run();
    stops.push(() => workers.shutdown());

    const { orchestrator, deliveries } = await connectClient(config, temporalTraces.client, connection);
    // A fresh clone (or changed dashboard sources) builds here, before the API listens.
    const dashboardDir = await prepareDashboard(io.log);
    const server = await startApiServer(config, database, orchestrator, logger, {
      stores,
      deliveries,
      metricsRegistry,
      dashboardDir,
    });
    stops.push(() => server.close());

    // Bucket events: the watcher of the local connection (and SQS pollers of s3 ones) feed the rules;
    // stopped first, so their in-flight starts finish while the client is still open.
    const feeders = startEventFeeders({
      connections: config.storage.connections,
      ingest: createEventIngest({ db: database.db, orchestrator, stores, storage: config.storage, logger }),
      parse: parseBucketNotification,
      logger,
      events: triggerEventMetrics(metricsRegistry),
    });
    stops.push(() => feeders.stop());
    const exampleFolders = await prepareExampleRule({ db: database.db, config }, devAccountId).catch(
      (error: unknown) => {
        io.log(`the example rule was not created: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      },
    );

    const base = browserBaseUrl(server.url, config.http.publicUrl);
    const link = await createSignInLink(database.db, devUser.id);
    io.log(
      devBannerLines({
        config,
        api: server.url,
        temporalUi: config.temporal.uiUrl,
        dataDir,
        storageRoot: path.join(dataDir, 'storage'),
        feeders: feeders.descriptions,
        devKey,
        devAccountId,
        exampleFolders,
        dashboard: { url: `${base}/dashboard/`, signInLink: `${base}${link.url}` },
      }).join('\n'),
    );

    if (tracing) io.log(`tracing: ${tracing.description}`);

    // Not awaited: the findings follow the banner when they are in, and never hold up or fail the start.
    void reportDoctorFindings({ ...env, PIXELSHIFT_DATA_DIR: dataDir }, { database, stores }, io);

    stoppedBy = await Promise.race([
      new Promise<undefined>((resolve) => {
        process.once('SIGINT', () => resolve(undefined));
        process.once('SIGTERM', () => resolve(undefined));
      }),
      workersDone.then(() => undefined),
      temporalGone,
    ]);
    if (stoppedBy) io.log(stoppedBy);
    io.log('stopping…');
    // A second Ctrl-C while stopping means "now".
    process.once('SIGINT', () => process.exit(130));
  } finally {
    await stopAll();
  }
  if (stoppedBy) {
    throw new Error('stopped because its Temporal dev server exited; a new start resumes every run');
  }
}

async function reportDoctorFindings(
  env: NodeJS.ProcessEnv,
  options: DoctorOptions,
  io: CliIo,
): Promise<void> {
  try {
    const findings = await runDoctor(env, options);
    const problems = findings.filter((finding) => !finding.ok);
    if (problems.length === 0) {
      io.log(`doctor: all ${findings.length} checks ok`);
      return;
    }
    io.log(`\n!!! doctor found ${problems.length} problem(s):`);
    for (const line of findingLines(problems)) io.log(`!!! ${line}`);
  } catch (error) {
    io.log(`doctor could not run: ${error instanceof Error ? error.message : String(error)}`);
  }
}
