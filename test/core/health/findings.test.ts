import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { withinDeadline } from '../../../src/core/health/findings.js';

describe('withinDeadline', () => {
  const timedOut = () => 'timed out';
  const failed = (error: unknown) => `failed: ${(error as Error).message}`;

  test('when the check answers in time, then its answer is the result', async () => {
    assert.equal(await withinDeadline(1_000, () => Promise.resolve('ok'), timedOut, failed), 'ok');
  });

  test('when the check never answers, then the result is the timeout and the check is told to stop', async () => {
    let seen: AbortSignal | undefined;
    const result = await withinDeadline(
      20,
      (signal) => {
        seen = signal;
        return new Promise<string>(() => undefined);
      },
      timedOut,
      failed,
    );
    assert.equal(result, 'timed out');
    assert.equal(seen?.aborted, true);
  });

  test('when the check throws, then the result describes the failure instead of rejecting', async () => {
    const result = await withinDeadline(1_000, () => Promise.reject(new Error('boom')), timedOut, failed);
    assert.equal(result, 'failed: boom');
  });
});
