/**
 * What the API shows of the throttle beside batch results (docs/architecture.md §9): which running graphs are in fact
 * waiting for their slot, and when the last graph of a batch is expected to start. Read from the
 * reservations table, which holds every graph's slot: one indexed read per request, no workflow queries.
 */
import type { Config } from '../../core/config.js';
import type { Db } from '../../db/database.js';
import { databaseNow, getLimit, projectStarts, slotsOf } from '../../db/throttle-reservations.js';
import type { GraphOutcome } from '../../core/jobs/job-status.js';
import type { ThrottleOutlook } from '../../api/schemas.js';

export interface ThrottleViewDeps {
  db: Db;
  config: Pick<Config, 'throttle'>;
}

const windowSeconds = (config: Pick<Config, 'throttle'>) => config.throttle.windowMs / 1000;

/** At submission: when the last of `graphCount` new graphs would start after what the account reserved. */
export async function submissionOutlook(
  deps: ThrottleViewDeps,
  accountId: string,
  graphCount: number,
): Promise<ThrottleOutlook | undefined> {
  if (!deps.config.throttle.enabled) return undefined;
  const projection = await projectStarts(deps.db, {
    accountId,
    count: graphCount,
    windowMs: deps.config.throttle.windowMs,
  });
  return {
    transformsPerHour: projection.limit,
    windowSeconds: windowSeconds(deps.config),
    expectedLastStartAt: projection.lastStartAt.toISOString(),
  };
}

/**
 * Graphs as they stand: a graph the batch workflow reports as running whose slot is still ahead is
 * `throttled` until that slot. `lastSlot` is the latest such slot.
 */
export async function withThrottleState(
  deps: ThrottleViewDeps,
  accountId: string,
  graphs: readonly GraphOutcome[],
): Promise<{ graphs: GraphOutcome[]; lastSlot: Date | undefined; now: Date | undefined }> {
  const active = graphs.filter((graph) => graph.state === 'running' || graph.state === 'throttled');
  if (!deps.config.throttle.enabled || active.length === 0) {
    return { graphs: [...graphs], lastSlot: undefined, now: undefined };
  }
  const now = await databaseNow(deps.db);
  const slots = await slotsOf(
    deps.db,
    accountId,
    active.map((graph) => graph.workflowId),
  );
  let lastSlot: Date | undefined;
  const shown = graphs.map((graph): GraphOutcome => {
    const slot = slots.get(graph.workflowId);
    if (!slot || slot <= now || (graph.state !== 'running' && graph.state !== 'throttled')) return graph;
    if (!lastSlot || slot > lastSlot) lastSlot = slot;
    return { ...graph, state: 'throttled', throttledUntil: slot.toISOString() };
  });
  return { graphs: shown, lastSlot, now };
}

/**
 * A running batch: its graphs as they stand and when the last one is expected to start. Graphs the
 * batch has not started yet (beyond its window of running graphs) hold no slot: they are projected
 * after the account's last reservation.
 */
export async function runningBatchView(
  deps: ThrottleViewDeps,
  accountId: string,
  graphs: readonly GraphOutcome[],
): Promise<{ graphs: GraphOutcome[]; outlook: ThrottleOutlook | undefined }> {
  const view = await withThrottleState(deps, accountId, graphs);
  if (!deps.config.throttle.enabled) return { graphs: view.graphs, outlook: undefined };
  const unstarted = graphs.filter((graph) => graph.state === 'queued').length;
  let expected = view.lastSlot;
  let limit: number;
  if (unstarted > 0) {
    const projection = await projectStarts(deps.db, {
      accountId,
      count: unstarted,
      windowMs: deps.config.throttle.windowMs,
      ...(view.now ? { now: view.now } : {}),
    });
    limit = projection.limit;
    if (!expected || projection.lastStartAt > expected) expected = projection.lastStartAt;
  } else {
    limit = await getLimit(deps.db, accountId);
  }
  return {
    graphs: view.graphs,
    outlook: {
      transformsPerHour: limit,
      windowSeconds: windowSeconds(deps.config),
      expectedLastStartAt: expected?.toISOString() ?? null,
    },
  };
}
