import { spawn } from 'node:child_process';
import path from 'node:path';
import { ensurePipTarget } from './python-tools.js';
import { freePort, unrefStream, waitForPort } from './ports.js';

/** moto is pinned: its S3/SQS/SNS behaviour is part of what the tests assert. */
export const MOTO_REQUIREMENT = 'moto[server]==5.2.5';

export interface MotoServer {
  endpoint: string;
  port: number;
  /** The server process's id (benchmarks read its CPU time). */
  pid: number | undefined;
  stop(): Promise<void>;
}

export async function ensureMoto(): Promise<string> {
  return ensurePipTarget('moto-5.2.5', [MOTO_REQUIREMENT]);
}

/** Starts moto in server mode on a free loopback port; `stop()` ends it. */
export async function startMoto(): Promise<MotoServer> {
  const site = await ensureMoto();
  const port = await freePort();
  const child = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    env: {
      ...process.env,
      PYTHONPATH: [site, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
      // moto must never reach out for real credentials or regions.
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_DEFAULT_REGION: 'us-east-1',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await Promise.race([
      waitForPort(port),
      exited.then(() => {
        throw new Error(`moto exited before listening: ${stderr}`);
      }),
    ]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  // The server must not keep its owner's event loop alive: owners stop it explicitly.
  child.unref();
  unrefStream(child.stderr);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
