import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createActivities, type ActivityDeps } from '../../../src/temporal/activities/index.js';
import { MemoryGraphSource } from '../../support/memory-graphs.js';

describe('activity dependencies', () => {
  test('when a worker is wired without its throttle or webhooks, then creating its activities fails at once', () => {
    const partial = {
      graphs: new MemoryGraphSource(),
      stores: { get: () => assert.fail('no storage'), has: () => false, names: () => [], destroy() {} },
      imaging: { maxInputPixels: 1, maxSourceBytes: 1 },
    };
    assert.throws(
      () => createActivities(partial as unknown as ActivityDeps),
      /lack throttle, webhooks, runs$/,
    );
  });
});
