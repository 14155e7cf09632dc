/**
 * The steps a graph takes around its imaging, shared by a graph's own workflow (graph.ts) and a graph run
 * as an activity of its batch (batch-graph-activity.ts), so both pass the throttle, give a slot back and
 * record their ends with the same local activities in the same order (docs/architecture.md §9).
 */
import { CancellationScope, condition, proxyLocalActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import type { RecordGraphRunInput, ThrottleSlotInput } from '../activities/types.js';
import {
  recordStateActivityOptions,
  throttleReleaseActivityOptions,
  throttleReserveActivityOptions,
} from './definitions.js';

type Activities = ReturnType<typeof createActivities>;

// Local activities: one short transaction each, run inside the workflow task (no extra round trip
// through the server per graph); a worker lost mid-call is replaced when the task times out.
const { reserveThrottleSlot } = proxyLocalActivities<Activities>({
  ...throttleReserveActivityOptions,
  summary: 'reserve a throttle slot',
});
const { releaseThrottleSlot } = proxyLocalActivities<Activities>({
  ...throttleReleaseActivityOptions,
  summary: 'give the throttle slot back',
});
const { recordGraphRun } = proxyLocalActivities<Activities>({
  ...recordStateActivityOptions,
  summary: 'record the outcome',
});

/**
 * Returns once the graph holds its start slot. While the slot is ahead, `onThrottled` says so and the
 * graph waits on a durable timer until the slot, or until `throttleChanges` moves (a limit change
 * signalled it), then asks again: the timer also catches a slot moved later by a lowered limit.
 */
export async function waitForThrottleSlot(
  slotInput: ThrottleSlotInput,
  throttleChanges: () => number,
  onThrottled: (slot: { slotAt: string; waitMs: number }) => void,
): Promise<void> {
  for (;;) {
    // Read before asking, so a signal that arrives during the call still wakes the wait below.
    const seen = throttleChanges();
    // Not cancellable: a reservation cancelled mid-call could commit after the release that follows.
    const slot = await CancellationScope.nonCancellable(() => reserveThrottleSlot(slotInput));
    if (slot.waitMs <= 0) return;
    onThrottled(slot);
    await condition(() => throttleChanges() !== seen, slot.waitMs);
  }
}

/** A graph cancelled before it started gives its slot back (best effort: a lost release costs one slot in one window). */
export async function giveThrottleSlotBack(slotInput: ThrottleSlotInput): Promise<void> {
  await CancellationScope.nonCancellable(() => releaseThrottleSlot(slotInput)).catch(() => undefined);
}

/** Records on the read model an end the imaging activity never returned (cancelled, failed outside it). */
export async function recordGraphEnd(end: RecordGraphRunInput): Promise<void> {
  await CancellationScope.nonCancellable(() => recordGraphRun(end));
}
