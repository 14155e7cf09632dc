/**
 * What Temporal's own records say about batches and graph runs, for `pixelshift reconcile`
 * (docs/architecture.md §7.2): describes, results, failures and histories. An admin path, never a request
 * path: these calls may be many and slow, and none needs a free worker (no queries).
 */
import {
  WorkflowFailedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import { ApplicationFailure, fromPayloadsAtIndex, type PayloadConverter } from '@temporalio/common';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes.js';
import { optionalTsToDate } from '@temporalio/common/lib/time.js';
import type { temporal } from '@temporalio/proto';
import {
  finalStateOf,
  graphStates,
  graphWorkflowEndedError,
  type BatchState,
  type BatchStatus,
  type GraphOutcome,
  type GraphState,
  type SinkFailureOutcome,
  type SinkOutcome,
} from '../../core/jobs/job-status.js';
import type { RunTrigger } from '../../core/jobs/orchestrator-ports.js';
import type { GraphDescription, RunGraphResult } from '../activities/types.js';
import { graphWorkflowId } from '../../core/jobs/workflow-ids.js';
import {
  accountIdKey,
  batchIdKey,
  stateKey,
  triggerIdKey,
  triggerKey,
  visibilityLiteral,
} from '../search-attributes.js';
import type { BatchWorkflowInput } from '../workflows/batch.js';
import type { GraphWorkflowInput } from '../workflows/graph.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** A graph run as Temporal knows it: its current or final state and outcome. */
export interface GraphRecord {
  workflowId: string;
  state: GraphState;
  /** When the graph moved to `running` (its imaging started); absent when it never did. */
  startedAt?: Date | undefined;
  /** When it reached its final state; absent while it runs. */
  finishedAt?: Date | undefined;
  error?: GraphOutcome['error'];
  sinks: SinkOutcome[];
  failures: SinkFailureOutcome[];
}

/** A batch workflow as Temporal knows it. */
export interface BatchRecord {
  workflowId: string;
  accountId: string;
  batchId: string;
  startedAt: Date;
  /** How it ended; absent while it runs. */
  end?: { state: BatchState; at: Date } | undefined;
}

/** A triggered run's start, as its workflow was started (trigger, rule or hook, inline graph). */
export interface TriggeredRunRecord {
  workflowId: string;
  accountId: string;
  trigger: RunTrigger;
  triggerId: string;
  startedAt: Date;
}

const knownStates = new Set<string>(graphStates);

/** The batch workflow of a batch id, found by its search attribute (the account is not needed). */
export async function findBatchWorkflow(client: Client, batchId: string): Promise<string | undefined> {
  const query = `WorkflowType = 'batchWorkflow' AND ${batchIdKey.name} = ${visibilityLiteral(batchId)}`;
  for await (const execution of client.workflow.list({ query, pageSize: 1 })) return execution.workflowId;
  return undefined;
}

/**
 * Batch workflows and triggered graph runs started at or after `since`, oldest first (so that rebuilt rows
 * get their `seq` in the order the work started).
 */
export async function listWorkStartedSince(
  client: Client,
  since: Date,
): Promise<{ batches: string[]; triggeredRuns: TriggeredRunRecord[] }> {
  const startedSince = `StartTime >= ${visibilityLiteral(since.toISOString())}`;
  const oldestFirst = (a: WorkflowExecutionInfo, b: WorkflowExecutionInfo) =>
    a.startTime.getTime() - b.startTime.getTime() || a.workflowId.localeCompare(b.workflowId);
  const batches = await collect(client, `WorkflowType = 'batchWorkflow' AND ${startedSince}`);
  const runs = await collect(
    client,
    `WorkflowType = 'graphWorkflow' AND ${triggerKey.name} IN ('s3', 'webhook') AND ${startedSince}`,
  );
  return {
    batches: batches.sort(oldestFirst).map((execution) => execution.workflowId),
    triggeredRuns: runs.sort(oldestFirst).flatMap((execution) => {
      const accountId = execution.typedSearchAttributes.get(accountIdKey);
      const trigger = execution.typedSearchAttributes.get(triggerKey);
      if (!accountId || (trigger !== 's3' && trigger !== 'webhook')) return [];
      return [
        {
          workflowId: execution.workflowId,
          accountId,
          trigger,
          triggerId: execution.typedSearchAttributes.get(triggerIdKey) ?? '',
          startedAt: execution.startTime,
        },
      ];
    }),
  };
}

async function collect(client: Client, query: string): Promise<WorkflowExecutionInfo[]> {
  const executions: WorkflowExecutionInfo[] = [];
  for await (const execution of client.workflow.list({ query })) executions.push(execution);
  return executions;
}

/** The batch workflow's identity and, once it has closed, how it ended. */
export async function readBatch(client: Client, workflowId: string): Promise<BatchRecord | undefined> {
  const handle = client.workflow.getHandle(workflowId);
  const description = await describeOrUndefined(client, workflowId);
  if (!description) return undefined;
  const accountId = description.typedSearchAttributes.get(accountIdKey);
  const batchId = description.typedSearchAttributes.get(batchIdKey);
  if (!accountId || !batchId) return undefined;
  const record: BatchRecord = { workflowId, accountId, batchId, startedAt: description.startTime };
  const closedAt = description.closeTime ?? new Date();
  switch (description.status.name) {
    case 'RUNNING':
      return record;
    case 'COMPLETED': {
      const status = (await handle.result()) as BatchStatus;
      const at = status.finishedAt ? new Date(status.finishedAt) : closedAt;
      return { ...record, end: { state: status.state, at } };
    }
    case 'CANCELLED':
      return { ...record, end: { state: 'cancelled', at: closedAt } };
    default:
      // Failed, terminated or timed out: the batch never recorded an end of its own.
      return { ...record, end: { state: 'failed', at: closedAt } };
  }
}

export interface BatchHistory {
  input: BatchWorkflowInput;
  /** The graph sources its first activity described (absent when it never got that far). */
  sources: string[] | undefined;
  /**
   * For a batch that runs its graphs as activities: each graph whose imaging activity was scheduled, by
   * index, as the activity's events say. Absent for a batch of child workflows (read each child instead).
   */
  graphs?: Map<number, GraphRecord>;
}

/**
 * What only the batch's history holds, for rebuilding a batch row the database lost (the workflow's input:
 * graph count, callback URL, shape; the described sources) and, for a batch that runs its graphs as
 * activities, where each graph got to.
 */
export async function readBatchHistory(client: Client, workflowId: string): Promise<BatchHistory> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const input = startInput<BatchWorkflowInput>(client, events);
  const graphs =
    input.graphsAs === 'activities'
      ? graphActivityRecords(
          client.options.loadedDataConverter.payloadConverter,
          input.accountId,
          input.batchId,
          events,
        )
      : undefined;
  const described = events.find(
    (event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'describeBatchGraphs',
  );
  const completed = described
    ? events.find(
        (event) =>
          Number(event.activityTaskCompletedEventAttributes?.scheduledEventId) === Number(described.eventId),
      )
    : undefined;
  const payloads = completed?.activityTaskCompletedEventAttributes?.result?.payloads;
  const descriptions = payloads
    ? fromPayloadsAtIndex<GraphDescription[]>(
        client.options.loadedDataConverter.payloadConverter,
        0,
        payloads,
      )
    : undefined;
  return {
    input,
    sources: descriptions?.map((description) => description.source),
    ...(graphs ? { graphs } : {}),
  };
}

/**
 * Graphs run as activities (batch-graph-activity.ts). A batch that completed returns every graph's
 * outcome. While it runs, its imaging activities' events say where each graph got to: the activity
 * `graph-<index>` scheduled means the graph was running from that event's time; its completion carries
 * the outcome, its failure the classified error, its cancellation a cancelled graph.
 */
export function graphActivityRecords(
  payloadConverter: PayloadConverter,
  accountId: string,
  batchId: string,
  events: HistoryEvent[],
): Map<number, GraphRecord> {
  const completed = events.at(-1)?.workflowExecutionCompletedEventAttributes?.result?.payloads;
  if (completed) {
    const at = eventDate(events.at(-1));
    const status = fromPayloadsAtIndex<BatchStatus>(payloadConverter, 0, completed);
    return new Map(status.graphs.map((outcome) => [outcome.index, fromOutcome(outcome, at)]));
  }
  const byScheduledEvent = new Map<number, GraphRecord>();
  const records = new Map<number, GraphRecord>();
  for (const event of events) {
    const at = eventDate(event);
    const scheduled = event.activityTaskScheduledEventAttributes;
    const index = scheduled ? graphIndexOfActivity(scheduled.activityId) : undefined;
    if (scheduled && index !== undefined) {
      const workflowId = graphWorkflowId(accountId, batchId, index);
      const record: GraphRecord = { workflowId, state: 'running', startedAt: at, sinks: [], failures: [] };
      records.set(index, record);
      byScheduledEvent.set(Number(event.eventId), record);
      continue;
    }
    const close =
      event.activityTaskCompletedEventAttributes ??
      event.activityTaskFailedEventAttributes ??
      event.activityTaskTimedOutEventAttributes ??
      event.activityTaskCanceledEventAttributes;
    const record = close ? byScheduledEvent.get(Number(close.scheduledEventId)) : undefined;
    if (!record) continue;
    record.finishedAt = at;
    const payloads = event.activityTaskCompletedEventAttributes?.result?.payloads;
    if (payloads) {
      const result = fromPayloadsAtIndex<RunGraphResult>(payloadConverter, 0, payloads);
      record.sinks = result.sinks;
      record.failures = result.failures;
      record.state = finalStateOf(result);
    } else if (event.activityTaskCanceledEventAttributes) {
      record.state = 'cancelled';
      record.error = { code: 'cancelled', message: 'The graph was cancelled before it finished' };
    } else {
      const failure = event.activityTaskFailedEventAttributes?.failure;
      const code = failure?.applicationFailureInfo?.type;
      record.state = 'failed';
      record.error =
        code && failure?.message
          ? { code: code as NonNullable<GraphOutcome['error']>['code'], message: failure.message }
          : { ...graphWorkflowEndedError };
    }
  }
  return records;
}

/** An event's time; its seconds are a Long from the server and a number from a history's JSON. */
function eventDate(event: HistoryEvent | undefined): Date {
  const time = event?.eventTime;
  if (!time) return new Date();
  return new Date(Number(time.seconds ?? 0) * 1000 + Math.round((time.nanos ?? 0) / 1e6));
}

function graphIndexOfActivity(activityId: string | null | undefined): number | undefined {
  const match = /^graph-(\d+)$/.exec(activityId ?? '');
  return match ? Number(match[1]) : undefined;
}

/** The input a graph workflow was started with (a triggered run's inline graph). */
export async function readGraphInput(client: Client, workflowId: string): Promise<GraphWorkflowInput> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  return startInput<GraphWorkflowInput>(client, events);
}

