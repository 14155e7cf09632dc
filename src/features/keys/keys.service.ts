/** Managing an account's own API keys: `GET/POST/DELETE /v1/keys`. */
import { createApiKey } from '../../db/api-key-credentials.js';
import type { KeyStatusCache } from '../../api/key-status.js';
import type { Db } from '../../db/database.js';
import { listApiKeys, revokeApiKey, type ApiKeySummary } from '../../db/api-keys.js';
import { notFound } from '../../api/api-error.js';
import type { ApiKeyResponse, CreatedApiKeyResponse, CreateKeyRequest } from './keys.schemas.js';

export async function createKey(
  db: Db,
  accountId: string,
  { label }: CreateKeyRequest,
): Promise<CreatedApiKeyResponse> {
  const created = await createApiKey(db, accountId, label);
  return {
    keyId: created.keyId,
    secret: created.secret,
    label: created.label,
    createdAt: created.createdAt.toISOString(),
  };
}

export async function listKeys(db: Db, accountId: string): Promise<{ keys: ApiKeyResponse[] }> {
  const keys = await listApiKeys(db, accountId);
  return { keys: keys.map(toResponse) };
}

/** Revokes a key: token exchanges with it fail at once, and so do the tokens it already obtained. */
export async function revokeKey(
  db: Db,
  keyStatus: KeyStatusCache,
  accountId: string,
  keyId: string,
): Promise<void> {
  const revoked = keyId.length <= 64 && (await revokeApiKey(db, accountId, keyId));
  if (!revoked) throw notFound(`API key ${JSON.stringify(keyId.slice(0, 64))}`);
  keyStatus.forget(keyId);
}

function toResponse(key: ApiKeySummary): ApiKeyResponse {
  return {
    keyId: key.id,
    label: key.label,
    createdAt: key.createdAt.toISOString(),
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    revokedAt: key.revokedAt?.toISOString() ?? null,
  };
}
