/**
 * The worker process: one connection, three task queues.
 * - orchestration: the workflows and their light activities (batch descriptions, throttle slots);
 * - imaging: the sharp activity, with slots bounded to the cores (docs/architecture.md §7);
 * - webhooks: delivery workflows and their HTTP attempts (docs/architecture.md §11).
 * Temporal's runtime turns SIGINT/SIGTERM into a graceful shutdown: polling stops, in-flight
 * activities get `shutdownGraceTime` to finish, and whatever is still running after that is
 * cancelled and retried elsewhere (the server notices through the heartbeat timeout).
 */
import type { OpenTelemetryWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import {
  NativeConnection,
  Worker,
  type ActivityInterceptorsFactory,
  type InjectedSink,
  type WorkflowBundle,
} from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import type { Config } from '../../core/config.js';

export interface WorkerOptions {
  config: Pick<Config, 'temporal' | 'imaging'>;
  deps: ActivityDeps;
  bundle: WorkflowBundle;
  connection?: NativeConnection;
  /** How long in-flight activities may finish after polling stops: milliseconds or `'10 seconds'` (30 s when omitted). */
  shutdownGraceTime?: string | number;
  /** OpenTelemetry, when the process traces (src/app/tracing.ts); no activity spans, and workflow spans dropped, without. */
  tracing?: WorkerTracing;
}

/** What a tracing process gives its workers: OpenTelemetry's activity interceptors and the workflows' span sink. */
export interface WorkerTracing {
  activityInterceptors: ActivityInterceptorsFactory[];
  workflowSpanExporter: InjectedSink<OpenTelemetryWorkflowExporter>;
}

/**
 * Traced workflows (started in a trace by a tracing client) hand their spans to this sink. A worker that
 * does not trace still registers it, dropping them, so such executions run here without a warning.
 */
const droppedWorkflowSpans: InjectedSink<OpenTelemetryWorkflowExporter> = {
  export: { fn: () => undefined, callDuringReplay: false },
};

export interface RunningWorkers {
  workers: Worker[];
  /** Resolves when every worker has stopped. */
  run(): Promise<void>;
  shutdown(): Promise<void>;
}

export async function connectToTemporal(config: Pick<Config, 'temporal'>): Promise<NativeConnection> {
  return NativeConnection.connect({
    address: config.temporal.address,
    ...(config.temporal.tls ? { tls: true } : {}),
    ...(config.temporal.apiKey ? { apiKey: config.temporal.apiKey } : {}),
  });
}

export async function createWorkers(options: WorkerOptions): Promise<RunningWorkers> {
  const { config } = options;
  const ownConnection = !options.connection;
  const connection = options.connection ?? (await connectToTemporal(config));
  const activities = createActivities(options.deps);
  const shutdownGraceTime = options.shutdownGraceTime ?? '30 seconds';
  const traced = {
    interceptors: { activity: options.tracing?.activityInterceptors ?? [] },
    sinks: { exporter: options.tracing?.workflowSpanExporter ?? droppedWorkflowSpans },
  };

  const orchestration = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueues.orchestration,
    workflowBundle: options.bundle,
    activities: {
      describeBatchGraphs: activities.describeBatchGraphs,
      reserveThrottleSlot: activities.reserveThrottleSlot,
      releaseThrottleSlot: activities.releaseThrottleSlot,
      recordGraphRun: activities.recordGraphRun,
      recordBatchEnd: activities.recordBatchEnd,
      publishWebhookEvent: activities.publishWebhookEvent,
      graphEventsWanted: activities.graphEventsWanted,
    },
    shutdownGraceTime,
    ...traced,
  });
  const imaging = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueues.imaging,
    activities: { runGraph: activities.runGraph },
    maxConcurrentActivityTaskExecutions: config.imaging.slots,
    shutdownGraceTime,
    ...traced,
  });
  // Deliveries: their workflows and the HTTP attempts, apart so slow receivers never hold up graphs.
  const webhooks = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueues.webhooks,
    workflowBundle: options.bundle,
    activities: {
      attemptWebhookDelivery: activities.attemptWebhookDelivery,
      failWebhookDelivery: activities.failWebhookDelivery,
      webhookRetrySchedule: activities.webhookRetrySchedule,
    },
    shutdownGraceTime,
    ...traced,
  });
  const workers = [orchestration, imaging, webhooks];
  let running: Promise<void> | undefined;
  return {
    workers,
    run() {
      running ??= Promise.all(workers.map((worker) => worker.run())).then(async () => {
        if (ownConnection) await connection.close();
      });
      return running;
    },
    async shutdown() {
      for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}
