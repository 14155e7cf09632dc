/**
 * A batch: runs its graphs through a bounded window, as child workflows or, when its input says so
 * (PIXELSHIFT_BATCH_GRAPHS=activities), as imaging activities of its own (batch-graph-activity.ts); keeps
 * their outcomes for the status query, and returns the final BatchStatus. Cancelling it cancels the
 * running graphs and records every unfinished graph as cancelled.
 */
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  executeChild,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import type { GraphDescription } from '../activities/types.js';
import { accountIdKey, batchIdKey, sourceKey, stateKey, triggerKey } from '../search-attributes.js';
import {
  batchCodeGeneration,
  batchStatusQuery,
  graphCodeGeneration,
  maxConcurrentGraphsPerBatch,
  orchestrationActivityOptions,
  recordStateActivityOptions,
  throttleChangedSignal,
} from './definitions.js';
import { runGraphAsActivity } from './batch-graph-activity.js';
import { graphWorkflow, readModelPatch } from './graph.js';
import { accountPriority } from '../scheduling.js';
import { graphWorkflowId } from '../../core/jobs/workflow-ids.js';
import { batchCompletedData } from '../../core/webhooks/webhook-events.js';
import { emitWebhookEvent, webhookEventsPatch, webhooksTaskQueueBeside } from './webhook-events.js';
import { patchesByGeneration } from './patches.js';
import {
  emptyCounts,
  graphWorkflowEndedError,
  type BatchState,
  type BatchStatus,
  type GraphOutcome,
} from '../../core/jobs/job-status.js';

type Activities = ReturnType<typeof createActivities>;

/** The patch after which a batch asks once whether anyone wants its graphs' graph.* events. */
export const graphEventsOncePatch = 'graph-events-once';

export interface BatchWorkflowInput {
  accountId: string;
  batchId: string;
  graphCount: number;
  imagingTaskQueue: string;
  callbackUrl?: string;
  /** False when the server runs without a throttle (PIXELSHIFT_THROTTLE=off); on by default. */
  throttle?: boolean;
  /** Where delivery workflows run; by default the webhooks queue beside this workflow's own queue. */
  webhooksTaskQueue?: string;
  /** The generation of the code that started the batch (`batchCodeGeneration`); absent before it existed. */
  generation?: number;
  /**
   * `activities`: each graph runs as an imaging activity of this workflow instead of a child workflow
   * (PIXELSHIFT_BATCH_GRAPHS, batch-graph-activity.ts). Absent: a child workflow per graph, as batches
   * started before the setting existed did.
   */
  graphsAs?: 'activities';
}

