import assert from 'node:assert/strict';
import { isClassifiedError, type ErrorCode } from '../../src/core/errors.js';

/** Awaits a store call that must fail, and checks it failed as a ClassifiedError with that code. */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<Error> {
  const error = await promise.then(
    () => assert.fail(`expected a ${code} failure`),
    (caught: unknown) => caught,
  );
  assert.ok(isClassifiedError(error), `expected a ClassifiedError, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  return error;
}
