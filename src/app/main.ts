/**
 * The `pixelshift` command. Tracing (tracing.ts) starts first, when the environment asks for it, so that
 * its instrumentations see HTTP, `pg` and the AWS SDK load; the commands are imported after it.
 */
import { startTracing, type TracedProcess, type Tracing } from './tracing.js';

const argv = process.argv.slice(2);
let tracing: Tracing | undefined;
try {
  const traced = tracedProcess(argv[0], process.env);
  if (traced) tracing = await startTracing(process.env, traced);
  const { main } = await import('./cli.js');
  await main(argv, tracing);
} catch (error) {
  process.stderr.write(`pixelshift: ${(error as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await tracing?.shutdown().catch((error: unknown) => {
    process.stderr.write(`pixelshift: exporting the last spans failed: ${(error as Error).message}\n`);
  });
}

/**
 * The long-running commands trace; `dev` and `worker` only in the process that does the work, not in the
 * parent that re-executes itself with MALLOC_ARENA_MAX (wiring.ts).
 */
function tracedProcess(command: string | undefined, env: NodeJS.ProcessEnv): TracedProcess | undefined {
  if (command === 'api') return 'api';
  if ((command === 'worker' || command === 'dev') && env.MALLOC_ARENA_MAX) return command;
  return undefined;
}
