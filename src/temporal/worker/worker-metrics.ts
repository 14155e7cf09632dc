/**
 * The worker's registry: what its activities count (activity-metrics.ts) and the throttle's state per
 * account, read from the database on each scrape. The SDK's own metrics are added by the endpoint
 * (metrics-endpoint.ts).
 */
import { Gauge, type Registry } from 'prom-client';
import type { Db } from '../../db/database.js';
import { throttleUsage } from '../../db/throttle-reservations.js';
import { createActivityMetrics, type ActivityMetrics } from '../activities/activity-metrics.js';

/** A graph still throttled this long after its slot came is stuck (its timer or its worker is). */
export const throttleOverdueMs = 5 * 60_000;

/** The activities' metrics, and the throttle gauges over the database, on one registry. */
export function createWorkerMetrics(
  registry: Registry,
  source: { db: Db; windowMs: number },
): ActivityMetrics {
  registerThrottleGauges(registry, source);
  return createActivityMetrics(registry);
}

function registerThrottleGauges(registry: Registry, source: { db: Db; windowMs: number }): void {
  if (registry.getSingleMetric('pixelshift_throttle_slots_used')) return;
  // One query per scrape fills every gauge: the first gauge collected starts it, the others await it.
  let loading: Promise<void> | undefined;
  const load = () => {
    loading ??= throttleUsage(source.db, { windowMs: source.windowMs, overdueMs: throttleOverdueMs })
      .catch(() => [])
      .then((rows) => {
        for (const gauge of Object.values(gauges)) gauge.reset();
        for (const row of rows) {
          const labels = { account: row.accountId };
          gauges.used.set(labels, row.used);
          gauges.limit.set(labels, row.limit);
          gauges.waiting.set(labels, row.waiting);
          gauges.overdue.set(labels, row.overdue);
        }
      })
      .finally(() => {
        loading = undefined;
      });
    return loading;
  };
  const gauge = (name: string, help: string) =>
    new Gauge({ name, help, labelNames: ['account'] as const, registers: [registry], collect: load });
  const gauges = {
    used: gauge(
      'pixelshift_throttle_slots_used',
      'Throttle slots that came within the last window (graphs started), by account; compare with pixelshift_throttle_limit',
    ),
    limit: gauge(
      'pixelshift_throttle_limit',
      'Transforms per throttle window, by account (accounts holding reservations only)',
    ),
    waiting: gauge(
      'pixelshift_throttle_waiting_graphs',
      'Graphs whose throttle slot is still to come, by account',
    ),
    overdue: gauge(
      'pixelshift_throttle_overdue_graphs',
      'Graphs still throttled more than 5 minutes after their slot came (a stuck wait), by account',
    ),
  };
}
