/**
 * The throttle's state in PostgreSQL (docs/architecture.md §9, §12): one row per graph run holding its start slot, and
 * the account's limit. Reservations and limit changes take a transaction-scoped advisory lock keyed by
 * the account, so API replicas and workers anywhere serialise per account (and only per account:
 * accounts never wait for each other). Times come from the database clock unless a test passes `now`, so machines with skewed
 * clocks still agree on one timeline.
 */
import { and, asc, desc, eq, inArray, lte, sql } from 'drizzle-orm';
import { queryRows, type Db } from './database.js';
import { throttleReservations, throttleSettings } from './schema.js';
import {
  DEFAULT_TRANSFORMS_PER_HOUR,
  projectedSlot,
  projectionBase,
  reschedule,
} from '../core/throttle/throttle-schedule.js';

/**
 * First key of the two-key advisory locks the throttle takes ("pixs"); the account's hash is the second.
 * The SQL function `throttle_reserve` (migration 0003) takes the same lock.
 */
const THROTTLE_LOCK_CLASS = 1885960307;

/** Rows per UPDATE when a limit change moves many waiting slots. */
const UPDATE_CHUNK = 500;

export interface ReserveRequest {
  accountId: string;
  /** The graph workflow ID: a second reservation for it returns the first. */
  graphKey: string;
  windowMs: number;
  /** Tests and benchmarks only; the database clock otherwise. */
  now?: Date;
  /** Also record on the graph's read-model row whether it waits or starts (what the worker does). */
  recordOnRun?: boolean;
}

export interface Reservation {
  slotAt: Date;
  /** The clock the slot was decided on: `slotAt - now` is how long to wait. */
  now: Date;
  /** False when the graph already held this reservation (a retry, a replay, a crash after commit). */
  created: boolean;
}

