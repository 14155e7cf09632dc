/**
 * Bearer authentication for `/v1` (RFC 6750): a valid, unexpired access token whose API key is still
 * active. Every failure is the same 401 with `WWW-Authenticate: Bearer`, so clients know to fetch a new
 * token; the message says only what a client can act on.
 */
import type { RequestHandler, Response } from 'express';
import { verifyAccessToken } from '../core/auth/access-tokens.js';
import type { KeyStatusCache } from './key-status.js';
import { ApiError } from './api-error.js';
import type { Principal } from './principal.js';

export const REALM = 'pixelshift';

export interface BearerDeps {
  jwtSecret: Uint8Array;
  keyStatus: KeyStatusCache;
}

function unauthorized(message: string, invalidToken: boolean): ApiError {
  // RFC 6750 §3.1: no error attribute when the request had no credentials at all.
  const challenge = invalidToken
    ? `Bearer realm="${REALM}", error="invalid_token"`
    : `Bearer realm="${REALM}"`;
  return new ApiError(401, 'unauthorized', message, undefined, { 'WWW-Authenticate': challenge });
}

export function requireBearer(deps: BearerDeps): RequestHandler {
  return async (req, res, next) => {
    const header = req.headers.authorization;
    if (header === undefined)
      throw unauthorized('An access token is required: Authorization: Bearer <token>', false);
    const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(header);
    if (!match?.[1]) throw unauthorized('The Authorization header must be "Bearer <access token>"', true);
    const verified = await verifyAccessToken(match[1], deps.jwtSecret);
    if (!verified.ok) {
      throw unauthorized(
        verified.error === 'expired' ? 'The access token has expired' : 'The access token is invalid',
        true,
      );
    }
    if (!(await deps.keyStatus.isActive(verified.value.keyId, verified.value.accountId))) {
      throw unauthorized('The access token is invalid', true);
    }
    res.locals.principal = verified.value;
    next();
  };
}

/** Who is calling: an access token's claims (set by requireBearer) or a dashboard session (session-auth.ts). */
export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new Error('route is missing requireAccount');
  return principal;
}
