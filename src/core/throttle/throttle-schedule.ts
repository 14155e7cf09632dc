/**
 * Where start slots go (docs/architecture.md §9): pure arithmetic over slot times in epoch milliseconds, tested without a
 * database. The database layer (src/db/throttle-reservations.ts) feeds it the few rows it needs and stores what it says.
 *
 * The rule: reservations are appended in order (FIFO), and a new one goes at
 *
 *     t = max(now, s[n-1], s[n-L] + W)
 *
 * where s are the account's slots so far in reservation order, L the limit and W the window. Then no
 * window [a, a + W) ever holds more than L slots, by induction: before the append every window held at
 * most L; a window that holds t starts after t - W, and since t >= s[n-1] it holds no slot later than t;
 * since t >= s[n-L] + W it holds none of s[0..n-L] either; so it holds at most s[n-L+1..n-1] and t, which
 * is L. `s[n-1]` keeps slots in reservation order (FIFO) even after a cancelled reservation leaves a gap;
 * `now` means nothing starts in the past. Slots at or before now - W constrain nothing (t >= now), which
 * is why older rows can be purged.
 */

export interface ThrottleRule {
  /** Starts allowed in any window. */
  limit: number;
  windowMs: number;
}

/** The limit of an account that never set one (docs/architecture.md §9). */
export const DEFAULT_TRANSFORMS_PER_HOUR = 1000;
export const MAX_TRANSFORMS_PER_HOUR = 1_000_000;

/**
 * The slot rule on its two inputs: the latest slot so far, and the slot `limit` places back from the new
 * one (undefined when there are fewer than `limit` earlier reservations).
 */
export function slotAfter(
  last: number | undefined,
  limitBack: number | undefined,
  rule: ThrottleRule,
  now: number,
): number {
  let slot = now;
  if (last !== undefined) slot = Math.max(slot, last);
  if (limitBack !== undefined) slot = Math.max(slot, limitBack + rule.windowMs);
  return slot;
}

/** The slot of one more reservation after `slots` (in reservation order, so ascending). */
export function nextSlot(slots: readonly number[], rule: ThrottleRule, now: number): number {
  const n = slots.length;
  return slotAfter(slots[n - 1], n >= rule.limit ? slots[n - rule.limit] : undefined, rule, now);
}

/** The slots of `count` reservations appended one by one after `slots`. */
export function appendSlots(
  slots: readonly number[],
  count: number,
  rule: ThrottleRule,
  now: number,
): number[] {
  const all = [...slots];
  for (let i = 0; i < count; i++) all.push(nextSlot(all, rule, now));
  return all.slice(slots.length);
}

/**
 * Which existing reservation bounds the last of `count` new ones, and by how many windows. Appending
 * gives s[i] = max(A, s[i-L] + W) for every new i, with A = max(now, s[n-1]) (the FIFO term only matters
 * for the first; slots never decrease); following i, i-L, i-2L… back to the first existing index gives
 * s[last] = max(A + (q-1)·W, s[e] + q·W) with q = ceil(count / L) and e = lastIndex + count - q·L.
 * So a projection needs two rows, however long the window or the backlog.
 */
export function projectionBase(
  lastIndex: number,
  count: number,
  limit: number,
): { index: number; windows: number } {
  const windows = Math.ceil(count / limit);
  return { index: lastIndex + count - windows * limit, windows };
}

/** The closed form of `projectionBase`: when the last of the new reservations would start. */
export function projectedSlot(
  last: number | undefined,
  base: number | undefined,
  windows: number,
  rule: ThrottleRule,
  now: number,
): number {
  const floor = Math.max(now, last ?? now) + (windows - 1) * rule.windowMs;
  return base === undefined ? floor : Math.max(floor, base + windows * rule.windowMs);
}

/** When the last of `count` (>= 1) new reservations would start after `existing` (ascending). */
export function projectLastStart(
  existing: readonly number[],
  count: number,
  rule: ThrottleRule,
  now: number,
): number {
  const { index, windows } = projectionBase(existing.length - 1, count, rule.limit);
  return projectedSlot(existing.at(-1), index >= 0 ? existing[index] : undefined, windows, rule, now);
}

/**
 * A changed limit: the started reservations (`past`, slots at or before now, ascending) stay where they
 * are; the waiting ones are laid out again in their original order under the new rule, never before now.
 * A raised limit moves them earlier, a lowered one later.
 */
export function reschedule(
  past: readonly number[],
  waitingCount: number,
  rule: ThrottleRule,
  now: number,
): number[] {
  return appendSlots(past, waitingCount, rule, now);
}

/** The most slots any window [a, a + W) holds (for tests and checks; slots in any order). */
export function maxInAnyWindow(slots: readonly number[], windowMs: number): number {
  const sorted = [...slots].sort((a, b) => a - b);
  let most = 0;
  let end = 0;
  for (let start = 0; start < sorted.length; start++) {
    while (end < sorted.length && sorted[end]! < sorted[start]! + windowMs) end++;
    most = Math.max(most, end - start);
  }
  return most;
}
