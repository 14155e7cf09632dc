/** `/v1/keys`: the account's API key pairs. */
import { z } from 'zod';
import type { KeyStatusCache } from '../../api/key-status.js';
import { defineRoute, noContent, noStore, ok, reply, type ApiFeature } from '../../api/define-route.js';
import { errorResponse } from '../../api/openapi-builder.js';
import type { Db } from '../../db/database.js';
import { apiKeyListSchema, createdApiKeySchema, createKeyRequestSchema } from './keys.schemas.js';
import { createKey, listKeys, revokeKey } from './keys.service.js';

const json = (schema: z.ZodType) => ({ 'application/json': { schema } });

export function keysFeature(deps: { db: Db; keyStatus: KeyStatusCache }): ApiFeature {
  return {
    tags: [{ name: 'keys', description: 'API key pairs of the account' }],
    routes: [
      defineRoute({
        operationId: 'listKeys',
        method: 'get',
        path: '/v1/keys',
        tags: ['keys'],
        auth: 'bearer',
        summary: 'The account’s API keys (never their secrets)',
        responses: {
          200: { description: 'All keys, revoked ones included.', content: json(apiKeyListSchema) },
        },
        handler: async ({ principal }) => ok(await listKeys(deps.db, principal.accountId)),
      }),
      defineRoute({
        operationId: 'createKey',
        method: 'post',
        path: '/v1/keys',
        tags: ['keys'],
        auth: 'bearer',
        summary: 'Create an API key pair; the secret is shown in this response only',
        request: {
          body: { schema: createKeyRequestSchema, contentType: 'application/json', required: false },
        },
        responses: { 201: { description: 'The new key pair.', content: json(createdApiKeySchema) } },
        // The secret is in this response and nowhere else: keep it out of every cache.
        handler: async ({ body, principal }) =>
          reply(201, await createKey(deps.db, principal.accountId, body), noStore),
      }),
      defineRoute({
        operationId: 'revokeKey',
        method: 'delete',
        path: '/v1/keys/{keyId}',
        tags: ['keys'],
        auth: 'bearer',
        summary: 'Revoke an API key: token exchanges and tokens already issued with it stop working',
        request: { params: z.object({ keyId: z.string().describe('Public key id, e.g. pk_…') }) },
        responses: {
          204: { description: 'Revoked.' },
          404: errorResponse('No such key for this account (`not_found`).'),
        },
        handler: async ({ params, principal }) => {
          await revokeKey(deps.db, deps.keyStatus, principal.accountId, params.keyId);
          return noContent;
        },
      }),
    ],
  };
}
