import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Starts the real `pixelshift worker` in a child process and resolves once it polls. MALLOC_ARENA_MAX is
 * set up front, so the process a test kills is the worker itself, not a parent that re-executes it.
 */
export function startWorkerProcess(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/app/main.ts', 'worker'], {
    env: { ...env, MALLOC_ARENA_MAX: '2' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('worker polling')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before polling: ${stderr}`)));
  });
}
