/**
 * Submitting a batch (docs/architecture.md §3, §7, §8): validate every graph, check storage access, store the graphs,
 * start the batch workflow. A batch is accepted whole or refused whole, and nothing is stored or started
 * for a refused one.
 *
 * Idempotency-Key: the key is claimed in the same transaction that stores the batch, so concurrent
 * duplicates end up with one batch. Its response is recorded only after the workflow started; until then a
 * retry with the same key (after a 503, say) starts the stored batch again, which is safe because
 * starting is idempotent by workflow ID.
 */
import type { Logger } from 'pino';
import type { Config } from '../../core/config.js';
import type { Db } from '../../db/database.js';
import { getBatch, insertBatch, markBatchStarted } from '../../db/batches.js';
import { claimIdempotencyKey, getIdempotencyRecord, saveIdempotentResponse } from '../../db/idempotency.js';
import { newBatchId } from '../../core/ids.js';
import type { BatchRow } from '../../db/schema.js';
import { validateBatch, type BatchInput } from '../../core/graph/index.js';
import type { BatchJobs, WorkflowLinks } from '../../core/jobs/orchestrator-ports.js';
import { ApiError, invalidGraph } from '../../api/api-error.js';
import { hashCanonicalJson } from '../../core/canonical-json.js';
import { callOrchestrator } from '../../api/orchestrator-call.js';
import type { ThrottleOutlook } from '../../api/schemas.js';
import { batchStartReportResponseSchema, type BatchStartReportResponse } from './batches.schemas.js';
import { OUTBOUND_ADDRESS_REFUSED } from '../../core/net/address-policy.js';
import { outboundAddressPolicy } from '../../core/net/own-api-address.js';
import { refusedOutboundUrl } from '../../core/webhooks/webhook-url-policy.js';
import { assertStorageAccess } from './storage-access.js';
import { submissionOutlook } from '../account/throttle-view.js';

export interface SubmitBatchDeps {
  db: Db;
  orchestrator: Pick<BatchJobs, 'startBatch'> & WorkflowLinks;
  config: Config;
  logger?: Logger | undefined;
}

export interface SubmitBatchRequest {
  accountId: string;
  /** Validated by `parseBatch`. */
  batch: BatchInput;
  idempotencyKey?: string | undefined;
  /** Set by retry-failed: the batch whose failed graphs `batch` holds (recorded, shown as `retryOf`). */
  retryOf?: string | undefined;
}

export interface SubmitBatchResult {
  response: BatchStartReportResponse;
  /** True when an earlier request with the same Idempotency-Key created the batch. */
  replayed: boolean;
}

/** A batch body checked by every rule of the graph contract, or a 422 `invalid_graph` with each issue. */
export function parseBatch(config: Pick<Config, 'imaging'>, body: unknown): BatchInput {
  const validated = validateBatch(body, { maxPixels: config.imaging.maxInputPixels });
  if (!validated.ok) throw invalidGraph(validated.error);
  return validated.value;
}

