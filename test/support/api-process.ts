import { spawn, type ChildProcess } from 'node:child_process';

export interface ApiProcess {
  child: ChildProcess;
  /** Where it listens, as it printed it (`API listening on …`). */
  url: string;
  /** Everything it wrote to stderr so far (its start-up and stop lines). */
  stderr(): string;
}

/**
 * Starts the real `pixelshift api` in a child process and resolves once it listens. `PORT` in `env`
 * decides the port (`0`: any free one, read back from the line it prints).
 */
export function startApiProcess(env: NodeJS.ProcessEnv): Promise<ApiProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/app/main.ts', 'api'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const listening = /API listening on (http:\/\/[^ ]+)/.exec(stderr);
      if (listening) resolve({ child, url: listening[1]!, stderr: () => stderr });
    });
    child.once('exit', (code) => reject(new Error(`api exited (${code}) before listening: ${stderr}`)));
  });
}

/** Resolves when the process has exited, with its exit code (null when a signal ended it). */
export function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}
