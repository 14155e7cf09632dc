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

test('when the failure arrives from the workflow thread as a copy with its one-line stack, then the line keeps its code and message', () => {
  const failure = ApplicationFailure.create({
    type: 'corrupt_input',
    message: 'premature end of JPEG image',
  });
  // What the graph workflow gives an expected failure, and what survives the structured clone to this thread.
  failure.stack = `corrupt_input: ${failure.message}`;
  const copy = structuredClone(failure);
  assert.equal((copy as { type?: string }).type, undefined, 'the copy has lost its type');
  const line = formatLogEntry(workflowFailed(copy));
  assert.doesNotMatch(line, /\n/);
  assert.match(line, /error: 'corrupt_input: premature end of JPEG image'/);
});

test('when a copied failure still has its frames, or its first line names no code, then its stack is kept', () => {
  const framed = structuredClone(ApplicationFailure.create({ type: 'corrupt_input', message: 'x' }));
  assert.match(formatLogEntry(workflowFailed(framed)), /\n\s+at /);
  const unknownCode = new Error('y');
  unknownCode.stack = 'not_a_code: y';
  assert.doesNotMatch(formatLogEntry(workflowFailed(unknownCode)), /error: 'not_a_code: y'/);
});
