/**
 * Dashboard users (migration 0010): people who sign in to the dashboard, each in one account. Emails are
 * kept in lower case, so an address is one user however it is typed; passwords only as scrypt hashes.
 */
import { randomBytes } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { hashPassword } from '../core/auth/passwords.js';
import { randomToken } from '../core/ids.js';
import type { Db } from './database.js';
import { dashboardUsers, type DashboardUserRow } from './schema.js';

/** RFC 5321's limit on a path is 256 octets; 254 is the longest address that fits in one. */
export const MAX_EMAIL_LENGTH = 254;

/** One `@`, something on each side, no spaces or control characters (the server sends no mail). */
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
export const emailPattern = /^[^\s@\u0000-\u001f\u007f]{1,64}@[^\s@\u0000-\u001f\u007f]{1,253}$/;

export const emailSchema = z
  .string()
  .max(MAX_EMAIL_LENGTH)
  .regex(emailPattern, { error: 'Expected an email address such as ada@example.com' });

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export type DashboardUser = Omit<DashboardUserRow, 'passwordHash'>;

export interface NewDashboardUser {
  accountId: string;
  email: string;
  password: string;
}

export function newDashboardUserId(): string {
  return `usr_${randomToken(15)}`;
}

function publicUser(row: DashboardUserRow): DashboardUser {
  return { id: row.id, accountId: row.accountId, email: row.email, createdAt: row.createdAt };
}

/** Inserts a user; fails (unique violation) when the email is taken, in any account. */
export async function createDashboardUser(db: Db, user: NewDashboardUser): Promise<DashboardUser> {
  const passwordHash = await hashPassword(user.password);
  const [row] = await db
    .insert(dashboardUsers)
    .values({
      id: newDashboardUserId(),
      accountId: user.accountId,
      email: normalizeEmail(user.email),
      passwordHash,
    })
    .returning();
  if (!row) throw new Error(`dashboard user ${user.email} was not inserted`);
  return publicUser(row);
}

/**
 * The user with this email, created with an unguessable random password when missing (the dev user of
 * `npm start`, who signs in through one-time links). An existing user keeps its password and account.
 */
export async function ensureDashboardUser(
  db: Db,
  user: { accountId: string; email: string },
): Promise<DashboardUser> {
  const existing = await findDashboardUserByEmail(db, user.email);
  if (existing) return publicUser(existing);
  const passwordHash = await hashPassword(randomBytes(32).toString('base64url'));
  await db
    .insert(dashboardUsers)
    .values({
      id: newDashboardUserId(),
      accountId: user.accountId,
      email: normalizeEmail(user.email),
      passwordHash,
    })
    .onConflictDoNothing();
  const row = await findDashboardUserByEmail(db, user.email);
  if (!row) throw new Error(`dashboard user ${user.email} vanished right after it was ensured`);
  return publicUser(row);
}

/** The user with this email (any case), with its password hash: for sign-in only. */
export async function findDashboardUserByEmail(db: Db, email: string): Promise<DashboardUserRow | undefined> {
  const [row] = await db
    .select()
    .from(dashboardUsers)
    .where(eq(dashboardUsers.email, normalizeEmail(email)))
    .limit(1);
  return row;
}

export async function getDashboardUser(db: Db, id: string): Promise<DashboardUser | undefined> {
  const [row] = await db.select().from(dashboardUsers).where(eq(dashboardUsers.id, id)).limit(1);
  return row ? publicUser(row) : undefined;
}

/** Every user, or one account's, by email. */
export async function listDashboardUsers(db: Db, accountId?: string): Promise<DashboardUser[]> {
  const rows = await db
    .select()
    .from(dashboardUsers)
    .where(accountId === undefined ? undefined : eq(dashboardUsers.accountId, accountId))
    .orderBy(asc(dashboardUsers.accountId), asc(dashboardUsers.email));
  return rows.map(publicUser);
}

/** Deletes the user; its sessions and sign-in links go with it (ON DELETE CASCADE). */
export async function deleteDashboardUser(db: Db, email: string): Promise<DashboardUser | undefined> {
  const [row] = await db
    .delete(dashboardUsers)
    .where(eq(dashboardUsers.email, normalizeEmail(email)))
    .returning();
  return row ? publicUser(row) : undefined;
}