async function lockAccount(tx: Db, accountId: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${THROTTLE_LOCK_CLASS}::int4, hashtext(${accountId}))`);
}

/** The database clock, in milliseconds (clock_timestamp: the time of the call, not of the transaction). */
export async function databaseNow(db: Db): Promise<Date> {
  const [row] = await queryRows<{ ms: number | string }>(
    db,
    sql`select (extract(epoch from clock_timestamp()) * 1000)::float8 as ms`,
  );
  return new Date(Math.floor(Number(row?.ms)));
}

export async function getLimit(db: Db, accountId: string): Promise<number> {
  const [row] = await db
    .select({ limit: throttleSettings.transformsPerHour })
    .from(throttleSettings)
    .where(eq(throttleSettings.accountId, accountId))
    .limit(1);
  return row?.limit ?? DEFAULT_TRANSFORMS_PER_HOUR;
}

/** The latest reservation (highest seq, hence latest slot) of the account. */
async function lastReservation(
  db: Db,
  accountId: string,
): Promise<{ seq: number; slotAt: Date } | undefined> {
  const [row] = await db
    .select({ seq: throttleReservations.seq, slotAt: throttleReservations.slotAt })
    .from(throttleReservations)
    .where(eq(throttleReservations.accountId, accountId))
    .orderBy(desc(throttleReservations.seq))
    .limit(1);
  return row;
}

/**
 * The slot of the reservation at sequence `seq`, or of the nearest one before it when that one was
 * released. The nearest earlier row is at least as recent as the one the rule means (fewer rows lie
 * between), so its slot is never earlier: gaps make the answer cautious, never over the limit.
 */
async function slotAtOrBefore(db: Db, accountId: string, seq: number): Promise<Date | undefined> {
  if (seq < 1) return undefined;
  const [row] = await db
    .select({ slotAt: throttleReservations.slotAt })
    .from(throttleReservations)
    .where(and(eq(throttleReservations.accountId, accountId), lte(throttleReservations.seq, seq)))
    .orderBy(desc(throttleReservations.seq))
    .limit(1);
  return row?.slotAt;
}

/** Rows whose slot is a window old constrain nothing any more (see src/core/throttle/throttle-schedule.ts). */
async function purge(tx: Db, accountId: string, cutoff: Date): Promise<void> {
  await tx
    .delete(throttleReservations)
    .where(and(eq(throttleReservations.accountId, accountId), lte(throttleReservations.slotAt, cutoff)));
}

/**
 * The graph's start slot: the one it already holds, or the next free one. One statement, the SQL function
 * `throttle_reserve` (migration 0003): it takes the account's lock, reads what the rule needs, purges,
 * inserts and commits, so the lock is never held across a client round trip and concurrent reservations
 * from any number of processes are laid out one after another. The rule is throttle-schedule.ts `slotAfter`.
 */
export async function reserveSlot(db: Db, request: ReserveRequest): Promise<Reservation> {
  // The recording variant (migration 0008) also moves the graph's read-model row, in the same statement.
  const reserve = request.recordOnRun ? sql`throttle_reserve_and_record` : sql`throttle_reserve`;
  const [row] = await queryRows<{ slot_ms: number; now_ms: number; created: boolean }>(
    db,
    sql`select slot_ms, now_ms, created from ${reserve}(
      ${request.accountId}, ${request.graphKey}, ${request.windowMs}::float8,
      ${DEFAULT_TRANSFORMS_PER_HOUR}::int4, ${request.now?.toISOString() ?? null}::timestamptz)`,
  );
  if (!row) throw new Error('throttle_reserve returned no row');
  return {
    slotAt: new Date(Math.round(Number(row.slot_ms))),
    now: new Date(Math.round(Number(row.now_ms))),
    created: row.created,
  };
}

/**
 * Gives back the slot of a graph that will not run (cancelled before it started). No lock: deleting a
 * row can only loosen what concurrent reservations computed. True when there was a reservation.
 */
export async function releaseSlot(db: Db, accountId: string, graphKey: string): Promise<boolean> {
  const deleted = await db
    .delete(throttleReservations)
    .where(and(eq(throttleReservations.accountId, accountId), eq(throttleReservations.graphKey, graphKey)))
    .returning({ graphKey: throttleReservations.graphKey });
  return deleted.length > 0;
}

export interface LimitChange {
  previous: number;
  limit: number;
  /** Graphs whose waiting slot moved, with the new slot: they must be told (a signal) to look again. */
  moved: { graphKey: string; slotAt: Date }[];
  /** Every graph still waiting after the change (moved or not). */
  waiting: string[];
}

/**
 * Sets the account's limit and, under the same lock, lays its waiting reservations out again under it
 * (throttle-schedule.ts `reschedule`): started ones stay, waiting ones keep their order and move earlier or later.
 */
export async function setLimit(
  db: Db,
  request: { accountId: string; limit: number; windowMs: number; now?: Date },
): Promise<LimitChange> {
  const { accountId, limit, windowMs } = request;
  return db.transaction(async (tx) => {
    await lockAccount(tx, accountId);
    const now = request.now ?? (await databaseNow(tx));
    const previous = await getLimit(tx, accountId);
    await tx
      .insert(throttleSettings)
      .values({ accountId, transformsPerHour: limit })
      .onConflictDoUpdate({
        target: throttleSettings.accountId,
        set: { transformsPerHour: limit, updatedAt: sql`now()` },
      });
    const cutoff = new Date(now.getTime() - windowMs);
    await purge(tx, accountId, cutoff);
    const rows = await tx
      .select({ graphKey: throttleReservations.graphKey, slotAt: throttleReservations.slotAt })
      .from(throttleReservations)
      .where(eq(throttleReservations.accountId, accountId))
      .orderBy(asc(throttleReservations.seq));
    const nowMs = now.getTime();
    // Slots never decrease along seq, so the started ones come first.
    const firstWaiting = rows.findIndex((row) => row.slotAt.getTime() > nowMs);
    const started = firstWaiting === -1 ? rows : rows.slice(0, firstWaiting);
    const waiting = firstWaiting === -1 ? [] : rows.slice(firstWaiting);
    const slots = reschedule(
      started.map((row) => row.slotAt.getTime()),
      waiting.length,
      { limit, windowMs },
      nowMs,
    );
    const moved = waiting.flatMap((row, i) =>
      slots[i] === row.slotAt.getTime() ? [] : [{ graphKey: row.graphKey, slotAt: new Date(slots[i]!) }],
    );
    for (let start = 0; start < moved.length; start += UPDATE_CHUNK) {
      const values = moved
        .slice(start, start + UPDATE_CHUNK)
        .map((row) => sql`(${row.graphKey}, ${row.slotAt.toISOString()}::timestamptz)`);
      await tx.execute(sql`
        update throttle_reservations as r set slot_at = v.slot_at
        from (values ${sql.join(values, sql`, `)}) as v (graph_key, slot_at)
        where r.account_id = ${accountId} and r.graph_key = v.graph_key`);
    }
    return { previous, limit, moved, waiting: waiting.map((row) => row.graphKey) };
  });
}

/** The slots some graphs of the account hold (those without a reservation are absent). */
export async function slotsOf(
  db: Db,
  accountId: string,
  graphKeys: readonly string[],
): Promise<Map<string, Date>> {
  if (graphKeys.length === 0) return new Map();
  const rows = await db
    .select({ graphKey: throttleReservations.graphKey, slotAt: throttleReservations.slotAt })
    .from(throttleReservations)
    .where(
      and(
        eq(throttleReservations.accountId, accountId),
        inArray(throttleReservations.graphKey, [...graphKeys]),
      ),
    );
  return new Map(rows.map((row) => [row.graphKey, row.slotAt]));
}

export interface Projection {
  limit: number;
  now: Date;
  /** When the last of the new graphs would start if they reserved now, in order, under the current limit. */
  lastStartAt: Date;
}

/**
 * Read-only: when the last of `count` graphs would start if they reserved now, after everything the
 * account has reserved so far. Two index lookups, whatever the backlog (throttle-schedule.ts `projectionBase`).
 */
export async function projectStarts(
  db: Db,
  request: { accountId: string; count: number; windowMs: number; now?: Date },
): Promise<Projection> {
  const { accountId, count, windowMs } = request;
  const now = request.now ?? (await databaseNow(db));
  const limit = await getLimit(db, accountId);
  const last = await lastReservation(db, accountId);
  const { index, windows } = projectionBase(last?.seq ?? 0, Math.max(1, count), limit);
  const base = await slotAtOrBefore(db, accountId, index);
  const lastStart = projectedSlot(
    last?.slotAt.getTime(),
    base?.getTime(),
    windows,
    { limit, windowMs },
    now.getTime(),
  );
  return { limit, now, lastStartAt: new Date(lastStart) };
}

/** Every reservation of an account still in the table, oldest first (tests and operators). */
export async function listReservations(
  db: Db,
  accountId: string,
): Promise<{ graphKey: string; seq: number; slotAt: Date }[]> {
  return db
    .select({
      graphKey: throttleReservations.graphKey,
      seq: throttleReservations.seq,
      slotAt: throttleReservations.slotAt,
    })
    .from(throttleReservations)
    .where(eq(throttleReservations.accountId, accountId))
    .orderBy(asc(throttleReservations.seq));
}

export interface ThrottleUsage {
  accountId: string;
  /** Transforms per window. */
  limit: number;
  /** Slots that came within the last window (graphs started): what the limit bounds. */
  used: number;
  /** Slots still to come (graphs waiting). */
  waiting: number;
  /** Graphs still `throttled` although their slot came longer than `overdueMs` ago: their wait is stuck. */
  overdue: number;
}

/**
 * Every account that holds reservations, by the database clock: the table holds about one window of
 * starts plus the waiting work, so this is one pass over a small table (metrics read it on each scrape).
 */
export async function throttleUsage(
  db: Db,
  request: { windowMs: number; overdueMs: number },
): Promise<ThrottleUsage[]> {
  const rows = await queryRows<{
    account_id: string;
    transforms_limit: number | string;
    used: number | string;
    waiting: number | string;
    overdue: number | string;
  }>(
    db,
    sql`with clock as (select clock_timestamp() as now)
      select r.account_id,
        coalesce(s.transforms_per_hour, ${DEFAULT_TRANSFORMS_PER_HOUR}::int4) as transforms_limit,
        count(*) filter (where r.slot_at <= clock.now
          and r.slot_at > clock.now - make_interval(secs => ${request.windowMs / 1000}::float8)) as used,
        count(*) filter (where r.slot_at > clock.now) as waiting,
        count(g.workflow_id) as overdue
      from throttle_reservations r
      cross join clock
      left join throttle_settings s on s.account_id = r.account_id
      left join graph_runs g on g.workflow_id = r.graph_key and g.state = 'throttled'
        and r.slot_at < clock.now - make_interval(secs => ${request.overdueMs / 1000}::float8)
      group by r.account_id, s.transforms_per_hour
      order by r.account_id`,
  );
  return rows.map((row) => ({
    accountId: row.account_id,
    limit: Number(row.transforms_limit),
    used: Number(row.used),
    waiting: Number(row.waiting),
    overdue: Number(row.overdue),
  }));
}