function startInput<T>(client: Client, events: HistoryEvent[]): T {
  const payloads = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
  if (!payloads) throw new Error('The workflow history has no start event');
  return fromPayloadsAtIndex<T>(client.options.loadedDataConverter.payloadConverter, 0, payloads);
}

/**
 * A graph run's state: its outcome once closed (the result, or the outcome a failed graph carries in its
 * failure), else where it is now. Undefined when no such workflow exists (a batch graph not started yet).
 */
export async function readGraph(client: Client, workflowId: string): Promise<GraphRecord | undefined> {
  const description = await describeOrUndefined(client, workflowId);
  if (!description) return undefined;
  const closedAt = description.closeTime ?? new Date();
  switch (description.status.name) {
    case 'RUNNING':
      return readRunningGraph(client, description);
    case 'COMPLETED':
      return fromOutcome((await client.workflow.getHandle(workflowId).result()) as GraphOutcome, closedAt);
    case 'FAILED': {
      const outcome = await failedOutcome(client, workflowId);
      if (outcome) return fromOutcome(outcome, closedAt);
      return ended(workflowId, 'failed', graphWorkflowEndedError, closedAt);
    }
    case 'CANCELLED':
      return ended(
        workflowId,
        'cancelled',
        { code: 'cancelled', message: 'The graph was cancelled before it finished' },
        closedAt,
      );
    default:
      return ended(workflowId, 'failed', graphWorkflowEndedError, closedAt);
  }
}

