/** The dashboard's formatting: numbers and sizes by locale, local dates with UTC for the title, the 24-hour chart. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  formatBytes,
  formatDuration,
  formatLocalDateTime,
  formatNumber,
  formatUtc,
  hourBars,
} from '../../dashboard/src/format.js';

describe('numbers and sizes', () => {
  test('when numbers are formatted, then digits are grouped as the locale groups them', () => {
    assert.equal(formatNumber(1234567, 'en-US'), '1,234,567');
    assert.equal(formatNumber(1234567, 'de-DE'), '1.234.567');
    assert.equal(formatNumber(undefined), '—');
    assert.equal(formatNumber(Number.NaN), '—');
  });

  test('when byte sizes are formatted, then they use powers of 1024 with one decimal', () => {
    assert.equal(formatBytes(512, 'en-US'), '512 B');
    assert.equal(formatBytes(1536, 'en-US'), '1.5 KB');
    assert.equal(formatBytes(5 * 1024 ** 3, 'en-US'), '5 GB');
    assert.equal(formatBytes(-1), '—');
  });

  test('when durations are formatted, then the unit fits their size', () => {
    assert.equal(formatDuration(350), '350 ms');
    assert.equal(formatDuration(185_000), '3 min 5 s');
    assert.equal(formatDuration(2 * 3_600_000 + 5 * 60_000), '2 h 5 min');
    assert.equal(formatDuration(null), '—');
  });
});

describe('dates', () => {
  test('when an instant is shown, then it is in the given time zone, with its UTC form for the title', () => {
    const iso = '2026-12-03T21:04:05.000Z';
    assert.match(
      formatLocalDateTime(iso, { locale: 'en-GB', timeZone: 'Asia/Tokyo' }),
      /4 Dec 2026.*06:04:05/,
    );
    assert.equal(formatUtc(iso), '2026-12-03 21:04:05 UTC');
    assert.equal(formatLocalDateTime('not a date'), '—');
    assert.equal(formatUtc(null), '');
  });
});

describe('hourBars', () => {
  test('when usage has gaps, then the last 24 hours are all there, missing ones as zeros, partial counted as failed', () => {
    const now = new Date('2026-12-03T21:30:00.000Z');
    const bars = hourBars(
      [
        { start: '2026-12-03T21:00:00.000Z', graphs: { succeeded: 5, partial: 1, failed: 2 } },
        { start: '2026-12-03T10:00:00.000Z', graphs: { succeeded: 1, partial: 0, failed: 0 } },
        { start: '2026-12-01T10:00:00.000Z', graphs: { succeeded: 99, partial: 0, failed: 0 } },
      ],
      now,
    );

    assert.equal(bars.length, 24);
    assert.equal(bars[0]!.start, '2026-12-02T22:00:00.000Z');
    assert.deepEqual(bars.at(-1), { start: '2026-12-03T21:00:00.000Z', succeeded: 5, failed: 3 });
    assert.equal(bars.find((bar) => bar.start === '2026-12-03T10:00:00.000Z')?.succeeded, 1);
    assert.equal(
      bars.reduce((sum, bar) => sum + bar.succeeded, 0),
      6,
    );
  });
});
