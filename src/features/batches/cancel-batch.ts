import { notFound } from '../../api/api-error.js';
import { callOrchestrator } from '../../api/orchestrator-call.js';
import { findOwnBatch } from './batch-lookup.js';
import type { Logger } from 'pino';
import type { BatchJobs } from '../../core/jobs/orchestrator-ports.js';
import type { Db } from '../../db/database.js';

export interface CancelBatchDeps {
  db: Db;
  orchestrator: Pick<BatchJobs, 'cancelBatch'>;
  logger?: Logger | undefined;
}

/** Asks the batch workflow to cancel; its running graphs are cancelled and recorded as such. */
export async function cancelBatch(
  deps: CancelBatchDeps,
  accountId: string,
  batchId: string,
): Promise<{ batchId: string; cancelRequested: true }> {
  const batch = await findOwnBatch(deps.db, accountId, batchId);
  const found = await callOrchestrator(
    'cancel the batch',
    () => deps.orchestrator.cancelBatch(accountId, batch.id),
    deps.logger,
  );
  if (!found) throw notFound(`Batch ${JSON.stringify(batch.id)}`);
  return { batchId: batch.id, cancelRequested: true };
}
