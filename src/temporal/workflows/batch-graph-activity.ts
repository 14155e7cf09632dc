/**
 * One graph of a batch run as an imaging activity of the batch itself, without a child execution
 * (`PIXELSHIFT_BATCH_GRAPHS=activities`, docs/decisions.md "Graphs of a batch as activities"). It takes the
 * steps graphWorkflow takes, in the same order and with the same activities: the account's throttle, the
 * imaging activity on the imaging queue (fair across accounts), the ends the activity cannot see recorded
 * on the read model, and the graph's `graph.*` event. What it gives up is the graph's own execution: the
 * graph is the activity `graph-<index>` in its batch's history, and its ID (`graph/<account>/<batch>/<i>`)
 * stays the key of its read-model row, throttle slot and events.
 */
import { CancellationScope, CancelledFailure, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import type { GraphDescription } from '../activities/types.js';
import { finalStateOf, type GraphOutcome } from '../../core/jobs/job-status.js';
import { graphActivityId } from '../../core/jobs/workflow-ids.js';
import { graphEventData, graphEventType } from '../../core/webhooks/webhook-events.js';
import { accountPriority } from '../scheduling.js';
import { imagingActivityOptions } from './definitions.js';
import { giveThrottleSlotBack, recordGraphEnd, waitForThrottleSlot } from './graph-steps.js';
import { describeFailure } from './graph.js';
import { emitWebhookEvent } from './webhook-events.js';

type Activities = ReturnType<typeof createActivities>;

export interface BatchGraphsContext {
  accountId: string;
  batchId: string;
  imagingTaskQueue: string;
  /** False when the server runs without a throttle (PIXELSHIFT_THROTTLE=off). */
  throttle: boolean;
  /** False when nobody would receive graph.* events (asked once by the batch). */
  graphEvents: boolean;
  webhooksTaskQueue: string;
  /** How many `throttleChanged` signals the batch has received: a waiting graph wakes when it moves. */
  throttleChanges: () => number;
}

/**
 * Runs one graph and writes its progress into `outcome` (the batch's status query reads it as it moves).
 * Never throws: every end, cancellation included, becomes the outcome's state.
 */
export async function runGraphAsActivity(
  batch: BatchGraphsContext,
  description: GraphDescription,
  outcome: GraphOutcome,
): Promise<void> {
  const graphKey = outcome.workflowId;
  const slotInput = { accountId: batch.accountId, graphKey };
  // True from the first reservation until the imaging starts: what a cancellation must give back.
  let holdsSlot = false;
  try {
    if (batch.throttle) {
      holdsSlot = true;
      await waitForThrottleSlot(slotInput, batch.throttleChanges, (slot) => {
        outcome.state = 'throttled';
        outcome.throttledUntil = slot.slotAt;
      });
      delete outcome.throttledUntil;
    }
    if (CancellationScope.current().consideredCancelled) {
      throw new CancelledFailure('The graph was cancelled before it started');
    }
    holdsSlot = false;
    outcome.state = 'running';
    outcome.startedAt = new Date().toISOString();
    const { runGraph } = proxyActivities<Activities>({
      ...imagingActivityOptions,
      taskQueue: batch.imagingTaskQueue,
      // Named by the graph, so the batch's history (and reconcile) can tell its graphs apart.
      activityId: graphActivityId(description.index),
      summary: `transform ${description.summary}`,
      priority: accountPriority(batch.accountId, 'requested'),
    });
    const result = await runGraph({
      accountId: batch.accountId,
      workflowId: graphKey,
      ref: { accountId: batch.accountId, batchId: batch.batchId, index: description.index },
      // Without the throttle no reservation records the start; the activity does.
      ...(batch.throttle ? {} : { recordStart: true }),
    });
    outcome.sinks = result.sinks;
    outcome.failures = result.failures;
    outcome.state = finalStateOf(result);
  } catch (error) {
    delete outcome.throttledUntil;
    if (isCancellation(error)) {
      // It never started: the slot goes back.
      if (holdsSlot) await giveThrottleSlotBack(slotInput);
      outcome.state = 'cancelled';
      outcome.error = { code: 'cancelled', message: 'The graph was cancelled before it finished' };
    } else {
      outcome.state = 'failed';
      outcome.error = describeFailure(error);
    }
    // The imaging activity records the outcomes it returns; these ends it never returned.
    await recordGraphEnd({ workflowId: graphKey, state: outcome.state, error: outcome.error });
  }
  outcome.finishedAt = new Date().toISOString();
  const eventType = graphEventType(outcome.state);
  if (eventType && batch.graphEvents) {
    await emitWebhookEvent({
      accountId: batch.accountId,
      type: eventType,
      batchId: batch.batchId,
      data: graphEventData(batch.accountId, outcome, batch.batchId),
      webhooksTaskQueue: batch.webhooksTaskQueue,
      // The event's ID is the graph's, as when the graph emits it from its own execution.
      emitterId: graphKey,
    });
  }
}
