/**
 * What the worker's activities count (docs/operations.md, "Metrics"). Recorded in activities only, never
 * in workflow code, which must stay deterministic and is replayed. Labels are bounded: states, error
 * codes, formats, megapixel buckets and outcomes are fixed lists; the throttle's metrics alone carry the
 * account, because the throttle is per account (the reason that is bounded is in docs/operations.md).
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import { finalGraphStates, type GraphState } from '../../core/jobs/job-status.js';

/** Source sizes, in megapixels (all frames of an animation), as `megapixels` label values. */
const megapixelBuckets: readonly [number, string][] = [
  [1, '0-1'],
  [4, '1-4'],
  [12, '4-12'],
  [24, '12-24'],
  [50, '24-50'],
];

export function megapixelBucket(pixels: number): string {
  const megapixels = pixels / 1_000_000;
  return megapixelBuckets.find(([upTo]) => megapixels < upTo)?.[1] ?? '50+';
}

/**
 * How an attempt or a delivery ended, as `outcome` label values. An attempt `failed` on an error or a
 * non-2xx answer other than 410; a delivery, when its last attempt did.
 */
export type WebhookOutcome = 'succeeded' | 'failed' | 'gone' | 'refused' | 'stopped';

export interface ActivityMetrics {
  /** A run reached a final state (counted once: only when the read model moved). */
  graphEnded(state: GraphState, errorCode: string | undefined): void;
  /** One graph's imaging ran to the end (some or all sinks written). */
  imaged(result: {
    seconds: number;
    sourcePixels: number;
    sourceBytes: number;
    sinks: readonly { format: string; bytes: number }[];
  }): void;
  /** A new throttle reservation (not a retried or replayed one) and how long it makes the graph wait. */
  throttleReserved(accountId: string, waitMs: number): void;
  throttleReleased(accountId: string): void;
  webhookAttempt(outcome: WebhookOutcome, seconds: number): void;
  webhookDelivered(outcome: WebhookOutcome): void;
}

/** Returns the named metric already on the registry (one process may wire two components to it), or makes it. */
function once<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export function createActivityMetrics(registry: Registry): ActivityMetrics {
  const registers = [registry];
  const graphs = once(
    registry,
    'pixelshift_graphs_total',
    () =>
      new Counter({
        name: 'pixelshift_graphs_total',
        help: 'Graph runs that reached a final state, by state and error code (the graph error, else the first sink failure; none when succeeded)',
        labelNames: ['state', 'error_code'] as const,
        registers,
      }),
  );
  const imagingSeconds = once(
    registry,
    'pixelshift_imaging_duration_seconds',
    () =>
      new Histogram({
        name: 'pixelshift_imaging_duration_seconds',
        help: 'Time to image one graph (download, every stage, every encode and upload), by output format (mixed when its outputs differ) and source megapixels',
        labelNames: ['format', 'megapixels'] as const,
        buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
        registers,
      }),
  );
  const bytesRead = once(
    registry,
    'pixelshift_imaging_bytes_read_total',
    () =>
      new Counter({
        name: 'pixelshift_imaging_bytes_read_total',
        help: 'Bytes of source objects read by graphs whose imaging ran to the end',
        registers,
      }),
  );
  const bytesWritten = once(
    registry,
    'pixelshift_imaging_bytes_written_total',
    () =>
      new Counter({
        name: 'pixelshift_imaging_bytes_written_total',
        help: 'Bytes of outputs written, by output format',
        labelNames: ['format'] as const,
        registers,
      }),
  );
  const reservations = once(
    registry,
    'pixelshift_throttle_reservations_total',
    () =>
      new Counter({
        name: 'pixelshift_throttle_reservations_total',
        help: 'Throttle slots reserved (one per graph run), by account',
        labelNames: ['account'] as const,
        registers,
      }),
  );
  const waits = once(
    registry,
    'pixelshift_throttle_wait_seconds',
    () =>
      new Histogram({
        name: 'pixelshift_throttle_wait_seconds',
        help: 'How long a graph waits for its throttle slot, as decided when it reserves it, by account',
        labelNames: ['account'] as const,
        buckets: [0, 1, 10, 60, 300, 900, 1800, 3600, 7200, 21_600, 86_400],
        registers,
      }),
  );
  const releases = once(
    registry,
    'pixelshift_throttle_releases_total',
    () =>
      new Counter({
        name: 'pixelshift_throttle_releases_total',
        help: 'Throttle slots given back by graphs cancelled before they started, by account',
        labelNames: ['account'] as const,
        registers,
      }),
  );
  const attempts = once(
    registry,
    'pixelshift_webhook_attempts_total',
    () =>
      new Counter({
        name: 'pixelshift_webhook_attempts_total',
        help: 'Webhook delivery attempts, by outcome: succeeded, failed, gone (410), refused (address policy), stopped (subscription disabled)',
        labelNames: ['outcome'] as const,
        registers,
      }),
  );
  const attemptSeconds = once(
    registry,
    'pixelshift_webhook_attempt_duration_seconds',
    () =>
      new Histogram({
        name: 'pixelshift_webhook_attempt_duration_seconds',
        help: 'Time of one webhook delivery attempt, signing and the HTTP request included, by outcome',
        labelNames: ['outcome'] as const,
        buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers,
      }),
  );
  const deliveries = once(
    registry,
    'pixelshift_webhook_deliveries_total',
    () =>
      new Counter({
        name: 'pixelshift_webhook_deliveries_total',
        help: 'Webhook deliveries that ended, by outcome: succeeded, failed (every attempt failed), gone, refused, stopped',
        labelNames: ['outcome'] as const,
        registers,
      }),
  );

  return {
    graphEnded(state, errorCode) {
      if (!finalGraphStates.has(state)) return;
      graphs.inc({ state, error_code: errorCode ?? 'none' });
    },
    imaged({ seconds, sourcePixels, sourceBytes, sinks }) {
      const formats = new Set(sinks.map((sink) => sink.format));
      const format = formats.size === 1 ? [...formats][0]! : formats.size === 0 ? 'none' : 'mixed';
      imagingSeconds.observe({ format, megapixels: megapixelBucket(sourcePixels) }, seconds);
      bytesRead.inc(sourceBytes);
      for (const sink of sinks) bytesWritten.inc({ format: sink.format }, sink.bytes);
    },
    throttleReserved(accountId, waitMs) {
      reservations.inc({ account: accountId });
      waits.observe({ account: accountId }, waitMs / 1000);
    },
    throttleReleased(accountId) {
      releases.inc({ account: accountId });
    },
    webhookAttempt(outcome, seconds) {
      attempts.inc({ outcome });
      attemptSeconds.observe({ outcome }, seconds);
    },
    webhookDelivered(outcome) {
      deliveries.inc({ outcome });
    },
  };
}
