/** `POST /oauth/token`: an API key pair in, a short-lived access token out (RFC 6749 §4.4). */
import { issueAccessToken } from '../../core/auth/access-tokens.js';
import { verifyApiKey } from '../../db/api-key-credentials.js';
import {
  oauthError,
  parseTokenRequest,
  type OAuthError,
  type TokenRequestInput,
} from '../../core/auth/client-credentials.js';
import type { Db } from '../../db/database.js';
import { ok, refused, type Result } from '../../core/result.js';

export interface TokenExchangeDeps {
  db: Db;
  jwtSecret: Uint8Array;
  tokenTtlSeconds: number;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

export type TokenExchangeResult = Result<TokenResponse, OAuthError>;

export async function exchangeClientCredentials(
  deps: TokenExchangeDeps,
  input: TokenRequestInput,
): Promise<TokenExchangeResult> {
  const parsed = parseTokenRequest(input);
  if (!parsed.ok) return parsed;
  const { clientId, clientSecret, scope } = parsed.value;
  const client = await verifyApiKey(deps.db, clientId, clientSecret);
  if (!client) return refused(oauthError('invalid_client', 'Client authentication failed'));
  // Checked after authentication so an unauthenticated caller learns nothing about what we support.
  if (scope !== undefined) {
    return refused(oauthError('invalid_scope', 'No scopes are defined; omit the scope parameter'));
  }
  const token = await issueAccessToken(client, { secret: deps.jwtSecret, ttlSeconds: deps.tokenTtlSeconds });
  return ok({ access_token: token.accessToken, token_type: 'Bearer', expires_in: token.expiresIn });
}
