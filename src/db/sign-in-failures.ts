/**
 * Failed dashboard sign-ins, counted per email and per client address in the database (migration 0010),
 * so every API replica enforces the same limit. Fixed windows: the first failure opens a window of
 * `windowMs`; once a key has `limit` failures in its window, sign-in with it is refused until the window
 * ends. Keys are SHA-256 hashes: the table never holds the addresses or emails strangers tried.
 */
import { createHash } from 'node:crypto';
import { inArray, lt, sql } from 'drizzle-orm';
import type { Db } from './database.js';
import { signInFailures } from './schema.js';

export interface FailureCounter {
  key: string;
  /** Failures allowed within one window. */
  limit: number;
}

export function failureKey(kind: 'email' | 'address', value: string): string {
  return createHash('sha256').update(`${kind}:${value}`, 'utf8').digest('hex');
}

/** Milliseconds until the first full counter's window ends, or undefined when none is full at `now`. */
export async function lockedOutFor(
  db: Db,
  counters: readonly FailureCounter[],
  now: Date,
): Promise<number | undefined> {
  const rows = await db
    .select()
    .from(signInFailures)
    .where(
      inArray(
        signInFailures.key,
        counters.map((counter) => counter.key),
      ),
    );
  let wait: number | undefined;
  for (const row of rows) {
    const limit = counters.find((counter) => counter.key === row.key)?.limit ?? Infinity;
    const remaining = row.windowEndsAt.getTime() - now.getTime();
    if (row.failures >= limit && remaining > 0) wait = Math.max(wait ?? 0, remaining);
  }
  return wait;
}

/** Counts one failure against each key, opening a new window for keys whose window has ended. */
export async function recordFailure(
  db: Db,
  keys: readonly string[],
  windowMs: number,
  now: Date,
): Promise<void> {
  const windowEndsAt = new Date(now.getTime() + windowMs);
  const at = sql`${now.toISOString()}::timestamptz`;
  const ends = sql`${windowEndsAt.toISOString()}::timestamptz`;
  for (const key of keys) {
    await db
      .insert(signInFailures)
      .values({ key, windowEndsAt, failures: 1 })
      .onConflictDoUpdate({
        target: signInFailures.key,
        set: {
          failures: sql`case when ${signInFailures.windowEndsAt} <= ${at} then 1 else ${signInFailures.failures} + 1 end`,
          windowEndsAt: sql`case when ${signInFailures.windowEndsAt} <= ${at} then ${ends} else ${signInFailures.windowEndsAt} end`,
        },
      });
  }
}

/** Forgets the failures of these keys (an email's after its owner signed in). */
export async function clearFailures(db: Db, keys: readonly string[]): Promise<void> {
  if (keys.length > 0) await db.delete(signInFailures).where(inArray(signInFailures.key, [...keys]));
}

/** Deletes counters whose window has ended. */
export async function purgeEndedFailureWindows(db: Db, now: Date): Promise<number> {
  const rows = await db
    .delete(signInFailures)
    .where(lt(signInFailures.windowEndsAt, now))
    .returning({ key: signInFailures.key });
  return rows.length;
}
