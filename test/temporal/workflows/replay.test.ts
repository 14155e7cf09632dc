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
import { batchCodeGeneration, graphCodeGeneration } from '../../../src/temporal/workflows/definitions.js';

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

  test("when a graph started with the current generation was run by an older worker during a rollout, then its history, with that worker's patch markers, replays", async () => {
    // The last histories recorded before graphs carried a generation, as if a newer batch had started them.
    const older = files.filter((file) => file.startsWith('v7-') && file.includes('-graph_'));
    assert.ok(older.length >= 4, 'v7 graph histories are recorded');
    assert.deepEqual(await replayStartedWith(older, graphCodeGeneration), []);
  });

  test("when a batch started with the current generation was run by an older worker during a rollout, then its history, with that worker's patch markers, replays", async () => {
    // The last histories recorded before batches carried a generation, as if a newer API had started them.
    const older = files.filter((file) => file.startsWith('v8-') && file.includes('-batch_'));
    assert.ok(older.length >= 2, 'v8 batch histories are recorded');
    assert.deepEqual(await replayStartedWith(older, batchCodeGeneration), []);
  });
});

/** Replays recorded histories as if their executions had been started with `generation`; the failures. */
async function replayStartedWith(recorded: string[], generation: number): Promise<string[]> {
  installTemporalRuntime({ level: 'ERROR' });
  const workflowBundle = await loadWorkflowBundle();
  const histories = recorded.map((file) => {
    const history = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as RecordedHistory;
    const started = history.events[0]!.workflowExecutionStartedEventAttributes!.input!.payloads[0]!;
    const input = JSON.parse(Buffer.from(started.data, 'base64').toString()) as Record<string, unknown>;
    assert.equal(input.generation, undefined);
    started.data = Buffer.from(JSON.stringify({ ...input, generation })).toString('base64');
    return { workflowId: file, history };
  });
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  return failures;
}

/** The parts of a recorded history (the CLI's JSON format) that the rollout test rewrites. */
interface RecordedHistory {
  events: { workflowExecutionStartedEventAttributes?: { input?: { payloads: { data: string }[] } } }[];
}
