/**
 * Short names for the shapes of the batch listing, the webhook test event and the dashboard session, taken
 * from the types generated from the OpenAPI document (so they cannot drift from the server).
 */
import type { ListBatchesData, WebhookTestDelivery } from './generated/types.js';

export type { BatchList, BatchSummary, DashboardSession } from './generated/types.js';

/** The query of `GET /v1/batches`. */
export type ListBatchesQuery = NonNullable<ListBatchesData['query']>;

/** The answer of `POST /v1/webhooks/{id}/test`. */
export type WebhookTestResponse = WebhookTestDelivery;
