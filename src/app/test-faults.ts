/**
 * Test-only crash points for the end-to-end proof that the read model converges
 * (test/e2e/read-model-faults.test.ts, docs/architecture.md §7.2). `PIXELSHIFT_TEST_FAULT` names where the
 * worker process kills itself with SIGKILL, around the write that records an imaged graph's outcome:
 *
 * - `exit-before-recording`: the outputs are written, the row still says `running`;
 * - `exit-after-recording`: the row is final, but the imaging activity never reports its completion.
 *
 * Unset (always, outside those tests), the activities' dependencies are returned untouched.
 */
import type { GraphRunRecorder } from '../db/graph-runs.js';
import type { ActivityDeps } from '../temporal/activities/index.js';

export const testFaultVariable = 'PIXELSHIFT_TEST_FAULT';
export const testFaults = ['exit-before-recording', 'exit-after-recording'] as const;
export type TestFault = (typeof testFaults)[number];

/** The fault the environment arms, if any; an unknown name stops the start rather than being ignored. */
export function armedTestFault(env: NodeJS.ProcessEnv): TestFault | undefined {
  const value = env[testFaultVariable];
  if (value === undefined || value === '') return undefined;
  if (!(testFaults as readonly string[]).includes(value)) {
    throw new Error(`${testFaultVariable} must be one of ${testFaults.join(', ')}; got ${value}`);
  }
  return value as TestFault;
}

/** `deps` with the armed fault in its read-model recorder; `deps` itself when none is armed. */
export function withTestFault(deps: ActivityDeps, fault: TestFault | undefined): ActivityDeps {
  if (!fault) return deps;
  const { runs } = deps;
  const recorder: GraphRunRecorder = {
    ...runs,
    async advance(workflowId, change) {
      // Only the imaging activity's outcome carries sinks; every other write passes through.
      if (change.sinks === undefined) return runs.advance(workflowId, change);
      if (fault === 'exit-before-recording') return crash(`${fault} ${workflowId}`);
      await runs.advance(workflowId, change);
      return crash(`${fault} ${workflowId}`);
    },
  };
  return { ...deps, runs: recorder };
}

/** Dies as a killed process does: no shutdown, no activity failure reported, nothing flushed. */
function crash(where: string): Promise<never> {
  process.stderr.write(`test fault: killing the worker (${where})\n`);
  process.kill(process.pid, 'SIGKILL');
  return new Promise<never>(() => undefined);
}
