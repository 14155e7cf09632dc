import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../../src/core/config.js';
import { defaultRetryScheduleMs } from '../../../src/core/webhooks/webhook-retry.js';

test('when no webhook retry schedule is configured, then deliveries use the three-day default', () => {
  assert.deepEqual(loadConfig({}).webhooks.retryScheduleMs, defaultRetryScheduleMs());
});

test('when a retry schedule is configured, then its durations are read in milliseconds, in order', () => {
  const config = loadConfig({ PIXELSHIFT_WEBHOOK_RETRY_SCHEDULE: '300ms, 5s,2m,1h,1d' });
  assert.deepEqual(config.webhooks.retryScheduleMs, [300, 5_000, 120_000, 3_600_000, 86_400_000]);
});

test('when the retry schedule is malformed, then start-up stops naming the variable', () => {
  for (const value of ['', '5s,,1m', '5 seconds', '5ms', '2d', Array(101).fill('1s').join(',')]) {
    assert.throws(
      () => loadConfig({ PIXELSHIFT_WEBHOOK_RETRY_SCHEDULE: value }),
      (error: unknown) =>
        error instanceof ConfigError && error.message.includes('PIXELSHIFT_WEBHOOK_RETRY_SCHEDULE'),
      value.slice(0, 20),
    );
  }
});
