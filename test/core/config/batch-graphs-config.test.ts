import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../../src/core/config.js';

test('when PIXELSHIFT_BATCH_GRAPHS is not set, then batches run a child workflow per graph', () => {
  assert.deepEqual(loadConfig({}).batches, { graphsAs: 'children' });
});

test('when PIXELSHIFT_BATCH_GRAPHS is children or activities, then new batches take that shape', () => {
  assert.equal(loadConfig({ PIXELSHIFT_BATCH_GRAPHS: 'children' }).batches.graphsAs, 'children');
  assert.equal(loadConfig({ PIXELSHIFT_BATCH_GRAPHS: 'activities' }).batches.graphsAs, 'activities');
});

test('when PIXELSHIFT_BATCH_GRAPHS names another shape, then start-up stops naming the variable', () => {
  for (const value of [
    '',
    'Activities',
    'activity',
    'workflows',
    'children,activities',
    'a'.repeat(10_000),
  ]) {
    assert.throws(
      () => loadConfig({ PIXELSHIFT_BATCH_GRAPHS: value }),
      (error: unknown) => error instanceof ConfigError && error.message.includes('PIXELSHIFT_BATCH_GRAPHS'),
      value.slice(0, 20),
    );
  }
});
