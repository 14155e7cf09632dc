/**
 * The throttle as the activities see it: reserve a start slot for a graph, or give it back. The worker
 * wires the database implementation, whose reservation also records on the graph's read-model row
 * whether it waits (`throttled`) or starts (`running`), in the same round trip.
 */
import type { Db } from './database.js';
import { releaseSlot, reserveSlot } from './throttle-reservations.js';

export interface ThrottleGate {
  /**
   * The graph's start slot (idempotent per graph key) and the clock it was decided on; `created` is false
   * when the graph already held it (a retry or a replay), which metrics must not count again.
   */
  reserve(accountId: string, graphKey: string): Promise<{ slotAt: Date; now: Date; created?: boolean }>;
  /** Gives back the slot of a graph that will not run. */
  release(accountId: string, graphKey: string): Promise<boolean>;
}

export function databaseThrottleGate(db: Db, config: { windowMs: number }): ThrottleGate {
  return {
    reserve: (accountId, graphKey) =>
      reserveSlot(db, { accountId, graphKey, windowMs: config.windowMs, recordOnRun: true }),
    release: (accountId, graphKey) => releaseSlot(db, accountId, graphKey),
  };
}
