/**
 * One Transform Graph run. Thin: it names the work for operators, runs the imaging activity,
 * and turns the outcome (or the classified failure) into a GraphOutcome.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import type { TransformGraph } from '../graph/graph.js';
import { stateKey } from '../temporal/search-attributes.js';
import type { GraphRef } from '../activities/types.js';
import { graphStatusQuery, imagingActivityOptions } from './definitions.js';
import type { GraphOutcome, GraphState } from './status.js';

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
}

export async function graphWorkflow(input: GraphWorkflowInput): Promise<GraphOutcome> {
  const { workflowId } = workflowInfo();
  const outcome: GraphOutcome = { index: input.index, workflowId, state: 'queued', sinks: [], failures: [] };
  setHandler(graphStatusQuery, () => outcome);

  const moveTo = (state: GraphState, details: string) => {
    outcome.state = state;
    upsertSearchAttributes([{ key: stateKey, value: state }]);
    setCurrentDetails(details);
  };

  const { runGraph } = proxyActivities<Activities>({
    ...imagingActivityOptions,
    taskQueue: input.imagingTaskQueue,
    summary: `transform ${input.summary}`,
  });

  outcome.startedAt = new Date().toISOString();
  moveTo('running', `running: ${input.summary}`);
  try {
    const result = await runGraph({
      accountId: input.accountId,
      workflowId,
      ...(input.ref ? { ref: input.ref } : {}),
      ...(input.graph ? { graph: input.graph } : {}),
    });
    outcome.sinks = result.sinks;
    outcome.failures = result.failures;
    const state: GraphState =
      result.failures.length === 0 ? 'succeeded' : result.sinks.length ? 'partial' : 'failed';
    moveTo(state, `${state}: ${result.sinks.length} written, ${result.failures.length} failed`);
  } catch (error) {
    if (isCancellation(error)) {
      outcome.error = { code: 'cancelled', message: 'The graph was cancelled before it finished' };
      moveTo('cancelled', 'cancelled');
    } else {
      outcome.error = describeFailure(error);
      moveTo('failed', `failed: ${outcome.error.code}`);
    }
  }
  outcome.finishedAt = new Date().toISOString();
  return outcome;
}

/** The classified code travels as the ApplicationFailure type (set by the activity). */
function describeFailure(error: unknown): NonNullable<GraphOutcome['error']> {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure && cause.type) {
    return { code: cause.type as NonNullable<GraphOutcome['error']>['code'], message: cause.message };
  }
  if (cause instanceof CancelledFailure) return { code: 'cancelled', message: 'The graph was cancelled' };
  return { code: 'internal', message: 'The graph failed for an internal reason; see the workflow history' };
}
