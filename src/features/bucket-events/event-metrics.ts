/**
 * `pixelshift_trigger_events_total{source, outcome}`: what became of the events that start runs, from
 * every source (docs/operations.md, "Metrics"): bucket events over HTTP (`s3`), SNS, SQS and the local
 * watcher, and inbound hooks. Both label sets are fixed lists.
 */
import { Counter, type Registry } from 'prom-client';
import type { EventIngest, IngestResult } from '../../core/triggers/trigger-types.js';

export type TriggerSource = 's3' | 'sns' | 'sqs' | 'local' | 'hook';
/**
 * started / duplicate: a run started, or found already started (one per matching rule); unmatched,
 * skipped, invalid: an event that started nothing (see IngestResult); refused: a request refused (4xx:
 * hooks); failed: events the ingest could not take (they are delivered again).
 */
export type TriggerOutcome =
  'started' | 'duplicate' | 'unmatched' | 'skipped' | 'invalid' | 'refused' | 'failed';

export const triggerEventsName = 'pixelshift_trigger_events_total';

export interface TriggerEventMetrics {
  count(source: TriggerSource, outcome: TriggerOutcome, n?: number): void;
  /** Counts every outcome of one ingest call. */
  countIngest(source: TriggerSource, result: IngestResult): void;
}

/** The counter on this registry (the API and the worker's feeders share it when they share a process). */
export function triggerEventMetrics(registry: Registry): TriggerEventMetrics {
  const counter =
    (registry.getSingleMetric(triggerEventsName) as Counter<'source' | 'outcome'> | undefined) ??
    new Counter({
      name: triggerEventsName,
      help: 'Events that start runs, by source (s3, sns, sqs, local, hook) and outcome (started, duplicate, unmatched, skipped, invalid, refused, failed)',
      labelNames: ['source', 'outcome'] as const,
      registers: [registry],
    });
  const count = (source: TriggerSource, outcome: TriggerOutcome, n = 1) => {
    if (n > 0) counter.inc({ source, outcome }, n);
  };
  return {
    count,
    countIngest(source, result) {
      count(source, 'started', result.started);
      count(source, 'duplicate', result.duplicates);
      count(source, 'unmatched', result.unmatched);
      count(source, 'skipped', result.skipped);
      count(source, 'invalid', result.invalid);
    },
  };
}

/** The ingest, counting what it did for one source; a failed call counts its events as `failed`. */
export function countedIngest(
  ingest: EventIngest,
  source: TriggerSource,
  metrics: TriggerEventMetrics,
): EventIngest {
  return {
    async ingest(events) {
      try {
        const result = await ingest.ingest(events);
        metrics.countIngest(source, result);
        return result;
      } catch (error) {
        metrics.count(source, 'failed', events.length);
        throw error;
      }
    },
  };
}
