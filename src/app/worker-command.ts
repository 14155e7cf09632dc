/**
 * `pixelshift worker`: polls the orchestration, imaging and webhooks queues until SIGINT/SIGTERM, and runs
 * the event feeders the config asks for (SQS queues of s3 connections, watchers of local ones).
 */
import { pino } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { loadConfig } from '../core/config.js';
import { createObjectStores, localWatchSettings } from '../core/storage/connections.js';
import { parseBucketNotification } from '../core/triggers/bucket-notification.js';
import { createEventIngest } from '../features/bucket-events/bucket-event-ingest.js';
import { triggerEventMetrics } from '../features/bucket-events/event-metrics.js';
import { startMetricsEndpoint, type MetricsEndpoint } from '../temporal/worker/metrics-endpoint.js';
import { freePort } from '../tools/ports.js';
import { installTemporalRuntime } from '../temporal/worker/runtime.js';
import { loadWorkflowBundle } from '../temporal/worker/workflow-bundle.js';
import { connectToTemporal, createWorkers } from '../temporal/worker/worker.js';
import { configurationDescription, feederLines } from './banner.js';
import { startEventFeeders, type EventFeeders } from './feeders.js';
import type { CliIo } from './io.js';
import { armedTestFault, testFaultVariable, withTestFault } from './test-faults.js';
import { temporalTracing, traceLogFields, type Tracing } from './tracing.js';
import { activityDeps, connectClient, openMigratedDatabase } from './wiring.js';

export async function workerCommand(io: CliIo, tracing?: Tracing): Promise<void> {
  const config = loadConfig();
  const temporalTraces = await temporalTracing(tracing);
  const fault = armedTestFault(process.env);
  const needsFeeders = Object.values(config.storage.connections).some((connection) =>
    connection.kind === 's3'
      ? connection.events?.sqsQueueUrl !== undefined
      : localWatchSettings(connection) !== undefined,
  );
  // The SDK's exporter listens on a free loopback port; the worker's /metrics serves its metrics too.
  const sdkMetricsAddress = config.worker.metricsAddress ? `127.0.0.1:${await freePort()}` : undefined;
  // With feeders, shutdown is ordered here (feeders first, their starts finished, then the workers);
  // without, Temporal's runtime turns SIGINT/SIGTERM into a graceful shutdown of every worker itself.
  installTemporalRuntime({
    level: 'WARN',
    ...(needsFeeders ? { shutdownSignals: [] } : {}),
    ...(sdkMetricsAddress ? { sdkMetricsAddress } : {}),
  });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const database = await openMigratedDatabase(config, io.log);
  const stores = createObjectStores(config.storage.connections);
  // Shared by the workers and the feeders' client, so that the runs the feeders start begin eagerly on
  // these workers (wiring.ts, connectClient); closed once the workers have stopped.
  const connection = await connectToTemporal(config);
  const running = await createWorkers({
    config,
    deps: withTestFault(await activityDeps(config, database, stores, registry), fault),
    bundle: await loadWorkflowBundle(),
    connection,
    shutdownGraceTime: config.worker.drainMs,
    ...(temporalTraces.worker ? { tracing: temporalTraces.worker } : {}),
  });
  io.log(`configuration: ${configurationDescription(config)}`);
  if (tracing) io.log(`tracing: ${tracing.description}`);
  if (fault) io.log(`${testFaultVariable}=${fault}: this worker kills itself on its first imaged graph`);
  io.log(
    `worker polling ${config.temporal.taskQueues.orchestration}, ${config.temporal.taskQueues.imaging} ` +
      `and ${config.temporal.taskQueues.webhooks} ` +
      `(${config.imaging.slots} imaging slots) at ${config.temporal.address}`,
  );
  let feeders: EventFeeders | undefined;
  let metrics: MetricsEndpoint | undefined;
  try {
    if (config.worker.metricsAddress) {
      metrics = await startMetricsEndpoint({
        address: config.worker.metricsAddress,
        registry,
        sdkAddress: sdkMetricsAddress,
      });
      io.log(`metrics at ${metrics.url} (pixelshift's and the Temporal SDK's)`);
    }
    const workersDone = running.run();
    if (needsFeeders) {
      const { orchestrator } = await connectClient(config, temporalTraces.client, connection);
      const logger = pino({ level: config.logLevel, mixin: traceLogFields });
      feeders = startEventFeeders({
        connections: config.storage.connections,
        ingest: createEventIngest({ db: database.db, orchestrator, stores, storage: config.storage, logger }),
        parse: parseBucketNotification,
        logger,
        events: triggerEventMetrics(registry),
      });
      io.log('event feeders:');
      for (const line of feederLines(feeders.descriptions, '  ')) io.log(line);
      await Promise.race([
        new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        }),
        workersDone,
      ]);
      await feeders.stop();
      feeders = undefined;
      await running.shutdown();
    } else {
      io.log(`event feeders: ${feederLines([]).join('')}`);
    }
    await workersDone;
  } finally {
    await feeders?.stop();
    await metrics?.close();
    await connection.close();
    stores.destroy();
    await database.close();
  }
}
