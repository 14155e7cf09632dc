/**
 * Fair scheduling across accounts (docs/architecture.md §7.1). Every workflow and activity an account
 * causes carries the account (and which of its work streams) as its Temporal fairness key, so a server with task-queue fairness enabled
 * dispatches each queue's backlog round-robin across accounts instead of first in, first out: one
 * account's flood of graphs waits behind its own backlog, not in front of everyone else's work.
 *
 * Temporal passes a workflow's priority on to its activities and child workflows; the batch's child
 * graphs and the imaging activity set it explicitly all the same, so the work of batches and graphs that
 * began before the key existed (no priority to pass on) is keyed too. Without fairness enabled on the server the key is carried and
 * ignored: dispatch stays first in, first out.
 */
import type { Priority } from '@temporalio/common';

/**
 * Where an account's work comes from: requested through the API (batches, webhook redeliveries), or
 * triggered by its rules and inbound hooks. Each is a fairness key of its own, so a flood of one never
 * holds the other back (below).
 */
export type WorkStream = 'requested' | 'triggered';

/**
 * The fairness key of an account's work stream, at the default weight. Requested work carries the
 * account id itself, triggered runs the account id and `~`. Two keys per account let an account's
 * API batches and triggered runs interleave instead of queueing behind each other; the cost is that an
 * account busy on both streams gets two shares against one for an account busy on one (at most twice).
 * Account ids are at most 63 characters of `[a-z0-9-]` (src/db/accounts.ts): with the suffix a key stays
 * within Temporal's 64-byte limit, and no account id can spell another's triggered key.
 */
export function accountPriority(accountId: string, stream: WorkStream): Priority {
  return { fairnessKey: stream === 'requested' ? accountId : `${accountId}~` };
}

/**
 * The server's dynamic config that makes it honour fairness keys (Temporal server 1.29 or later; off by
 * default). `enableFairness` implies the priority matcher (`useNewMatcher`), spelled out all the
 * same, as in the documented cluster config; `enableMigration` drains tasks queued before fairness was
 * switched on, which would otherwise be stranded in the old backlog. All are task-queue settings: an
 * operator may set them globally, per namespace or per task queue (docs/configuration.md).
 */
export const fairnessDynamicConfig: Readonly<Record<string, boolean>> = {
  'matching.useNewMatcher': true,
  'matching.enableFairness': true,
  'matching.enableMigration': true,
};

/**
 * One partition per task queue, for the single-node dev server. Fairness is round-robin within each
 * partition, and a queue has 4 by default: a poller that reaches a partition holding only the flooding
 * account's tasks takes one of them though another account waits in the next partition. On a loaded
 * two-core machine that tripled how much of A's flood finished while B's one graph waited (23 against 6
 * to 8). Partitions buy matching throughput across server nodes; one node has nothing to spread.
 */
export const singleNodeTaskQueueConfig: Readonly<Record<string, number>> = {
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
};
