/** `GET /v1/batches`: the account's batches, newest first, from the read model (docs/architecture.md §7). */
import type { Db } from '../../db/database.js';
import { batchCounts, listBatches as listBatchRows } from '../../db/batches.js';
import { emptyCounts } from '../../core/jobs/job-status.js';
import { keysetPage } from '../../api/page-token.js';
import type { BatchListQuery, BatchListResponse } from './batches.schemas.js';

/**
 * One page of the account's batches with their counts per state: two indexed reads whatever the page
 * size (the batches, then the counts of all of them at once). The token carries the last batch's
 * insertion number (keyset), so a batch that changes state while a client pages is listed exactly once.
 */
export async function listBatches(
  db: Db,
  accountId: string,
  query: BatchListQuery,
): Promise<BatchListResponse> {
  const rows = await listBatchRows(db, {
    accountId,
    state: query.state,
    idPrefix: query.q,
    beforeSeq: query.pageToken,
    limit: query.pageSize + 1,
  });
  const page = keysetPage(rows, query.pageSize, (row) => row.seq);
  const counts = await batchCounts(
    db,
    page.rows.map((row) => row.id),
  );
  return {
    batches: page.rows.map((batch) => ({
      batchId: batch.id,
      state: batch.state,
      graphCount: batch.graphCount,
      counts: counts.get(batch.id) ?? emptyCounts(),
      createdAt: batch.createdAt.toISOString(),
      ...(batch.finishedAt ? { finishedAt: batch.finishedAt.toISOString() } : {}),
      ...(batch.retryOf ? { retryOf: batch.retryOf } : {}),
    })),
    ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
  };
}
