/**
 * The ports between the HTTP API and the durable engine, split by what callers need: each feature
 * depends only on the ones it uses. `temporal-orchestrator.ts` implements them all over Temporal, tests
 * use an in-memory fake.
 */
import type { TransformGraph } from '../graph/graph.js';
import type { BatchGraphsAs, GraphState } from './job-status.js';

export interface StartBatchInput {
  accountId: string;
  batchId: string;
  graphCount: number;
  callbackUrl?: string;
  /** Recorded with the batch at its submission; absent means `children`. */
  graphsAs?: BatchGraphsAs;
}

/** How a graph run outside a batch was started (docs/architecture.md §7 `PixelshiftTrigger`). */
export type RunTrigger = 's3' | 'webhook';

/** One graph started by an S3 event (a rule) or an inbound hook, with its graph inline. */
export interface StartGraphRunInput {
  accountId: string;
  /** The deduplication key (docs/architecture.md §7), e.g. `s3/<connection>/<bucket>/<key>/<sequencer>/<ruleId>`. */
  workflowId: string;
  trigger: RunTrigger;
  /** The rule or hook that started it (`PixelshiftTriggerId`). */
  triggerId: string;
  graph: TransformGraph;
  /**
   * The source revision the event named (ObjectInfo.revision: a file's revision, an ETag): a run that
   * finds another one ends as `superseded` instead of processing (or failing on) a different version.
   */
  sourceRevision?: string;
  /**
   * Set for bucket events' runs: pixelshift's outputs never trigger rules, and a run that finds its source
   * carries the generated mark ends as `superseded` without processing it. Ingest then needs no HEAD to
   * tell (docs/decisions.md, "The generated check").
   */
  skipGeneratedSource?: boolean;
}

export interface GraphRunQuery {
  accountId: string;
  trigger: RunTrigger;
  triggerId?: string;
  state?: GraphState;
  /** ISO times bounding the run's start. */
  startedAfter?: string;
  startedBefore?: string;
  pageSize: number;
  /** Opaque, from the previous page. */
  pageToken?: string;
}

export interface GraphRunSummary {
  workflowId: string;
  trigger: RunTrigger;
  triggerId: string;
  /** `bucket/key` of the source image. */
  source: string;
  state: GraphState;
  startedAt: string;
  closedAt?: string;
}

/**
 * Batches submitted through the API: start and cancel their workflows. Their status is read from the read
 * model (src/db/graph-runs.ts), never from the engine: reads must not wait for a free worker.
 */
export interface BatchJobs {
  /** Starts the batch workflow. Idempotent: a second call for the same batch starts nothing. */
  startBatch(input: StartBatchInput): Promise<{ workflowId: string }>;
  /** False when the batch does not exist; true when cancelled or already finished. */
  cancelBatch(accountId: string, batchId: string): Promise<boolean>;
}

/** Graph runs started by S3 events (rules) and inbound hooks, outside any batch. */
export interface TriggeredRuns {
  /**
   * Starts one triggered graph run. The workflow ID deduplicates: a second call with the same ID (a
   * redelivered event) starts nothing and reports `started: false`, even after the first run finished.
   */
  startGraphRun(input: StartGraphRunInput): Promise<{ workflowId: string; started: boolean }>;
}

export interface ThrottleSignals {
  /**
   * Tells graph workflows that their throttle slot moved (the account's limit changed), so that they
   * ask for it again. Workflows that have finished or do not exist are skipped.
   */
  notifyThrottleChanged(workflowIds: readonly string[]): Promise<void>;
}

export interface EngineReadiness {
  /** Throws when Temporal is unreachable (used by /readyz). */
  ping(): Promise<void>;
}

export interface WorkflowLinks {
  /** Temporal UI link for a workflow, when TEMPORAL_UI_URL is configured. */
  uiUrl(workflowId: string): string | undefined;
}

/** Everything the engine offers the API; only the wiring needs all of it, each feature names its own ports. */
export type JobEngine = BatchJobs & TriggeredRuns & ThrottleSignals & EngineReadiness & WorkflowLinks;

/** Starts a webhook delivery from outside a workflow (the redeliver endpoint). */
export interface StartDeliveryInput {
  accountId: string;
  workflowId: string;
  deliveryId: string;
  summary: string;
}

export interface DeliveryStarter {
  /** Starts the delivery once; false when a workflow with that ID already exists. */
  startDelivery(input: StartDeliveryInput): Promise<boolean>;
}
