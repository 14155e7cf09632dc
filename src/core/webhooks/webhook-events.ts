/**
 * Webhook event types and the `data` of each payload (docs/architecture.md §11). Pure and free of Node built-ins:
 * workflows build the data from their outcomes, the publishing activity wraps it in the Standard
 * Webhooks envelope `{ type, timestamp, data }`.
 */
import type { BatchStatus, GraphOutcome } from '../jobs/job-status.js';

/** The event types a subscription subscribes to. */
export const webhookEventTypes = ['graph.succeeded', 'graph.failed', 'batch.completed'] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];

/** The types a graph emits (graphEventType); the rest are its batch's. */
export const graphEventTypes = [
  'graph.succeeded',
  'graph.failed',
] as const satisfies readonly WebhookEventType[];

/**
 * `webhook.test`: sent to one subscription on request (`POST /v1/webhooks/{id}/test`, the dashboard's
 * "send a test event"), whatever it subscribes to; nobody subscribes to it.
 */
export const webhookTestEventType = 'webhook.test';

/** Every type a delivery can carry. */
export const deliveredEventTypes = [...webhookEventTypes, webhookTestEventType] as const;
export type DeliveredEventType = (typeof deliveredEventTypes)[number];

export interface WebhookTestEventData {
  accountId: string;
  webhookId: string;
  message: string;
}

export interface GraphEventData {
  accountId: string;
  workflowId: string;
  /** Set for graphs of a batch; triggered runs (S3 rules, inbound hooks) have none. */
  batchId?: string;
  index?: number;
  state: GraphOutcome['state'];
  sinks: GraphOutcome['sinks'];
  failures: GraphOutcome['failures'];
  error?: GraphOutcome['error'];
  startedAt?: string;
  finishedAt?: string;
}

/** graph.succeeded for a graph that wrote every sink; graph.failed for failed and partial ones. */
export function graphEventType(state: GraphOutcome['state']): WebhookEventType | undefined {
  if (state === 'succeeded') return 'graph.succeeded';
  if (state === 'failed' || state === 'partial') return 'graph.failed';
  return undefined;
}

export function graphEventData(accountId: string, outcome: GraphOutcome, batchId?: string): GraphEventData {
  return {
    accountId,
    workflowId: outcome.workflowId,
    ...(batchId === undefined ? {} : { batchId, index: outcome.index }),
    state: outcome.state,
    sinks: outcome.sinks,
    failures: outcome.failures,
    ...(outcome.error ? { error: outcome.error } : {}),
    ...(outcome.startedAt ? { startedAt: outcome.startedAt } : {}),
    ...(outcome.finishedAt ? { finishedAt: outcome.finishedAt } : {}),
  };
}

export interface BatchGraphSummary {
  index: number;
  workflowId: string;
  state: GraphOutcome['state'];
  errorCode?: string;
  sinks?: GraphOutcome['sinks'];
  failures?: GraphOutcome['failures'];
}

export interface BatchCompletedData {
  accountId: string;
  batchId: string;
  workflowId: string;
  state: BatchStatus['state'];
  graphCount: number;
  counts: BatchStatus['counts'];
  createdAt: string;
  finishedAt?: string;
  /** Where the full status (every sink of every graph) can be read. */
  statusPath: string;
  /** Per-graph outcomes; sinks and failures only when they fit (`detail` says which). */
  graphs: BatchGraphSummary[];
  detail: 'full' | 'states';
}

/**
 * Keeps batch.completed far below payload limits at 1000 graphs: with sinks when the whole payload is
 * small, otherwise each graph's state and error code only (about 100 bytes a graph), plus the status link.
 */
export const maxBatchEventBytes = 128 * 1024;

export function batchCompletedData(status: BatchStatus): BatchCompletedData {
  const base = {
    accountId: status.accountId,
    batchId: status.batchId,
    workflowId: status.workflowId,
    state: status.state,
    graphCount: status.graphCount,
    counts: status.counts,
    createdAt: status.createdAt,
    ...(status.finishedAt ? { finishedAt: status.finishedAt } : {}),
    statusPath: `/v1/batches/${status.batchId}`,
  };
  const states = status.graphs.map((graph) => ({
    index: graph.index,
    workflowId: graph.workflowId,
    state: graph.state,
    ...(graph.error ? { errorCode: graph.error.code } : {}),
  }));
  const full: BatchCompletedData = {
    ...base,
    detail: 'full',
    graphs: status.graphs.map((graph, i) => ({
      ...states[i]!,
      sinks: graph.sinks,
      failures: graph.failures,
    })),
  };
  if (JSON.stringify(full).length <= maxBatchEventBytes) return full;
  return { ...base, detail: 'states', graphs: states };
}
