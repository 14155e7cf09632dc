/**
 * The port between the HTTP API and the durable engine. The API depends on this interface only;
 * `temporal-orchestrator.ts` implements it over Temporal, tests use an in-memory fake.
 */
import type { BatchStatus, GraphOutcome } from '../workflows/status.js';

export interface StartBatchInput {
  accountId: string;
  batchId: string;
  graphCount: number;
  callbackUrl?: string;
}

export interface BatchOrchestrator {
  /** Starts the batch workflow. Idempotent: a second call for the same batch starts nothing. */
  startBatch(input: StartBatchInput): Promise<{ workflowId: string }>;
  /** Undefined when no such batch exists for this account. */
  getBatchStatus(accountId: string, batchId: string): Promise<BatchStatus | undefined>;
  getGraphStatus(accountId: string, batchId: string, index: number): Promise<GraphOutcome | undefined>;
  /** False when the batch does not exist; true when cancelled or already finished. */
  cancelBatch(accountId: string, batchId: string): Promise<boolean>;
  /**
   * Tells graph workflows that their throttle slot moved (the account's limit changed), so that they
   * ask for it again. Workflows that have finished or do not exist are skipped.
   */
  notifyThrottleChanged(workflowIds: readonly string[]): Promise<void>;
  /** Temporal UI link for a workflow, when TEMPORAL_UI_URL is configured. */
  uiUrl(workflowId: string): string | undefined;
  /** Throws when Temporal is unreachable (used by /readyz). */
  ping(): Promise<void>;
}
