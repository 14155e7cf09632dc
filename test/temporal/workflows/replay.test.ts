/**
 * Determinism guard (docs/architecture.md §7): every recorded history in ./histories must replay against the current
 * workflow code. A change that breaks this needs `patched()` for executions already running.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { Worker } from '@temporalio/worker';
import { installTemporalRuntime } from '../../../src/temporal/worker/runtime.js';
import { loadWorkflowBundle } from '../../../src/temporal/worker/workflow-bundle.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'histories');
const files = readdirSync(dir).filter((file) => file.endsWith('.json'));

describe('recorded workflow histories replay against the current code', () => {
  test('when the recorded histories are replayed, then none is non-deterministic', async () => {
    installTemporalRuntime({ level: 'ERROR' });
    assert.ok(files.length >= 5, 'histories are recorded');
    const workflowBundle = await loadWorkflowBundle();
    const histories = files.map((file) => ({
      workflowId: file,
      // The worker decodes the CLI's JSON history format itself.
      history: JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as unknown,
    }));
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    assert.deepEqual(failures, []);
  });
});
