import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  defaultRetryScheduleMs,
  honoursRetryAfter,
  isLastAttempt,
  maxRetryAfterMs,
  nextDelayMs,
  parseRetryAfter,
} from '../../../src/core/webhooks/webhook-retry.js';

const now = new Date('2026-03-01T12:00:00Z');

describe('delivery retry schedule', () => {
  test('when the default schedule is summed, then it spans about three days and starts within seconds', () => {
    const schedule = defaultRetryScheduleMs();
    const hours = schedule.reduce((sum, delay) => sum + delay, 0) / 3_600_000;
    assert.ok(hours > 66 && hours <= 72, `${hours} h`);
    assert.equal(schedule[0], 5_000);
    assert.ok(schedule.every((delay, i) => i === 0 || delay >= schedule[i - 1]!));
  });

  test('when attempts fail, then each waits its scheduled delay and the schedule then gives up', () => {
    const schedule = [100, 200, 300];
    assert.equal(nextDelayMs(schedule, 1), 100);
    assert.equal(nextDelayMs(schedule, 3), 300);
    assert.equal(nextDelayMs(schedule, 4), undefined);
  });

  test('when every attempt of a delivery fails on the default schedule, then it tries once more than there are delays, over about three days, and the last attempt is the final one', () => {
    const schedule = defaultRetryScheduleMs();
    let waitedMs = 0;
    let attempt = 1;
    const finals: boolean[] = [];
    for (;;) {
      finals.push(isLastAttempt(schedule, attempt));
      const delay = nextDelayMs(schedule, attempt);
      if (delay === undefined) break;
      waitedMs += delay;
      attempt += 1;
    }
    assert.equal(attempt, schedule.length + 1);
    assert.deepEqual(finals, [...schedule.map(() => false), true]);
    const hours = waitedMs / 3_600_000;
    assert.ok(hours > 66 && hours <= 72, `${hours} h`);
  });

  test('when the receiver gave a Retry-After, then it replaces the scheduled delay but not the count', () => {
    assert.equal(nextDelayMs([100, 200], 1, 2_000), 2_000);
    assert.equal(nextDelayMs([100, 200], 2, 0), 0);
    assert.equal(nextDelayMs([100, 200], 3, 2_000), undefined);
  });

  test('only 429 and 503 have their Retry-After honoured', () => {
    assert.deepEqual([429, 503, 500, 502, 301, 200].map(honoursRetryAfter), [
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
  });
});

describe('Retry-After parsing', () => {
  const cases: [string | string[] | undefined, number | undefined][] = [
    ['2', 2_000],
    [' 120 ', 120_000],
    ['0', 0],
    [['3', '9'], 3_000],
    ['Sun, 01 Mar 2026 12:00:30 GMT', 30_000],
    ['Sun, 01 Mar 2026 11:00:00 GMT', 0],
    ['99999999', maxRetryAfterMs],
    ['Fri, 01 Jan 2100 00:00:00 GMT', maxRetryAfterMs],
    [undefined, undefined],
    ['', undefined],
    ['-5', undefined],
    ['1.5', undefined],
    ['soon', undefined],
    ['12abc', undefined],
    ['2026-03-01', undefined],
    ['x'.repeat(10_000), undefined],
  ];
  for (const [header, expected] of cases) {
    test(`when Retry-After is ${JSON.stringify(header)?.slice(0, 40)}, then the delay is ${expected}`, () => {
      assert.equal(parseRetryAfter(header, now), expected);
    });
  }
});
