/**
 * Dashboard sessions on the HTTP side (docs/architecture.md, "Dashboard sessions"): the session cookie,
 * the CSRF rule for cookie callers, and the `/v1` authentication that takes either a bearer token or a
 * session. A request with an `Authorization` header is a bearer request whatever cookies it carries, so
 * API clients behave exactly as before; a request with only the cookie is a session request, and one
 * that changes state must also carry the session's CSRF token in `X-CSRF-Token` and the server's own
 * origin in `Origin`.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Db } from '../db/database.js';
import { findLiveSession, touchSession, type SessionLifetimes } from '../db/dashboard-sessions.js';
import type { DashboardSessionRow } from '../db/schema.js';
import { ApiError } from './api-error.js';
import { REALM } from './bearer.js';
import type { SessionPrincipal } from './principal.js';

export const SESSION_COOKIE = 'pixelshift_session';
export const CSRF_HEADER = 'X-CSRF-Token';

export interface SessionSettings extends SessionLifetimes {
  /** PUBLIC_URL: its origin is the server's; otherwise the request's own scheme and Host. */
  publicUrl: string | undefined;
  /** The clock of expiries (tests move it). */
  now: () => Date;
}

/** The session token of the request's cookie, if it has one that could be a token. */
export function sessionCookieOf(req: Request): string | undefined {
  const header = req.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    if (value !== '') return value;
  }
  return undefined;
}

/** True when the answer goes out over https (the request's, as trust proxy allows, or PUBLIC_URL's scheme). */
function overHttps(req: Request, publicUrl: string | undefined): boolean {
  return req.secure || (publicUrl?.startsWith('https:') ?? false);
}

function cookieAttributes(req: Request, publicUrl: string | undefined): string {
  return `Path=/; HttpOnly; SameSite=Lax${overHttps(req, publicUrl) ? '; Secure' : ''}`;
}

/** Sets the session cookie: a browser-session cookie (no Max-Age); the server ends it on its expiries. */
export function setSessionCookie(
  req: Request,
  res: Response,
  token: string,
  publicUrl: string | undefined,
): void {
  res.append('Set-Cookie', `${SESSION_COOKIE}=${token}; ${cookieAttributes(req, publicUrl)}`);
}

export function clearSessionCookie(req: Request, res: Response, publicUrl: string | undefined): void {
  res.append('Set-Cookie', `${SESSION_COOKIE}=; ${cookieAttributes(req, publicUrl)}; Max-Age=0`);
}

/** The server's own origin: PUBLIC_URL's, or the scheme and Host the request arrived with. */
export function serverOrigin(req: Request, publicUrl: string | undefined): string {
  if (publicUrl !== undefined) return new URL(publicUrl).origin;
  return `${req.protocol}://${req.get('host') ?? ''}`;
}

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

export function csrfFailed(message: string): ApiError {
  return new ApiError(403, 'csrf_failed', message);
}

/** Refuses a request whose `Origin` is present and is not the server's (sign-in, before any session). */
export function refuseForeignOrigin(req: Request, publicUrl: string | undefined): void {
  const origin = req.get('origin');
  if (origin !== undefined && origin !== serverOrigin(req, publicUrl)) {
    throw csrfFailed('The request comes from another origin');
  }
}

/**
 * The CSRF rule of a cookie-authenticated request: a method that changes state needs the session's CSRF
 * token in `X-CSRF-Token` and the server's origin in `Origin`.
 */
export function checkCsrf(
  req: Request,
  session: Pick<DashboardSessionRow, 'csrfToken'>,
  publicUrl: string | undefined,
): void {
  if (safeMethods.has(req.method)) return;
  const token = req.get(CSRF_HEADER);
  const expected = Buffer.from(session.csrfToken);
  if (token === undefined || !timingSafeEqualText(Buffer.from(token), expected)) {
    throw csrfFailed(`A request that changes state needs the session's CSRF token in ${CSRF_HEADER}`);
  }
  if (req.get('origin') !== serverOrigin(req, publicUrl)) {
    throw csrfFailed("A request that changes state needs an Origin header with the server's own origin");
  }
}

function timingSafeEqualText(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function sessionUnauthorized(): ApiError {
  return new ApiError(
    401,
    'unauthorized',
    'The dashboard session has ended or expired: sign in again',
    undefined,
    {
      'WWW-Authenticate': `Bearer realm="${REALM}"`,
    },
  );
}

/** The live session of the request's cookie, its last use recorded (at most once a minute). */
export async function liveSessionOf(
  db: Db,
  req: Request,
  settings: SessionSettings,
): Promise<DashboardSessionRow | undefined> {
  const token = sessionCookieOf(req);
  if (token === undefined) return undefined;
  const now = settings.now();
  const session = await findLiveSession(db, token, now);
  return session ? touchSession(db, session, settings.idleMs, now) : undefined;
}

/**
 * `/v1` authentication: the bearer check when the request has an `Authorization` header (or no
 * credentials at all, so its answers stay exactly as they were), else the session cookie with the CSRF
 * rule. A cookie without a live session is a 401.
 */
export function requireAccount(deps: {
  db: Db;
  bearer: RequestHandler;
  sessions: SessionSettings;
}): RequestHandler {
  return async (req, res, next) => {
    if (req.headers.authorization !== undefined || sessionCookieOf(req) === undefined) {
      return deps.bearer(req, res, next);
    }
    const session = await liveSessionOf(deps.db, req, deps.sessions);
    if (!session) throw sessionUnauthorized();
    checkCsrf(req, session, deps.sessions.publicUrl);
    const principal: SessionPrincipal = {
      kind: 'session',
      accountId: session.accountId,
      userId: session.userId,
    };
    res.locals.principal = principal;
    next();
  };
}
