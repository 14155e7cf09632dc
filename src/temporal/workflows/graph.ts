/**
 * One Transform Graph run. Thin: it passes the account's throttle, names the work for operators, runs
 * the imaging activity, and turns the outcome (or the classified failure) into a GraphOutcome.
 *
 * The throttle (docs/architecture.md §9): a local activity reserves the graph's start slot; while the slot is ahead the
 * graph is `throttled` and waits on a durable timer. A `throttleChanged` signal (the limit changed and
 * the slot moved) wakes it to ask for the slot again; so does the timer, which also catches a slot moved
 * later by a lowered limit. Cancelled before it started, the graph gives its slot back.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import type { TransformGraph } from '../../core/graph/graph.js';
import { stateKey } from '../search-attributes.js';
import { accountPriority } from '../scheduling.js';
import type { GraphRef } from '../activities/types.js';
import {
  graphCodeGeneration,
  graphStatusQuery,
  imagingActivityOptions,
  throttleChangedSignal,
} from './definitions.js';
import { isErrorCode } from '../../core/errors.js';
import { finalStateOf, type GraphOutcome, type GraphState } from '../../core/jobs/job-status.js';
import { graphEventData, graphEventType } from '../../core/webhooks/webhook-events.js';
import { emitWebhookEvent, webhookEventsPatch, webhooksTaskQueueBeside } from './webhook-events.js';
import { patchesByGeneration } from './patches.js';
import { giveThrottleSlotBack, recordGraphEnd, waitForThrottleSlot } from './graph-steps.js';

type Activities = ReturnType<typeof createActivities>;

export interface GraphWorkflowInput {
  accountId: string;
  index: number;
  /** Batch graphs are loaded by the activity from storage; triggered graphs come inline. */
  ref?: GraphRef;
  graph?: TransformGraph;
  /** "cat.jpg → 3 outputs", for the activity summary. */
  summary: string;
  imagingTaskQueue: string;
  /** False when the server runs without a throttle (PIXELSHIFT_THROTTLE=off); on by default. */
  throttle?: boolean;
  /** Where delivery workflows run; by default the webhooks queue beside this workflow's own queue. */
  webhooksTaskQueue?: string;
  /**
   * False when the batch found at its start that nobody would receive graph.* events (no enabled
   * subscription to one, no callbackUrl): the graph then skips the publishing activity. Absent (triggered
   * runs, batches started before `graphEventsOncePatch`): the graph always publishes.
   */
  graphEvents?: boolean;
  /** Triggered runs: the source revision their event named (see RunGraphInput). */
  sourceRevision?: string;
  /** Bucket events' runs: a source pixelshift wrote ends the run as `superseded` (see RunGraphInput). */
  skipGeneratedSource?: boolean;
  /** The `graphCodeGeneration` of the code that started the graph; absent in graphs started before it. */
  generation?: number;
}

/** The patch that introduced the throttle into graph runs. */
export const throttlePatch = 'throttle';
/** The patch after which a graph records on the read model the ends its imaging activity cannot see. */
export const readModelPatch = 'read-model';
/** The patch after which a failed graph is a failed workflow execution (Failed in the Temporal UI). */
export const failedGraphsFailPatch = 'failed-graphs-fail';

/** The patch that lets a run end as `superseded` when its source was replaced after its event. */
export const supersededPatch = 'superseded-source';

