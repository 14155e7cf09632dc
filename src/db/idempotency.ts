import { and, eq } from 'drizzle-orm';
import type { Db } from './database.js';
import { idempotencyKeys, type IdempotencyRow } from './schema.js';

export interface IdempotencyClaim {
  accountId: string;
  key: string;
  requestHash: string;
  batchId: string;
}

/**
 * Claims an Idempotency-Key for a new batch. True when this call inserted the row; false when the key was
 * already taken. Concurrent claims of one key are settled by the primary key: PostgreSQL makes the second
 * INSERT wait for the first transaction and then do nothing, so exactly one request wins.
 */
export async function claimIdempotencyKey(db: Db, claim: IdempotencyClaim): Promise<boolean> {
  const inserted = await db
    .insert(idempotencyKeys)
    .values(claim)
    .onConflictDoNothing({ target: [idempotencyKeys.accountId, idempotencyKeys.key] })
    .returning({ key: idempotencyKeys.key });
  return inserted.length === 1;
}

export async function getIdempotencyRecord(
  db: Db,
  accountId: string,
  key: string,
): Promise<IdempotencyRow | undefined> {
  const [row] = await db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.accountId, accountId), eq(idempotencyKeys.key, key)))
    .limit(1);
  return row;
}

/** Records the response once the batch has started, so a replay answers exactly the same. */
export async function saveIdempotentResponse(
  db: Db,
  accountId: string,
  key: string,
  response: unknown,
): Promise<void> {
  await db
    .update(idempotencyKeys)
    .set({ response })
    .where(and(eq(idempotencyKeys.accountId, accountId), eq(idempotencyKeys.key, key)));
}
