/** API key pairs as `/v1/keys` shows them (never their secrets, except once at creation). */
import { z } from 'zod';
import { singleLinePattern } from '../../core/text-patterns.js';

export const createKeyRequestSchema = z
  .strictObject({
    label: z
      .string()
      .min(1)
      .max(100)
      .regex(singleLinePattern)
      .optional()
      .describe('A note for humans, e.g. "billing backend".'),
  })
  .meta({ id: 'CreateKeyRequest' });

export type CreateKeyRequest = z.infer<typeof createKeyRequestSchema>;

export const apiKeySchema = z
  .strictObject({
    keyId: z.string().describe('Public key id, used as the OAuth client_id.'),
    label: z.string().nullable(),
    createdAt: z.iso.datetime(),
    lastUsedAt: z.iso.datetime().nullable().describe('Last successful token exchange with this key.'),
    revokedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'ApiKey' });
export type ApiKeyResponse = z.infer<typeof apiKeySchema>;

export const apiKeyListSchema = z.strictObject({ keys: z.array(apiKeySchema) }).meta({ id: 'ApiKeyList' });

export const createdApiKeySchema = z
  .strictObject({
    keyId: z.string(),
    secret: z.string().describe('Shown this once; only a hash is kept. Use it as the OAuth client_secret.'),
    label: z.string().nullable(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'CreatedApiKey' });
export type CreatedApiKeyResponse = z.infer<typeof createdApiKeySchema>;
