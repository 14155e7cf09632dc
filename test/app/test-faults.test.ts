import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { armedTestFault, withTestFault } from '../../src/app/test-faults.js';
import type { GraphRunAdvance } from '../../src/db/graph-runs.js';
import type { ActivityDeps } from '../../src/temporal/activities/index.js';

describe('test-only worker faults', () => {
  test('when PIXELSHIFT_TEST_FAULT is unset or empty, then no fault is armed and the dependencies are the same object', () => {
    assert.equal(armedTestFault({}), undefined);
    assert.equal(armedTestFault({ PIXELSHIFT_TEST_FAULT: '' }), undefined);
    const deps = { runs: { advance: () => Promise.resolve(true) } } as unknown as ActivityDeps;
    assert.equal(withTestFault(deps, undefined), deps);
  });

  test('when PIXELSHIFT_TEST_FAULT names no known fault, then the worker refuses to start', () => {
    assert.throws(
      () => armedTestFault({ PIXELSHIFT_TEST_FAULT: 'exit-somewhere' }),
      /PIXELSHIFT_TEST_FAULT must be one of exit-before-recording, exit-after-recording; got exit-somewhere/,
    );
  });

  test('when a fault is armed, then writes that carry no imaging outcome pass through untouched', async () => {
    const seen: [string, GraphRunAdvance][] = [];
    const deps = {
      runs: {
        advance: (workflowId: string, change: GraphRunAdvance) => {
          seen.push([workflowId, change]);
          return Promise.resolve(true);
        },
        finishBatch: () => Promise.resolve(),
      },
    } as unknown as ActivityDeps;
    const armed = withTestFault(deps, armedTestFault({ PIXELSHIFT_TEST_FAULT: 'exit-before-recording' }));
    assert.equal(await armed.runs.advance('wf-1', { state: 'running' }), true);
    const failed = { state: 'failed' as const, error: { code: 'cancelled', message: 'no' } };
    assert.equal(await armed.runs.advance('wf-2', failed), true);
    assert.deepEqual(seen, [
      ['wf-1', { state: 'running' }],
      ['wf-2', failed],
    ]);
  });
});