export async function graphWorkflow(input: GraphWorkflowInput): Promise<GraphOutcome> {
  const { workflowId } = workflowInfo();
  // See graphCodeGeneration: a graph started by current code has every patch below. A marker in the history
  // (an older worker ran this graph during a rollout) is still consumed through patched().
  const hasPatch = patchesByGeneration(input.generation, graphCodeGeneration);
  const outcome: GraphOutcome = { index: input.index, workflowId, state: 'queued', sinks: [], failures: [] };
  setHandler(graphStatusQuery, () => outcome);
  let throttleChanges = 0;
  setHandler(throttleChangedSignal, () => {
    throttleChanges += 1;
  });

  const moveTo = (state: GraphState, details: string) => {
    outcome.state = state;
    // A graph started as `running` (its batch has no throttle to pass) has no upsert to make at its start:
    // one history event and one visibility write fewer per graph. `throttled` is written each time, as
    // before, so that histories which waited twice replay unchanged; no other move repeats a state.
    if (state === 'throttled' || workflowInfo().typedSearchAttributes.get(stateKey) !== state) {
      upsertSearchAttributes([{ key: stateKey, value: state }]);
    }
    setCurrentDetails(details);
  };

  const { runGraph } = proxyActivities<Activities>({
    ...imagingActivityOptions,
    taskQueue: input.imagingTaskQueue,
    summary: `transform ${input.summary}`,
    // A batch's graphs come by reference, triggered runs inline.
    priority: accountPriority(input.accountId, input.ref ? 'requested' : 'triggered'),
  });

  const slotInput = { accountId: input.accountId, graphKey: workflowId };

  // True from the first reservation until the imaging starts: what a cancellation must give back.
  let holdsSlot = false;
  try {
    // Patched: histories recorded before the throttle existed replay without it (docs/architecture.md §7).
    if (input.throttle !== false && hasPatch(throttlePatch)) {
      holdsSlot = true;
      await waitForThrottleSlot(
        slotInput,
        () => throttleChanges,
        (slot) => {
          outcome.throttledUntil = slot.slotAt;
          moveTo('throttled', `waiting for throttle until ${clockTime(slot.slotAt)}`);
        },
      );
      delete outcome.throttledUntil;
    }
    if (CancellationScope.current().consideredCancelled) {
      throw new CancelledFailure('The graph was cancelled before it started');
    }
    holdsSlot = false;
    outcome.startedAt = new Date().toISOString();
    moveTo('running', `running: ${input.summary}`);
    const result = await runGraph({
      accountId: input.accountId,
      workflowId,
      ...(input.ref ? { ref: input.ref } : {}),
      ...(input.graph ? { graph: input.graph } : {}),
      // Without the throttle no reservation records the start; the activity does.
      ...(input.throttle === false && hasPatch(readModelPatch) ? { recordStart: true } : {}),
      ...(input.sourceRevision === undefined ? {} : { sourceRevision: input.sourceRevision }),
      ...(input.skipGeneratedSource ? { skipGeneratedSource: true } : {}),
    });
    outcome.sinks = result.sinks;
    outcome.failures = result.failures;
    // Patched: histories recorded before a run could be superseded replay as they ran. A superseded run
    // wrote nothing and announces nothing (graphEventType has no event for it).
    if (result.superseded && hasPatch(supersededPatch)) {
      moveTo('superseded', `superseded: ${result.superseded.reason}`);
    } else {
      const state = finalStateOf(result);
      moveTo(state, `${state}: ${result.sinks.length} written, ${result.failures.length} failed`);
    }
  } catch (error) {
    if (isCancellation(error)) {
      delete outcome.throttledUntil;
      // It never started: the slot goes back.
      if (holdsSlot) await giveThrottleSlotBack(slotInput);
      outcome.error = { code: 'cancelled', message: 'The graph was cancelled before it finished' };
      moveTo('cancelled', 'cancelled');
    } else {
      outcome.error = describeFailure(error);
      moveTo('failed', `failed: ${outcome.error.code}`);
    }
    // The imaging activity records the outcomes it returns; these ends it never returned. Patched:
    // histories recorded before the read model replay without the call (docs/architecture.md §7).
    if (hasPatch(readModelPatch)) {
      await recordGraphEnd({
        workflowId,
        state: outcome.state,
        ...(outcome.error ? { error: outcome.error } : {}),
      });
    }
  }
  outcome.finishedAt = new Date().toISOString();
  // Patched: histories recorded before webhook events existed replay without them (docs/architecture.md §7).
  const eventType = graphEventType(outcome.state);
  if (eventType && input.graphEvents !== false && hasPatch(webhookEventsPatch)) {
    const batchId = input.ref?.batchId;
    await emitWebhookEvent({
      accountId: input.accountId,
      type: eventType,
      batchId,
      data: graphEventData(input.accountId, outcome, batchId),
      webhooksTaskQueue: input.webhooksTaskQueue ?? webhooksTaskQueueBeside(workflowInfo().taskQueue),
    });
  }
  // A failed graph is a failed execution, so Temporal's own status and filters show it; the batch and
  // API callers read the outcome from the failure's details. Partial stays Completed.
  if (outcome.state === 'failed' && hasPatch(failedGraphsFailPatch)) {
    const failure = ApplicationFailure.create({
      type: failureTypeOf(outcome),
      message: outcome.error?.message ?? `Every output failed: ${outcome.failures[0]?.error.message ?? ''}`,
      nonRetryable: true,
      details: [outcome],
    });
    // A classified failure (a corrupt upload, a missing object) is expected, not a bug, and its stack would
    // only point at this line: it gets the one line `code: message` instead, which is also what the
    // worker's log receives of it from the workflow thread (runtime.ts). No command changes: replay-safe.
    if (isErrorCode(failure.type)) failure.stack = `${failure.type}: ${failure.message}`;
    throw failure;
  }
  return outcome;
}

/** The code a failed graph's execution fails with: its own error, or its first output's. */
function failureTypeOf(outcome: GraphOutcome): string {
  return outcome.error?.code ?? outcome.failures[0]?.error.code ?? 'internal';
}

/** `2025-01-02T14:05:03.120Z` → `14:05:03 UTC`, for the current details shown in the Temporal UI. */
function clockTime(iso: string): string {
  return `${iso.slice(11, 19)} UTC`;
}

/** The classified code travels as the ApplicationFailure type (set by the activity). */
export function describeFailure(error: unknown): NonNullable<GraphOutcome['error']> {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure && cause.type) {
    return { code: cause.type as NonNullable<GraphOutcome['error']>['code'], message: cause.message };
  }
  if (cause instanceof CancelledFailure) return { code: 'cancelled', message: 'The graph was cancelled' };
  return { code: 'internal', message: 'The graph failed for an internal reason; see the workflow history' };
}