export async function submitBatch(
  deps: SubmitBatchDeps,
  request: SubmitBatchRequest,
): Promise<SubmitBatchResult> {
  const input = request.batch;
  // Plainly internal callback targets are refused now; every attempt re-checks the resolved address.
  const refused =
    input.callbackUrl === undefined
      ? undefined
      : refusedOutboundUrl(input.callbackUrl, outboundAddressPolicy(deps.config));
  if (refused !== undefined) {
    throw invalidGraph([
      { path: '/callbackUrl', code: OUTBOUND_ADDRESS_REFUSED, message: `callbackUrl: ${refused}` },
    ]);
  }
  assertStorageAccess(
    input.graphs.map((graph, index) => ({ graph, base: ['graphs', index] })),
    deps.config.storage,
    request.accountId,
  );

  const stored = await storeBatch(deps, request, input);
  if (stored.savedResponse) return { response: stored.savedResponse, replayed: true };

  // Before the start: once started, the batch's own graphs begin to reserve and would be counted twice.
  const throttle = await submissionOutlook(deps, request.accountId, stored.batch.graphCount);
  const { workflowId } = await callOrchestrator(
    'start the batch',
    () =>
      deps.orchestrator.startBatch({
        accountId: request.accountId,
        batchId: stored.batch.id,
        graphCount: stored.batch.graphCount,
        ...(stored.batch.callbackUrl === null ? {} : { callbackUrl: stored.batch.callbackUrl }),
        // The row's shape, not the setting's now: a retried submission starts what was recorded.
        graphsAs: stored.batch.graphsAs,
      }),
    deps.logger,
  );
  await markBatchStarted(deps.db, stored.batch.id);
  const response = startReport(deps, stored.batch, workflowId, throttle);
  if (request.idempotencyKey !== undefined) {
    await saveIdempotentResponse(deps.db, request.accountId, request.idempotencyKey, response);
  }
  return { response, replayed: stored.replayed };
}

interface StoredBatch {
  batch: BatchRow;
  replayed: boolean;
  /** The response recorded for this Idempotency-Key once its batch had started. */
  savedResponse?: BatchStartReportResponse;
}

async function storeBatch(
  deps: Pick<SubmitBatchDeps, 'db' | 'config'>,
  request: SubmitBatchRequest,
  input: BatchInput,
): Promise<StoredBatch> {
  const { db } = deps;
  const { accountId, idempotencyKey, retryOf } = request;
  const newBatch = {
    batchId: newBatchId(),
    accountId,
    graphs: input.graphs,
    callbackUrl: input.callbackUrl,
    retryOf,
    graphsAs: deps.config.batches.graphsAs,
  };
  if (idempotencyKey === undefined) return { batch: await insertBatch(db, newBatch), replayed: false };

  // A retry's request is "retry the failed graphs of that batch": never equal to a submitted body, so
  // one key cannot stand for both.
  const requestHash = hashCanonicalJson(retryOf === undefined ? input : { retryFailedOf: retryOf });
  const created = await db.transaction(async (tx) => {
    const claimed = await claimIdempotencyKey(tx, {
      accountId,
      key: idempotencyKey,
      requestHash,
      batchId: newBatch.batchId,
    });
    return claimed ? insertBatch(tx, newBatch) : undefined;
  });
  if (created) return { batch: created, replayed: false };

  const record = await getIdempotencyRecord(db, accountId, idempotencyKey);
  const batch = record && (await getBatch(db, accountId, record.batchId));
  if (!record || !batch)
    throw new Error(`idempotency record ${idempotencyKey} of ${accountId} lost its batch`);
  if (record.requestHash !== requestHash) {
    throw new ApiError(
      409,
      'idempotency_conflict',
      'This Idempotency-Key was already used with a different request body; use a new key for a new batch',
    );
  }
  const saved = batchStartReportResponseSchema.safeParse(record.response);
  return { batch, replayed: true, ...(saved.success ? { savedResponse: saved.data } : {}) };
}

function startReport(
  deps: Pick<SubmitBatchDeps, 'config' | 'orchestrator'>,
  batch: BatchRow,
  workflowId: string,
  throttle: ThrottleOutlook | undefined,
): BatchStartReportResponse {
  const temporalUiUrl = deps.orchestrator.uiUrl(workflowId);
  return {
    batchId: batch.id,
    graphsAccepted: batch.graphCount,
    workflowId,
    statusUrl: `${deps.config.http.publicUrl?.replace(/\/+$/, '') ?? ''}/v1/batches/${batch.id}`,
    createdAt: batch.createdAt.toISOString(),
    ...(temporalUiUrl === undefined ? {} : { temporalUiUrl }),
    ...(throttle === undefined ? {} : { throttle }),
    ...(batch.retryOf === null ? {} : { retryOf: batch.retryOf }),
  };
}
