import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClassifiedError, errorCodes, isRetryableCode, nonRetryableCodes } from '../../src/core/errors.js';

describe('error classes and retries', () => {
  it('when any error code is listed, then it is either retryable or non-retryable, never both or neither', () => {
    for (const code of errorCodes) {
      const nonRetryable = nonRetryableCodes.includes(code);
      assert.notEqual(isRetryableCode(code), nonRetryable, code);
    }
    assert.ok(nonRetryableCodes.every((code) => errorCodes.includes(code)));
  });

  it('when a failure is transient, then it alone is retried', () => {
    assert.deepEqual(
      errorCodes.filter((code) => isRetryableCode(code)),
      ['transient'],
    );
    assert.equal(new ClassifiedError('transient', 'store unreachable').retryable, true);
    assert.equal(new ClassifiedError('corrupt_input', 'truncated JPEG').retryable, false);
  });
});
