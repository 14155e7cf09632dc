/**
 * The account's usage (`GET /v1/account/usage`), from the `usage_hourly` counters the read model keeps
 * (docs/architecture.md §7.2): graphs by final state, transforms, megapixels read, bytes written, per UTC
 * hour or day. The range is whole buckets, every bucket of it is in the answer (zeros where nothing
 * happened, so a chart has no gaps), and one request covers at most 31 days hourly or 366 days daily.
 */
import { describeValue } from '../../core/graph/issues.js';
import type { Db } from '../../db/database.js';
import { usageOf, type UsageRow } from '../../db/graph-runs.js';
import { ApiError, type ApiIssue } from '../../api/api-error.js';
import { toCsv } from '../../api/csv.js';
import type { UsageFigures, UsageGranularity, UsageQuery, UsageReport } from './account.schemas.js';

const HOUR_MS = 3_600_000;
/** UTC days and hours are whole multiples of their length since the epoch: JavaScript time has no leap seconds. */
const bucketMs: Record<UsageGranularity, number> = { hour: HOUR_MS, day: 24 * HOUR_MS };
/** Buckets in the range when `from` is left out. */
const defaultBuckets: Record<UsageGranularity, number> = { hour: 24, day: 30 };
/** The most buckets one request covers: the answer stays small, and the read touches at most 8784 rows. */
export const maxBuckets: Record<UsageGranularity, number> = { hour: 31 * 24, day: 366 };

/** Instants outside these bounds hold no usage; the database is asked only between them. */
const FIRST_STORED = new Date(Date.UTC(1970, 0, 1));
const LAST_STORED = new Date(Date.UTC(9999, 0, 1));

export interface UsageRange {
  granularity: UsageGranularity;
  /** Start of the first bucket. */
  from: Date;
  /** End of the last bucket (exclusive). */
  to: Date;
}

const floorTo = (ms: number, size: number) => Math.floor(ms / size) * size;
const ceilTo = (ms: number, size: number) => Math.ceil(ms / size) * size;

function rangeIssue(query: UsageQuery, code: string, message: string): ApiIssue {
  // A range is reported on `from` when the client gave it (it sets how far back the range reaches).
  return { path: query.from === undefined ? '/to' : '/from', code, message };
}

/**
 * The whole buckets a validated query covers: `from` moved back to the start of its bucket, `to` on to the
 * end of its own. Defaults: `to` the end of the current bucket, `from` 24 hours or 30 days before `to`.
 * A range that is empty as asked (`from` at or after `to`) or longer than `maxBuckets` is a 400.
 */
export function usageRangeOf(query: UsageQuery, now: Date): UsageRange {
  const { granularity } = query;
  const size = bucketMs[granularity];
  const askedTo = query.to === undefined ? floorTo(now.getTime(), size) + size : Date.parse(query.to);
  const askedFrom =
    query.from === undefined
      ? ceilTo(askedTo, size) - defaultBuckets[granularity] * size
      : Date.parse(query.from);
  if (askedFrom >= askedTo) {
    const to =
      query.to === undefined
        ? `the end of the current ${granularity}, ${new Date(askedTo).toISOString()}`
        : describeValue(query.to);
    throw invalidQuery(
      rangeIssue(
        query,
        'inverted_range',
        `Expected from before to (${to}) but received ${describeValue(query.from)}`,
      ),
    );
  }
  const from = floorTo(askedFrom, size);
  const to = ceilTo(askedTo, size);
  const buckets = (to - from) / size;
  if (buckets > maxBuckets[granularity]) {
    const days = granularity === 'hour' ? ` (${maxBuckets.hour / 24} days)` : '';
    throw invalidQuery(
      rangeIssue(
        query,
        'range_too_long',
        `Expected a range of at most ${maxBuckets[granularity]} ${granularity}s${days} for from and to but received ${buckets} ${granularity}s`,
      ),
    );
  }
  return { granularity, from: new Date(from), to: new Date(to) };
}

function invalidQuery(issue: ApiIssue): ApiError {
  return new ApiError(400, 'invalid_request', 'The query is invalid', [issue]);
}

/** A pixel is a millionth of a megapixel: six decimals say it exactly, and hide float sums' noise. */
const roundMegapixels = (megapixels: number) => Math.round(megapixels * 1e6) / 1e6;

function figuresOf(row: UsageRow | undefined): UsageFigures {
  return {
    graphs: { ...(row?.graphs ?? { succeeded: 0, partial: 0, failed: 0, cancelled: 0 }) },
    transforms: row?.transforms ?? 0,
    megapixelsRead: roundMegapixels(row?.megapixelsRead ?? 0),
    bytesWritten: row?.bytesWritten ?? 0,
  };
}

function addFigures(sum: UsageFigures, figures: UsageFigures): UsageFigures {
  return {
    graphs: {
      succeeded: sum.graphs.succeeded + figures.graphs.succeeded,
      partial: sum.graphs.partial + figures.graphs.partial,
      failed: sum.graphs.failed + figures.graphs.failed,
      cancelled: sum.graphs.cancelled + figures.graphs.cancelled,
    },
    transforms: sum.transforms + figures.transforms,
    megapixelsRead: roundMegapixels(sum.megapixelsRead + figures.megapixelsRead),
    bytesWritten: sum.bytesWritten + figures.bytesWritten,
  };
}

/** The account's usage over the query's range, every bucket present; `now` ends the default range. */
export async function accountUsage(
  deps: { db: Db },
  accountId: string,
  query: UsageQuery,
  now = new Date(),
): Promise<UsageReport> {
  const range = usageRangeOf(query, now);
  const stored = new Date(Math.max(range.from.getTime(), FIRST_STORED.getTime()));
  const storedEnd = new Date(Math.min(range.to.getTime(), LAST_STORED.getTime()));
  const rows =
    stored < storedEnd
      ? await usageOf(deps.db, accountId, { granularity: range.granularity, from: stored, to: storedEnd })
      : [];
  const byStart = new Map(rows.map((row) => [row.start.getTime(), row]));
  const size = bucketMs[range.granularity];
  const buckets: UsageReport['buckets'] = [];
  let totals = figuresOf(undefined);
  for (let start = range.from.getTime(); start < range.to.getTime(); start += size) {
    const figures = figuresOf(byStart.get(start));
    buckets.push({ start: new Date(start).toISOString(), ...figures });
    totals = addFigures(totals, figures);
  }
  return {
    granularity: range.granularity,
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    buckets,
    totals,
  };
}

const csvHeader = [
  'start',
  'graphsSucceeded',
  'graphsPartial',
  'graphsFailed',
  'graphsCancelled',
  'transforms',
  'megapixelsRead',
  'bytesWritten',
];

/** The report as CSV: a header line, then one line per bucket (no totals line: every line is a bucket). */
export function usageCsv(report: UsageReport): string {
  return toCsv(
    csvHeader,
    report.buckets.map((bucket) => [
      bucket.start,
      bucket.graphs.succeeded,
      bucket.graphs.partial,
      bucket.graphs.failed,
      bucket.graphs.cancelled,
      bucket.transforms,
      bucket.megapixelsRead,
      bucket.bytesWritten,
    ]),
  );
}
