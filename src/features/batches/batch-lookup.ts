import type { Db } from '../../db/database.js';
import { getBatch } from '../../db/batches.js';
import { batchIdPattern } from '../../core/ids.js';
import type { BatchRow } from '../../db/schema.js';
import { notFound } from '../../api/api-error.js';

/**
 * The caller's batch, or 404. The database answers first: another account's batch is "not found", exactly
 * like a batch that never existed, so ids cannot be probed across accounts.
 */
export async function findOwnBatch(db: Db, accountId: string, batchId: string): Promise<BatchRow> {
  const batch = batchIdPattern.test(batchId) ? await getBatch(db, accountId, batchId) : undefined;
  if (!batch) throw notFound(`Batch ${JSON.stringify(batchId.slice(0, 64))}`);
  return batch;
}
