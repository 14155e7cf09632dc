/**
 * Formatting for display: numbers with Intl.NumberFormat, byte sizes, dates in the viewer's local time
 * (with the UTC instant for a `title`), durations. Pure: no DOM, so node's test runner checks them.
 */

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

/** A count, grouped as the viewer's locale groups digits. */
export function formatNumber(value: number | null | undefined, locale?: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return (locale ? new Intl.NumberFormat(locale, { maximumFractionDigits: 0 }) : integer).format(value);
}

const byteUnits = ['B', 'KB', 'MB', 'GB', 'TB'] as const;

/** A byte size in powers of 1024 with one decimal (`1.5 MB`); whole bytes below 1 KB. */
export function formatBytes(bytes: number | null | undefined, locale?: string): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return '—';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < byteUnits.length - 1) {
    value /= 1024;
    unit++;
  }
  const format = locale ? new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }) : decimal;
  return `${unit === 0 ? formatNumber(value, locale) : format.format(value)} ${byteUnits[unit]}`;
}

/** An ISO instant in the viewer's time zone (or `timeZone`), e.g. `3 Dec 2026, 21:04:05`. */
export function formatLocalDateTime(
  iso: string | null | undefined,
  options: { locale?: string; timeZone?: string } = {},
): string {
  const date = parseInstant(iso);
  if (!date) return '—';
  return new Intl.DateTimeFormat(options.locale, {
    dateStyle: 'medium',
    timeStyle: 'medium',
    ...(options.timeZone ? { timeZone: options.timeZone } : {}),
  }).format(date);
}

/** The same instant in UTC, for the `title` shown on hover: `2026-12-03 21:04:05 UTC`. */
export function formatUtc(iso: string | null | undefined): string {
  const date = parseInstant(iso);
  if (!date) return '';
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** How long from `from` to `to` (ms), as `350 ms`, `4.2 s`, `3 min 5 s`, `2 h 5 min`. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${decimal.format(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.floor(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A valid Date of an ISO string, or undefined. */
function parseInstant(iso: string | null | undefined): Date | undefined {
  if (!iso) return undefined;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** One hour of the Overview's chart. */
export interface HourBar {
  /** The hour's start, ISO. */
  start: string;
  succeeded: number;
  /** Failed and partially failed graphs. */
  failed: number;
}

interface UsageHour {
  start: string;
  graphs: { succeeded: number; partial: number; failed: number };
}

/** The last `hours` whole hours up to `now` (the current one included), missing hours as zeros. */
export function hourBars(buckets: readonly UsageHour[], now: Date, hours = 24): HourBar[] {
  const byStart = new Map(buckets.map((bucket) => [new Date(bucket.start).getTime(), bucket]));
  const currentHour = Math.floor(now.getTime() / 3_600_000) * 3_600_000;
  const bars: HourBar[] = [];
  for (let i = hours - 1; i >= 0; i--) {
    const start = currentHour - i * 3_600_000;
    const bucket = byStart.get(start);
    bars.push({
      start: new Date(start).toISOString(),
      succeeded: bucket?.graphs.succeeded ?? 0,
      failed: (bucket?.graphs.failed ?? 0) + (bucket?.graphs.partial ?? 0),
    });
  }
  return bars;
}
