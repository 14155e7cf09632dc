import { and, asc, eq, isNull } from 'drizzle-orm';
import type { Db } from './database.js';
import { apiKeys, type ApiKeyRow } from './schema.js';

/** A key as it may be shown to its owner: everything except the secret's hash. */
export type ApiKeySummary = Omit<ApiKeyRow, 'secretHash'>;

export interface NewApiKey {
  id: string;
  accountId: string;
  secretHash: string;
  label?: string | undefined;
}

export async function insertApiKey(db: Db, key: NewApiKey): Promise<ApiKeySummary> {
  const [row] = await db
    .insert(apiKeys)
    .values({ ...key, label: key.label ?? null })
    .returning(summaryColumns);
  if (!row) throw new Error(`api key ${key.id} was not inserted`);
  return row;
}

/** The full row, hash included: for verifying a presented secret only. */
export async function findApiKey(db: Db, keyId: string): Promise<ApiKeyRow | undefined> {
  const [row] = await db.select().from(apiKeys).where(eq(apiKeys.id, keyId)).limit(1);
  return row;
}

/** An account's keys, revoked ones included (with `revokedAt`), oldest first; never the hashes. */
export async function listApiKeys(db: Db, accountId: string): Promise<ApiKeySummary[]> {
  return db
    .select(summaryColumns)
    .from(apiKeys)
    .where(eq(apiKeys.accountId, accountId))
    .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id));
}

/**
 * Revokes one of the account's keys. True when the key belongs to the account (revoking twice keeps the
 * first revocation time); false when there is no such key for this account.
 */
export async function revokeApiKey(
  db: Db,
  accountId: string,
  keyId: string,
  at = new Date(),
): Promise<boolean> {
  const owned = and(eq(apiKeys.id, keyId), eq(apiKeys.accountId, accountId));
  const updated = await db
    .update(apiKeys)
    .set({ revokedAt: at })
    .where(and(owned, isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  if (updated.length) return true;
  const [existing] = await db.select({ id: apiKeys.id }).from(apiKeys).where(owned).limit(1);
  return existing !== undefined;
}

export async function touchApiKey(db: Db, keyId: string, at = new Date()): Promise<void> {
  await db.update(apiKeys).set({ lastUsedAt: at }).where(eq(apiKeys.id, keyId));
}

const summaryColumns = {
  id: apiKeys.id,
  accountId: apiKeys.accountId,
  label: apiKeys.label,
  createdAt: apiKeys.createdAt,
  lastUsedAt: apiKeys.lastUsedAt,
  revokedAt: apiKeys.revokedAt,
};