export async function batchWorkflow(input: BatchWorkflowInput): Promise<BatchStatus> {
  const info = workflowInfo();
  // See batchCodeGeneration: a batch started by current code has every patch below without asking.
  const hasPatch = patchesByGeneration(input.generation, batchCodeGeneration);
  const graphs: GraphOutcome[] = Array.from({ length: input.graphCount }, (_, index) => ({
    index,
    workflowId: graphWorkflowId(input.accountId, input.batchId, index),
    state: 'queued',
    sinks: [],
    failures: [],
  }));
  const status: BatchStatus = {
    accountId: input.accountId,
    batchId: input.batchId,
    workflowId: info.workflowId,
    state: 'running',
    graphCount: input.graphCount,
    counts: emptyCounts(),
    graphs,
    createdAt: info.startTime.toISOString(),
  };
  // Counts are derived on read so they can never drift from the per-graph outcomes.
  setHandler(batchStatusQuery, () => ({ ...status, counts: countStates(graphs) }));
  // A limit change wakes the graphs this batch runs as activities (their throttle slots are keyed by their
  // graph IDs, which name no execution). A handler adds no command, so older histories replay unchanged.
  let throttleChanges = 0;
  setHandler(throttleChangedSignal, () => {
    throttleChanges += 1;
  });

  const { describeBatchGraphs } = proxyActivities<Activities>({
    ...orchestrationActivityOptions,
    summary: `read the ${input.graphCount} graph summaries`,
  });
  const descriptions = await describeBatchGraphs({
    accountId: input.accountId,
    batchId: input.batchId,
    graphCount: input.graphCount,
  });

  const { recordGraphRun, recordBatchEnd } = proxyLocalActivities<Activities>({
    ...recordStateActivityOptions,
    summary: 'record on the read model',
  });
  // Asked once per batch rather than one publishing activity per graph: a batch nobody listens to saves
  // an activity (three history events, a workflow task) per graph. Patched: older histories replay
  // without the call, and their graphs publish as they did.
  let graphEvents = true;
  if (hasPatch(graphEventsOncePatch)) {
    const { graphEventsWanted } = proxyLocalActivities<Activities>({
      ...recordStateActivityOptions,
      summary: 'does anyone want graph events',
    });
    graphEvents = await graphEventsWanted({ accountId: input.accountId, batchId: input.batchId });
  }

  let finished = 0;
  // Set when the batch itself is cancelled: children may then finish normally with a 'cancelled' outcome.
  const cancelRequested = () => CancellationScope.current().consideredCancelled;
  let next = 0;
  const webhooksTaskQueue = input.webhooksTaskQueue ?? webhooksTaskQueueBeside(info.taskQueue);
  const asActivities = {
    accountId: input.accountId,
    batchId: input.batchId,
    imagingTaskQueue: input.imagingTaskQueue,
    throttle: input.throttle !== false,
    graphEvents,
    webhooksTaskQueue,
    throttleChanges: () => throttleChanges,
  };
  const runGraphAsChild = async (description: GraphDescription) => {
    const slot = graphs[description.index]!;
    slot.state = 'running';
    try {
      const outcome = await executeChild(graphWorkflow, {
        workflowId: slot.workflowId,
        args: [
          {
            accountId: input.accountId,
            index: description.index,
            ref: { accountId: input.accountId, batchId: input.batchId, index: description.index },
            summary: description.summary,
            imagingTaskQueue: input.imagingTaskQueue,
            ...(input.throttle === false ? { throttle: false } : {}),
            ...(input.webhooksTaskQueue ? { webhooksTaskQueue: input.webhooksTaskQueue } : {}),
            ...(graphEvents ? {} : { graphEvents: false }),
            generation: graphCodeGeneration,
          },
        ],
        staticSummary: description.summary,
        staticDetails: `Graph ${description.index} of batch ${input.batchId} (account ${input.accountId})`,
        typedSearchAttributes: [
          { key: accountIdKey, value: input.accountId },
          { key: batchIdKey, value: input.batchId },
          { key: triggerKey, value: 'api' },
          { key: sourceKey, value: description.source },
          // Without a throttle nothing holds a started graph back: it is running from its start.
          { key: stateKey, value: input.throttle === false ? 'running' : 'queued' },
        ],
        // A graph ID runs once: a replayed or retried batch never starts a graph twice.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        priority: accountPriority(input.accountId, 'requested'),
      });
      graphs[description.index] = outcome;
    } catch (error) {
      const reported = reportedOutcome(error);
      if (reported) {
        graphs[description.index] = reported;
      } else if (isCancellation(error)) {
        graphs[description.index] = {
          ...slot,
          state: 'cancelled',
          error: { code: 'cancelled', message: 'The batch was cancelled' },
        };
      } else {
        const failed: GraphOutcome = {
          ...slot,
          state: 'failed',
          error: { ...graphWorkflowEndedError },
        };
        graphs[description.index] = failed;
        // The graph never recorded this end (it was terminated, or failed outside its own code).
        if (hasPatch(readModelPatch)) {
          await CancellationScope.nonCancellable(() =>
            recordGraphRun({ workflowId: failed.workflowId, state: 'failed', error: failed.error }),
          );
        }
      }
    }
  };
  const runGraph = async (description: GraphDescription) => {
    if (input.graphsAs === 'activities') {
      await runGraphAsActivity(asActivities, description, graphs[description.index]!);
    } else {
      await runGraphAsChild(description);
    }
    finished += 1;
    setCurrentDetails(`${finished} of ${input.graphCount} graphs finished`);
  };

  const lane = async () => {
    while (!cancelRequested() && next < descriptions.length) {
      const description = descriptions[next++]!;
      await runGraph(description);
    }
  };
  setCurrentDetails(`0 of ${input.graphCount} graphs finished`);
  await Promise.all(Array.from({ length: Math.min(maxConcurrentGraphsPerBatch, descriptions.length) }, lane));

  const cancelled = cancelRequested();
  if (cancelled) {
    for (const graph of graphs) {
      if (graph.state === 'queued' || graph.state === 'running') {
        graph.state = 'cancelled';
        graph.error = { code: 'cancelled', message: 'The batch was cancelled before this graph ran' };
      }
    }
  }
  status.counts = countStates(graphs);
  status.state = cancelled ? 'cancelled' : finalState(status.counts, input.graphCount);
  status.finishedAt = new Date().toISOString();
  upsertSearchAttributes([{ key: stateKey, value: status.state }]);
  // Also ends the graphs a cancelled batch never started. Patched: older histories replay without it.
  if (hasPatch(readModelPatch)) {
    const end = { batchId: input.batchId, state: status.state };
    await CancellationScope.nonCancellable(() => recordBatchEnd(end));
  }
  setCurrentDetails(
    `${status.state}: ${status.counts.succeeded} succeeded, ${status.counts.partial} partial, ${status.counts.failed} failed`,
  );
  // Patched: histories recorded before webhook events existed replay without them. Each graph announced
  // its own outcome (graph.*); the batch announces only that it completed.
  if (hasPatch(webhookEventsPatch)) {
    await emitWebhookEvent({
      accountId: input.accountId,
      type: 'batch.completed',
      batchId: input.batchId,
      data: batchCompletedData(status),
      webhooksTaskQueue,
    });
  }
  return status;
}

/** A graph that failed reports its outcome in the failure's details (graph.ts, `failedGraphsFailPatch`). */
function reportedOutcome(error: unknown): GraphOutcome | undefined {
  if (!(error instanceof ChildWorkflowFailure) || !(error.cause instanceof ApplicationFailure))
    return undefined;
  const [outcome] = error.cause.details ?? [];
  return isGraphOutcome(outcome) ? outcome : undefined;
}

function isGraphOutcome(value: unknown): value is GraphOutcome {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as GraphOutcome).workflowId === 'string' &&
    typeof (value as GraphOutcome).state === 'string' &&
    Array.isArray((value as GraphOutcome).sinks)
  );
}

function countStates(graphs: readonly GraphOutcome[]): BatchStatus['counts'] {
  const counts = emptyCounts();
  for (const graph of graphs) counts[graph.state] += 1;
  return counts;
}

function finalState(counts: BatchStatus['counts'], total: number): BatchState {
  if (counts.succeeded === total) return 'succeeded';
  if (counts.failed + counts.cancelled === total) return 'failed';
  return 'partial';
}
