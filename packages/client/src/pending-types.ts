/**
 * Shapes of the endpoints the dashboard added (batch listing, retry of failed graphs, test webhooks) and of
 * the session endpoints, declared here until the generated types carry them.
 */
import type { BatchStatus } from './generated/types.js';

/** One batch of `GET /v1/batches`. */
// replaced by generated type after merge
export interface BatchSummary {
  batchId: string;
  state: BatchStatus['state'];
  createdAt: string;
  finishedAt?: string;
  counts: BatchStatus['counts'];
  retryOf?: string;
  graphCount?: number;
}

/** A page of `GET /v1/batches`, newest first. */
// replaced by generated type after merge
export interface BatchList {
  batches: BatchSummary[];
  nextPageToken?: string | null;
}

/** The query of `GET /v1/batches`. */
// replaced by generated type after merge
export interface ListBatchesQuery {
  state?: BatchStatus['state'];
  /** A batch id or its prefix. */
  q?: string;
  pageSize?: number;
  pageToken?: string;
}

/** The answer of `POST /v1/webhooks/{id}/test`. */
// replaced by generated type after merge
export interface WebhookTestResponse {
  deliveryId: string;
}

/** A dashboard session: who is signed in, the CSRF token its changes carry, and when it ends. */
// replaced by generated type after merge
export interface DashboardSession {
  user: { id: string; email: string; accountId: string };
  csrfToken: string;
  expiresAt: string;
}
