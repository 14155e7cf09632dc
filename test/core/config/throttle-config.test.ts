import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig, parseDuration } from '../../../src/core/config.js';
import { storageConnectionsSchema } from '../../../src/core/storage/connections.js';

test('when no throttle is configured, then it is on with a one-hour window', () => {
  assert.deepEqual(loadConfig({}).throttle, { enabled: true, windowMs: 3_600_000 });
});

test('when the window is given as 1h, 10s, 3000ms, 90m or 1d, then it is read in milliseconds', () => {
  for (const [text, ms] of [
    ['1h', 3_600_000],
    ['10s', 10_000],
    ['3000ms', 3_000],
    ['90m', 5_400_000],
    ['1d', 86_400_000],
  ] as const) {
    assert.equal(loadConfig({ PIXELSHIFT_THROTTLE_WINDOW: text }).throttle.windowMs, ms, text);
    assert.equal(parseDuration(text), ms);
  }
  assert.equal(loadConfig({ PIXELSHIFT_THROTTLE: 'off' }).throttle.enabled, false);
});

test('when the window or the switch is malformed, then start-up stops naming the variable', () => {
  for (const [name, value] of [
    ['PIXELSHIFT_THROTTLE_WINDOW', '1 hour'],
    ['PIXELSHIFT_THROTTLE_WINDOW', '500ms'],
    ['PIXELSHIFT_THROTTLE_WINDOW', '8d'],
    ['PIXELSHIFT_THROTTLE_WINDOW', '-1h'],
    ['PIXELSHIFT_THROTTLE_WINDOW', ''],
    ['PIXELSHIFT_THROTTLE', 'maybe'],
  ] as const) {
    assert.throws(
      () => loadConfig({ [name]: value }),
      (error: unknown) => error instanceof ConfigError && error.message.includes(name),
      `${name}=${value}`,
    );
  }
});

test('when an S3 connection sets maxAttempts, then 1 to 10 are accepted and anything else refused', () => {
  const connection = (maxAttempts: unknown) => ({ default: { kind: 's3', region: 'x', maxAttempts } });
  for (const ok of [1, 3, 10]) assert.equal(storageConnectionsSchema.safeParse(connection(ok)).success, true);
  for (const bad of [0, 11, 2.5, '3']) {
    assert.equal(storageConnectionsSchema.safeParse(connection(bad)).success, false, String(bad));
  }
});
