/**
 * Dashboard sign-in, sessions and one-time links (docs/architecture.md, "Dashboard sessions"). Sign-in
 * is rate-limited per email and per client address with counters in the database; an unknown email and
 * a wrong password cost the same scrypt work and get the same answer.
 */
import { verifyPassword } from '../../core/auth/passwords.js';
import type { Db } from '../../db/database.js';
import {
  consumeSignInLink,
  endSession,
  hashToken,
  sessionExpiresAt,
  startSession,
  type SessionLifetimes,
} from '../../db/dashboard-sessions.js';
import { findDashboardUserByEmail, getDashboardUser, normalizeEmail } from '../../db/dashboard-users.js';
import type { DashboardSessionRow } from '../../db/schema.js';
import { clearFailures, failureKey, lockedOutFor, recordFailure } from '../../db/sign-in-failures.js';
import { ApiError } from '../../api/api-error.js';
import type { DashboardSessionResponse, SignInRequest } from './dashboard-session.schemas.js';

export interface SignInLimits {
  windowMs: number;
  perEmail: number;
  perAddress: number;
}

export interface SessionServiceDeps {
  db: Db;
  lifetimes: SessionLifetimes;
  limits: SignInLimits;
  now: () => Date;
}

export interface SignedIn {
  token: string;
  body: DashboardSessionResponse;
}

export function sessionBody(
  session: DashboardSessionRow,
  user: { id: string; email: string; accountId: string },
): DashboardSessionResponse {
  return {
    user: { id: user.id, email: user.email, accountId: user.accountId },
    csrfToken: session.csrfToken,
    expiresAt: sessionExpiresAt(session).toISOString(),
  };
}

const invalidCredentials = () =>
  new ApiError(401, 'invalid_credentials', 'The email or the password is wrong');

/**
 * Checks the credentials and starts a new session. Refused with 429 while the email's or the address's
 * failures fill their window; a failure counts against both; a success clears the email's counter only
 * (the address's keeps counting others' failures). `previousToken` (a cookie sent with the sign-in) is
 * ended: the new session never reuses it.
 */
export async function signIn(
  deps: SessionServiceDeps,
  request: SignInRequest,
  clientAddress: string,
  previousToken: string | undefined,
): Promise<SignedIn> {
  const emailKey = failureKey('email', normalizeEmail(request.email));
  const addressKey = failureKey('address', clientAddress);
  const wait = await lockedOutFor(
    deps.db,
    [
      { key: emailKey, limit: deps.limits.perEmail },
      { key: addressKey, limit: deps.limits.perAddress },
    ],
    deps.now(),
  );
  if (wait !== undefined) {
    const seconds = Math.max(1, Math.ceil(wait / 1000));
    throw new ApiError(
      429,
      'too_many_attempts',
      `Too many failed sign-ins; try again in ${seconds} s`,
      undefined,
      { 'Retry-After': String(seconds) },
    );
  }
  const user = await findDashboardUserByEmail(deps.db, request.email);
  if (!(await verifyPassword(request.password, user?.passwordHash)) || !user) {
    await recordFailure(deps.db, [emailKey, addressKey], deps.limits.windowMs, deps.now());
    throw invalidCredentials();
  }
  await clearFailures(deps.db, [emailKey]);
  if (previousToken !== undefined) await endSession(deps.db, hashToken(previousToken), deps.now());
  const { token, session } = await startSession(deps.db, user, deps.lifetimes, deps.now());
  return { token, body: sessionBody(session, user) };
}

/** The body of `GET /auth/session` for a live session. */
export async function describeSession(
  db: Db,
  session: DashboardSessionRow,
): Promise<DashboardSessionResponse | undefined> {
  const user = await getDashboardUser(db, session.userId);
  return user ? sessionBody(session, user) : undefined;
}

/** Starts a session from a one-time link; undefined when the link is unknown, used or expired. */
export async function signInWithLink(
  deps: SessionServiceDeps,
  linkToken: string,
): Promise<string | undefined> {
  const userId = await consumeSignInLink(deps.db, linkToken, deps.now());
  if (userId === undefined) return undefined;
  const user = await getDashboardUser(deps.db, userId);
  if (!user) return undefined;
  const { token } = await startSession(deps.db, user, deps.lifetimes, deps.now());
  return token;
}
