/** Request and response shapes of `POST /oauth/token` (RFC 6749 §4.4, §5). */
import { z } from 'zod';
import { oauthErrorCodes } from '../../core/auth/client-credentials.js';

export const tokenRequestSchema = z
  .object({
    grant_type: z.literal('client_credentials'),
    client_id: z.string().optional().describe('Only with client_secret_post; prefer HTTP Basic.'),
    client_secret: z.string().optional().describe('Only with client_secret_post; prefer HTTP Basic.'),
    scope: z.string().optional().describe('No scopes are defined: omit it, or leave it empty.'),
  })
  .meta({ id: 'TokenRequest' });

export const tokenResponseSchema = z
  .strictObject({
    access_token: z.string(),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int().describe('Lifetime of the token in seconds.'),
  })
  .meta({ id: 'TokenResponse' });

export const oauthErrorSchema = z
  .strictObject({
    error: z.enum(oauthErrorCodes),
    error_description: z.string().optional(),
  })
  .meta({ id: 'OAuthError' });
