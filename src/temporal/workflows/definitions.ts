/**
 * Everything workflows and their callers share: signal/query names, timeouts and retry policies.
 * One place, so a change of policy is one edit (docs/architecture.md §7).
 */
import {
  defineQuery,
  defineSignal,
  type ActivityOptions,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import { nonRetryableCodes } from '../../core/errors.js';
import { defaultRetryScheduleMs } from '../../core/webhooks/webhook-retry.js';
import type { BatchStatus, GraphOutcome } from '../../core/jobs/job-status.js';

export const batchStatusQuery = defineQuery<BatchStatus>('batchStatus');
export const graphStatusQuery = defineQuery<GraphOutcome>('graphStatus');
/** The account's limit changed and this graph's slot moved: ask for the slot again (docs/architecture.md §9). */
export const throttleChangedSignal = defineSignal('throttleChanged');

/** Graph workflows a batch keeps running at once; the worker's imaging slots bound the real work. */
export const maxConcurrentGraphsPerBatch = 100;

/** Light activities on the orchestration queue (database reads). */
export const orchestrationActivityOptions: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
};

/**
 * Reserving a throttle slot (a local activity): one short transaction, so a stuck call is cut off
 * quickly. Never gives up: a graph waits for the database rather than failing for it (work is never lost).
 */
export const throttleReserveActivityOptions: LocalActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

/**
 * Recording a state change on the read model (a local activity): one short statement. Never gives up, like
 * the reservation: a status read must end right, so the workflow waits for the database instead.
 */
export const recordStateActivityOptions: LocalActivityOptions = throttleReserveActivityOptions;

/** Giving a slot back on cancellation: best effort (a lost release only costs one slot in one window). */
export const throttleReleaseActivityOptions: LocalActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 5 },
};

/**
 * The imaging activity. Large images take long, so liveness is judged by heartbeats, not by the total:
 * a worker that dies is noticed within the heartbeat timeout and the work is handed to another.
 */
export const imagingActivityOptions: ActivityOptions = {
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '10 seconds',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    maximumAttempts: 8,
    // Only retryable classes (`transient`) are retried; every other one fails the graph at once.
    nonRetryableErrorTypes: [...nonRetryableCodes],
  },
};

/** How often the imaging activity heartbeats while it works (well inside heartbeatTimeout). */
export const imagingHeartbeatIntervalMs = 2_000;

// ---- webhooks (docs/architecture.md §11)

/**
 * The retry delays of deliveries started before they read the webhooks worker's configured schedule
 * (`retryScheduleFromConfigPatch`): the default one, about three days in all.
 */
export const builtInDeliveryRetryScheduleMs: readonly number[] = defaultRetryScheduleMs();

/** Reading the configured schedule: a local activity that only copies a value. */
export const retryScheduleActivityOptions: LocalActivityOptions = {
  startToCloseTimeout: '10 seconds',
};

/** Time for one HTTP attempt of a delivery (the activity also applies it as the request's own timeout). */
export const deliveryAttemptTimeoutMs = 15_000;

/**
 * One delivery attempt. Not retried by Temporal: the delivery workflow owns the schedule, and a failed
 * activity counts as one failed attempt.
 */
export const deliveryAttemptActivityOptions: ActivityOptions = {
  startToCloseTimeout: deliveryAttemptTimeoutMs + 30_000,
  retry: { maximumAttempts: 1 },
};

/** Storing an event and its deliveries: retried like other database work. */
export const publishEventActivityOptions: ActivityOptions = orchestrationActivityOptions;

/**
 * The generation of graph code that starts graphs now (batch.ts, temporal-orchestrator.ts). A graph started
 * with it was started by code that has every patch of graph.ts, so it takes the patched paths without
 * asking `patched()`: the first time a patch is asked, the SDK records a marker and upserts the
 * TemporalChangeVersion search attribute, two history events and a visibility write per graph for a
 * question whose answer is known at its start (docs/performance-log.md, "the third cut"). Graphs started
 * without a generation ask as they always did, so their histories replay unchanged. A later change to this
 * workflow adds a `patched()` call of its own, as before; bumping the generation would let new graphs skip
 * that one too.
 */
export const graphCodeGeneration = 1;

/**
 * The generation of batch code that starts batches now (temporal-orchestrator.ts): a batch started with it
 * takes the patched paths of batch.ts (graph events asked once, the read model, webhook events) without
 * asking `patched()`. Besides six history events per batch, this keeps the batch clear of a replay fault of
 * the SDK: when a status query is answered in the workflow task that ran a local activity, the SDK ends
 * that task with the activity's marker and hands the result to the code in the next task, but a replay
 * hands it over in the first; a `patched()` asked right after the activity (the webhook-events patch, after
 * the batch's end is recorded) then runs before the SDK has seen the marker in the next task, answers no,
 * and the replay fails as non-deterministic (docs/decisions.md). Batches started without a generation ask
 * as before.
 */
export const batchCodeGeneration = 1;