function ended(
  workflowId: string,
  state: GraphState,
  error: NonNullable<GraphOutcome['error']>,
  at: Date,
): GraphRecord {
  return { workflowId, state, error: { ...error }, finishedAt: at, sinks: [], failures: [] };
}

function fromOutcome(outcome: GraphOutcome, closedAt: Date): GraphRecord {
  return {
    workflowId: outcome.workflowId,
    state: outcome.state,
    ...(outcome.startedAt ? { startedAt: new Date(outcome.startedAt) } : {}),
    finishedAt: outcome.finishedAt ? new Date(outcome.finishedAt) : closedAt,
    ...(outcome.error ? { error: outcome.error } : {}),
    sinks: outcome.sinks,
    failures: outcome.failures,
  };
}

/** A failed graph's outcome travels in its failure's details (graph.ts, `failedGraphsFailPatch`). */
async function failedOutcome(client: Client, workflowId: string): Promise<GraphOutcome | undefined> {
  try {
    await client.workflow.getHandle(workflowId).result();
  } catch (error) {
    if (error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure) {
      const [outcome] = (error.cause.details ?? []) as [GraphOutcome | undefined];
      if (outcome && typeof outcome.state === 'string' && Array.isArray(outcome.sinks)) return outcome;
    }
  }
  return undefined;
}

/**
 * A running graph: its state is the search attribute it keeps up to date; when it moved to `running` is
 * the time of the history event that set it, or its start when it started as `running` (a query would
 * need a free worker).
 */
async function readRunningGraph(
  client: Client,
  description: WorkflowExecutionDescription,
): Promise<GraphRecord> {
  const { workflowId } = description;
  const current = description.typedSearchAttributes.get(stateKey) ?? 'queued';
  const state: GraphState = knownStates.has(current) ? (current as GraphState) : 'queued';
  const record: GraphRecord = { workflowId, state, sinks: [], failures: [] };
  if (state !== 'running') return record;
  // A graph started as `running` (no throttle) has no upsert event: it has run since its start.
  record.startedAt = description.startTime;
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  for (const event of events) {
    const fields = event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
    if (fields && decodeTypedSearchAttributes(fields).get(stateKey) === 'running') {
      record.startedAt = optionalTsToDate(event.eventTime) ?? description.startTime;
    }
  }
  return record;
}

async function describeOrUndefined(
  client: Client,
  workflowId: string,
): Promise<WorkflowExecutionDescription | undefined> {
  try {
    return await client.workflow.getHandle(workflowId).describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
}
