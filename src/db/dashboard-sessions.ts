/**
 * Dashboard sessions and one-time sign-in links (migration 0010, docs/architecture.md "Dashboard
 * sessions"). The cookie carries a random 256-bit token; the database keeps only its SHA-256, so a copy
 * of the table cannot be replayed as cookies. A session ends at the first of: its idle expiry (moved
 * forward by use), its absolute expiry, or sign-out (`ended_at`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { and, eq, gt, isNull, lt, or, sql } from 'drizzle-orm';
import type { Db } from './database.js';
import { dashboardSessions, dashboardSignInLinks, type DashboardSessionRow } from './schema.js';

/** One-time sign-in links are valid this long. */
export const SIGN_IN_LINK_TTL_MS = 15 * 60_000;
/** A session's last use is written at most this often (each request would otherwise be a write). */
export const SESSION_TOUCH_INTERVAL_MS = 60_000;

/** Session and link tokens: 32 random bytes, base64url (43 characters). */
export const sessionTokenPattern = /^[A-Za-z0-9_-]{43}$/;

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export interface SessionLifetimes {
  idleMs: number;
  maxAgeMs: number;
}

export interface StartedSession {
  /** For the cookie only: never stored. */
  token: string;
  session: DashboardSessionRow;
}

/** When a session ends unless it is used again: the earlier of its two expiries. */
export function sessionExpiresAt(session: Pick<DashboardSessionRow, 'idleExpiresAt' | 'expiresAt'>): Date {
  return session.idleExpiresAt < session.expiresAt ? session.idleExpiresAt : session.expiresAt;
}

/** A new session with its own token and CSRF token (every sign-in gets a new one: no fixation). */
export async function startSession(
  db: Db,
  user: { id: string; accountId: string },
  lifetimes: SessionLifetimes,
  now: Date,
): Promise<StartedSession> {
  const token = newToken();
  const expiresAt = new Date(now.getTime() + lifetimes.maxAgeMs);
  const idle = new Date(now.getTime() + lifetimes.idleMs);
  const [session] = await db
    .insert(dashboardSessions)
    .values({
      tokenHash: hashToken(token),
      userId: user.id,
      accountId: user.accountId,
      csrfToken: newToken(),
      createdAt: now,
      lastSeenAt: now,
      idleExpiresAt: idle < expiresAt ? idle : expiresAt,
      expiresAt,
    })
    .returning();
  if (!session) throw new Error('the session was not inserted');
  return { token, session };
}

/** The live session of this token: not ended, and neither expiry reached at `now`. */
export async function findLiveSession(
  db: Db,
  token: string,
  now: Date,
): Promise<DashboardSessionRow | undefined> {
  if (!sessionTokenPattern.test(token)) return undefined;
  const [row] = await db
    .select()
    .from(dashboardSessions)
    .where(
      and(
        eq(dashboardSessions.tokenHash, hashToken(token)),
        isNull(dashboardSessions.endedAt),
        gt(dashboardSessions.idleExpiresAt, now),
        gt(dashboardSessions.expiresAt, now),
      ),
    )
    .limit(1);
  return row;
}

/**
 * Records a use: moves `last_seen_at` and the idle expiry (never past the absolute one), unless the last
 * recorded use is under a minute old. Returns the session as it now stands.
 */
export async function touchSession(
  db: Db,
  session: DashboardSessionRow,
  idleMs: number,
  now: Date,
): Promise<DashboardSessionRow> {
  if (now.getTime() - session.lastSeenAt.getTime() < SESSION_TOUCH_INTERVAL_MS) return session;
  const idle = new Date(now.getTime() + idleMs);
  const [row] = await db
    .update(dashboardSessions)
    .set({ lastSeenAt: now, idleExpiresAt: idle < session.expiresAt ? idle : session.expiresAt })
    .where(and(eq(dashboardSessions.tokenHash, session.tokenHash), isNull(dashboardSessions.endedAt)))
    .returning();
  return row ?? session;
}

/** Ends the session of this token (sign-out); true when a live one was ended. */
export async function endSession(db: Db, tokenHash: string, now: Date): Promise<boolean> {
  const rows = await db
    .update(dashboardSessions)
    .set({ endedAt: now })
    .where(and(eq(dashboardSessions.tokenHash, tokenHash), isNull(dashboardSessions.endedAt)))
    .returning({ tokenHash: dashboardSessions.tokenHash });
  return rows.length > 0;
}

/** Ends every session of a user; the number ended. */
export async function endUserSessions(db: Db, userId: string, now: Date): Promise<number> {
  const rows = await db
    .update(dashboardSessions)
    .set({ endedAt: now })
    .where(and(eq(dashboardSessions.userId, userId), isNull(dashboardSessions.endedAt)))
    .returning({ tokenHash: dashboardSessions.tokenHash });
  return rows.length;
}

export interface SignInLink {
  /** For the link only: never stored. */
  token: string;
  /** `/auth/link/<token>`: relative to the server's address. */
  url: string;
  expiresAt: Date;
}

/** A one-time sign-in link for the user, valid for 15 minutes. */
export async function createSignInLink(
  db: Db,
  userId: string,
  options: { now?: Date; ttlMs?: number } = {},
): Promise<SignInLink> {
  const now = options.now ?? new Date();
  const token = newToken();
  const expiresAt = new Date(now.getTime() + (options.ttlMs ?? SIGN_IN_LINK_TTL_MS));
  await db
    .insert(dashboardSignInLinks)
    .values({ tokenHash: hashToken(token), userId, createdAt: now, expiresAt });
  return { token, url: `/auth/link/${token}`, expiresAt };
}

/**
 * Uses a sign-in link: the user id when the link exists, is unused and unexpired at `now`, marking it used
 * in the same statement (two concurrent uses cannot both succeed); undefined otherwise.
 */
export async function consumeSignInLink(db: Db, token: string, now: Date): Promise<string | undefined> {
  if (!sessionTokenPattern.test(token)) return undefined;
  const [row] = await db
    .update(dashboardSignInLinks)
    .set({ usedAt: now })
    .where(
      and(
        eq(dashboardSignInLinks.tokenHash, hashToken(token)),
        isNull(dashboardSignInLinks.usedAt),
        gt(dashboardSignInLinks.expiresAt, now),
      ),
    )
    .returning({ userId: dashboardSignInLinks.userId });
  return row?.userId;
}

/** Deletes sessions that can no longer be used (ended or expired) and used or expired links. */
export async function purgeDeadSessions(db: Db, now: Date): Promise<{ sessions: number; links: number }> {
  const sessions = await db
    .delete(dashboardSessions)
    .where(
      or(
        sql`${dashboardSessions.endedAt} is not null`,
        lt(dashboardSessions.idleExpiresAt, now),
        lt(dashboardSessions.expiresAt, now),
      ),
    )
    .returning({ tokenHash: dashboardSessions.tokenHash });
  const links = await db
    .delete(dashboardSignInLinks)
    .where(or(sql`${dashboardSignInLinks.usedAt} is not null`, lt(dashboardSignInLinks.expiresAt, now)))
    .returning({ tokenHash: dashboardSignInLinks.tokenHash });
  return { sessions: sessions.length, links: links.length };
}
