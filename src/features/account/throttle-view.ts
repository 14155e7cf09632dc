/**
 * What the API shows of the throttle beside batch results (docs/architecture.md §9): when the last graph of a
 * batch is expected to start. Read from the reservations table, which holds every graph's slot: one
 * indexed read per request, no workflow queries.
 */
import type { Config } from '../../core/config.js';
import type { Db } from '../../db/database.js';
import { getLimit, projectStarts } from '../../db/throttle-reservations.js';
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
 * A running batch's throttle outlook: when its last graph is expected to start. Graphs waiting for their
 * slot hold it already (`lastSlot`, from the read model); graphs not yet at the throttle hold none and are
 * projected after the account's last reservation.
 */
export async function runningBatchOutlook(
  deps: ThrottleViewDeps,
  accountId: string,
  progress: { unstarted: number; lastSlot: Date | undefined },
): Promise<ThrottleOutlook | undefined> {
  if (!deps.config.throttle.enabled) return undefined;
  let expected = progress.lastSlot;
  let limit: number;
  if (progress.unstarted > 0) {
    const projection = await projectStarts(deps.db, {
      accountId,
      count: progress.unstarted,
      windowMs: deps.config.throttle.windowMs,
    });
    limit = projection.limit;
    if (!expected || projection.lastStartAt > expected) expected = projection.lastStartAt;
  } else {
    limit = await getLimit(deps.db, accountId);
  }
  return {
    transformsPerHour: limit,
    windowSeconds: windowSeconds(deps.config),
    expectedLastStartAt: expected?.toISOString() ?? null,
  };
}
