/** Who calls a `/v1` route. */
import type { AccessTokenClaims } from '../core/auth/access-tokens.js';

/** A dashboard user's request, authenticated by the session cookie (session-auth.ts). */
export interface SessionPrincipal {
  kind: 'session';
  accountId: string;
  userId: string;
}

/** An API key's access token (bearer.ts) or a dashboard session: both name the account. */
export type Principal = AccessTokenClaims | SessionPrincipal;
