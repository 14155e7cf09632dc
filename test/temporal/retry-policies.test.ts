import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorCodes, isRetryableCode } from '../../src/core/errors.js';
import { imagingActivityOptions } from '../../src/temporal/workflows/definitions.js';

describe('the imaging activity retry policy', () => {
  it('when a graph fails with a class that no retry can fix, then Temporal does not retry it', () => {
    const refused = new Set(imagingActivityOptions.retry?.nonRetryableErrorTypes);
    for (const code of errorCodes) assert.equal(refused.has(code), !isRetryableCode(code), code);
  });
});
