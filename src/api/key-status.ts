/**
 * Whether the API key behind an access token is still valid. Tokens outlive nothing: revoking a key ends
 * its tokens too. Each answer is cached for a few seconds only, so a revocation on another replica takes
 * effect within that time; on this replica `forget` makes it immediate.
 */
import type { Db } from '../db/database.js';
import { findApiKey } from '../db/api-keys.js';

export interface KeyStatusCache {
  /** True when the key exists, belongs to the account and is not revoked. */
  isActive(keyId: string, accountId: string): Promise<boolean>;
  forget(keyId: string): void;
}

export interface KeyStatusCacheOptions {
  ttlMs?: number;
  /** Bound on memory: the cache is simply emptied when it grows past this many keys. */
  maxEntries?: number;
  now?: () => number;
}

export function createKeyStatusCache(db: Db, options: KeyStatusCacheOptions = {}): KeyStatusCache {
  const ttlMs = options.ttlMs ?? 5_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, { accountId: string | undefined; active: boolean; checkedAt: number }>();

  return {
    async isActive(keyId, accountId) {
      let entry = entries.get(keyId);
      if (!entry || now() - entry.checkedAt >= ttlMs) {
        const row = await findApiKey(db, keyId);
        entry = {
          accountId: row?.accountId,
          active: row !== undefined && row.revokedAt === null,
          checkedAt: now(),
        };
        if (entries.size >= maxEntries) entries.clear();
        entries.set(keyId, entry);
      }
      return entry.active && entry.accountId === accountId;
    },
    forget(keyId) {
      entries.delete(keyId);
    },
  };
}
