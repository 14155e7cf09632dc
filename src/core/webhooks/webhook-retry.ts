/**
 * When the next delivery attempt happens (docs/architecture.md §11): a fixed schedule of delays totalling about three
 * days, except that a receiver answering 429 or 503 with `Retry-After` decides the next delay itself
 * (capped, so a hostile header cannot park a delivery for a year). Pure; used by the delivery workflow
 * and the attempt activity.
 */

/** Longest `Retry-After` we honour. */
export const maxRetryAfterMs = 24 * 3_600_000;

/**
 * `Retry-After` as milliseconds from `now`: delta-seconds (`120`) or an HTTP date. Undefined when
 * absent or malformed; a date in the past is 0.
 */
export function parseRetryAfter(header: string | string[] | undefined, now: Date): number | undefined {
  const text = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!text) return undefined;
  if (/^\d{1,10}$/.test(text)) return Math.min(Number(text) * 1000, maxRetryAfterMs);
  // HTTP dates always name a weekday or a month: a bare number with junk is not one.
  if (!/[a-z]{3}/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now.getTime()), maxRetryAfterMs);
}

/** Statuses whose Retry-After we honour. */
export function honoursRetryAfter(status: number): boolean {
  return status === 429 || status === 503;
}

/**
 * Delay before attempt `failedAttempts + 1`, or undefined when the schedule is exhausted (give up).
 * `retryAfterMs` (already capped) replaces the scheduled delay.
 */
export function nextDelayMs(
  schedule: readonly number[],
  failedAttempts: number,
  retryAfterMs?: number,
): number | undefined {
  const scheduled = schedule[failedAttempts - 1];
  if (scheduled === undefined) return undefined;
  return retryAfterMs ?? scheduled;
}

/** Whether attempt number `attempt` (from 1) is the last the schedule allows: one more than its delays. */
export function isLastAttempt(schedule: readonly number[], attempt: number): boolean {
  return attempt > schedule.length;
}

/** The default schedule: 5 s, 30 s, 2 m, 10 m, 30 m, 1 h, 2 h, 4 h, 8 h, then 8 h until about 72 h. */
export function defaultRetryScheduleMs(): number[] {
  const minute = 60_000;
  const hour = 60 * minute;
  const head = [5_000, 30_000, 2 * minute, 10 * minute, 30 * minute, hour, 2 * hour, 4 * hour, 8 * hour];
  const schedule = [...head];
  let total = head.reduce((sum, delay) => sum + delay, 0);
  while (total + 8 * hour <= 72 * hour) {
    schedule.push(8 * hour);
    total += 8 * hour;
  }
  return schedule;
}
