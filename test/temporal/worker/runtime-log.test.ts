import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import type { LogEntry } from '@temporalio/worker';
import { formatLogEntry } from '../../../src/temporal/worker/runtime.js';

function workflowFailed(error: Error): LogEntry {
  return {
    level: 'WARN',
    message: 'Workflow failed',
    timestampNanos: 1_733_300_000_000_000_000n,
    meta: { error, workflowType: 'graphWorkflow', workflowId: 's3/default/uploads/broken.jpg/1/rule' },
  };
}

test('when a graph workflow fails for a classified reason, then the SDK’s "Workflow failed" line has its code and message and no stack', () => {
  const failure = ApplicationFailure.create({
    type: 'corrupt_input',
    message: 'The source is a damaged image whose header cannot be read',
    nonRetryable: true,
  });
  assert.ok(failure.stack?.includes('\n'), 'the failure carries a multi-line stack');
  const line = formatLogEntry(workflowFailed(failure));
  assert.doesNotMatch(line, /\n/);
  assert.match(line, /\[WARN\] Workflow failed .*corrupt_input: The source is a damaged image/);
  assert.match(line, /workflowId: 's3\/default\/uploads\/broken\.jpg\/1\/rule'/);
});

test('when a workflow fails with anything else, then its stack is kept, since that is a bug', () => {
  const bug = new TypeError('cannot read properties of undefined');
  assert.match(formatLogEntry(workflowFailed(bug)), /TypeError: cannot read properties of undefined\n\s+at /);
  const unknownType = ApplicationFailure.create({ type: 'SomethingElse', message: 'unclassified' });
  assert.match(formatLogEntry(workflowFailed(unknownType)), /\n\s+at /);
});
