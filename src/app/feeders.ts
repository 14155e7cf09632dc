/**
 * Starts the event feeders a process owns (docs/architecture.md §10): an SQS poller for every s3
 * connection that names `events.sqsQueueUrl`, and a watcher for every watched `local` connection. Both
 * feed the one ingest path. The HTTP ingress (S3 webhooks, SNS) lives in the API instead.
 */
import type { Logger } from 'pino';
import { localWatchSettings, type StorageConnections } from '../core/storage/connections.js';
import type { EventBodyParser } from '../core/triggers/bucket-notification.js';
import { createLocalWatcher } from '../features/bucket-events/local-watcher.js';
import { createSqsClientFor, startSqsPoller } from '../features/bucket-events/sqs-poller.js';
import type { EventIngest } from '../core/triggers/trigger-types.js';
import {
  countedIngest,
  type TriggerEventMetrics,
  type TriggerSource,
} from '../features/bucket-events/event-metrics.js';

export interface EventFeederDeps {
  connections: StorageConnections;
  ingest: EventIngest;
  parse: EventBodyParser;
  logger?: Logger | undefined;
  /** Counts what the feeders' events became (sources `sqs` and `local`). */
  events?: TriggerEventMetrics | undefined;
  /** Which kinds to start (both by default). */
  sqs?: boolean;
  watch?: boolean;
}

export interface EventFeeders {
  /** One line per feeder, for start-up banners and logs. */
  descriptions: string[];
  /** Stops every feeder (in-flight ingests finish first) and releases their clients. */
  stop(): Promise<void>;
}

export function startEventFeeders(deps: EventFeederDeps): EventFeeders {
  const stops: (() => Promise<void>)[] = [];
  const descriptions: string[] = [];
  const ingestFrom = (source: TriggerSource) =>
    deps.events ? countedIngest(deps.ingest, source, deps.events) : deps.ingest;
  for (const [name, connection] of Object.entries(deps.connections)) {
    if (connection.kind === 's3' && connection.events?.sqsQueueUrl && deps.sqs !== false) {
      const sqsClient = createSqsClientFor(connection);
      const poller = startSqsPoller({
        connectionName: name,
        queueUrl: connection.events.sqsQueueUrl,
        sqsClient,
        parse: deps.parse,
        ingest: ingestFrom('sqs'),
        logger: deps.logger,
      });
      stops.push(async () => {
        await poller.stop();
        sqsClient.destroy();
      });
      descriptions.push(`connection "${name}": polling ${connection.events.sqsQueueUrl}`);
    }
    const watch = connection.kind === 'local' ? localWatchSettings(connection) : undefined;
    if (connection.kind === 'local' && watch && deps.watch !== false) {
      const watcher = createLocalWatcher({
        connectionName: name,
        root: connection.root,
        ingest: ingestFrom('local'),
        logger: deps.logger,
        settleMs: watch.settleMs,
      });
      watcher.start();
      stops.push(() => watcher.stop());
      descriptions.push(
        `connection "${name}": watching ${connection.root} (files settle for ${watch.settleMs / 1000} s)`,
      );
    }
  }
  return {
    descriptions,
    async stop() {
      await Promise.all(stops.map((stop) => stop()));
    },
  };
}
