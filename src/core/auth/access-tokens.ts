/**
 * Access tokens: JWTs in the shape of RFC 9068 (JWT profile for OAuth 2.0 access tokens), HS256-signed
 * with the server's secret. `sub` is the account, `client_id` the API key that obtained the token, so
 * revoking the key can end its tokens too.
 */
import { randomUUID } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import { ok, refused, type Result } from '../result.js';

export const TOKEN_ISSUER = 'pixelshift';
export const TOKEN_AUDIENCE = 'pixelshift-api';
/** RFC 9068 §2.1: keeps other JWTs signed with the same key (none today) from passing as access tokens. */
const TOKEN_TYPE = 'at+jwt';

export interface AccessTokenClaims {
  accountId: string;
  keyId: string;
}

export interface IssuedAccessToken {
  accessToken: string;
  expiresIn: number;
}

export interface IssueOptions {
  secret: Uint8Array;
  ttlSeconds: number;
  /** Seconds since the epoch; tests move it. */
  now?: number;
}

export async function issueAccessToken(
  claims: AccessTokenClaims,
  options: IssueOptions,
): Promise<IssuedAccessToken> {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const accessToken = await new SignJWT({ client_id: claims.keyId })
    .setProtectedHeader({ alg: 'HS256', typ: TOKEN_TYPE })
    .setSubject(claims.accountId)
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + options.ttlSeconds)
    .setJti(randomUUID())
    .sign(options.secret);
  return { accessToken, expiresIn: options.ttlSeconds };
}

export type TokenRejection = 'expired' | 'invalid';

export type VerifiedAccessToken = Result<AccessTokenClaims, TokenRejection>;

/** Checks signature (HS256 only: `alg: none` and other algorithms are refused), issuer, audience, type and expiry. */
export async function verifyAccessToken(token: string, secret: Uint8Array): Promise<VerifiedAccessToken> {
  try {
    const { payload } = await jwtVerify(token, secret, {
      algorithms: ['HS256'],
      issuer: TOKEN_ISSUER,
      audience: TOKEN_AUDIENCE,
      typ: TOKEN_TYPE,
      requiredClaims: ['sub', 'exp', 'iat', 'jti', 'client_id'],
    });
    if (typeof payload.sub !== 'string' || typeof payload.client_id !== 'string') {
      return refused('invalid');
    }
    return ok({ accountId: payload.sub, keyId: payload.client_id });
  } catch (error) {
    if (error instanceof errors.JWTExpired) return refused('expired');
    if (error instanceof errors.JOSEError) return refused('invalid');
    throw error;
  }
}
