/**
 * The Versity S3 Gateway (the S3 server of docker-compose.yml) for benchmarks that
 * ask for a production-grade S3 server in place of moto (`BENCH_S3=gateway`): a HEAD costs moto's Python
 * server about ten times the CPU it costs the gateway, so moto's share would say little about a real
 * deployment. Built once with `go install` into .tools/ (a minute on two cores), then started on a free
 * loopback port over a temp folder.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitForPort } from '../src/tools/ports.js';
import { toolsRoot } from '../src/tools/python-tools.js';

const run = promisify(execFile);
const gatewayModule = 'github.com/versity/versitygw/cmd/versitygw@v1.8.0';

export interface VersityGateway {
  endpoint: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

/** The gateway's executable, built from the Go module proxy when it is not there yet. */
async function ensureGateway(): Promise<string> {
  const bin = path.join(toolsRoot, `versitygw-${gatewayModule.split('@')[1]}`);
  const executable = path.join(bin, 'versitygw');
  if (existsSync(executable)) return executable;
  console.error(`building ${gatewayModule} into ${bin} (once)…`);
  await run('go', ['install', gatewayModule], {
    env: { ...process.env, GOBIN: bin },
    maxBuffer: 16 * 1024 * 1024,
  }).catch((error: unknown) => {
    throw new Error(`BENCH_S3=gateway needs Go to build ${gatewayModule}: ${(error as Error).message}`);
  });
  return executable;
}

/** Starts the gateway's posix backend with the given root credentials; `stop()` ends it and removes its data. */
export async function startVersityGateway(credentials: {
  accessKeyId: string;
  secretAccessKey: string;
}): Promise<VersityGateway> {
  const executable = await ensureGateway();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pixelshift-gateway-'));
  // Object metadata (content type) in a sidecar folder, which must lie outside the buckets' root.
  const [root, sidecars] = [path.join(dir, 'root'), path.join(dir, 'meta')];
  await Promise.all([mkdir(root), mkdir(sidecars)]);
  const port = await freePort();
  const child = spawn(
    executable,
    [
      '--port',
      `127.0.0.1:${port}`,
      // As docker-compose.yml runs it, and as S3 behaves: without it, every request opens a connection.
      '--keep-alive',
      '--access',
      credentials.accessKeyId,
      '--secret',
      credentials.secretAccessKey,
      'posix',
      '--sidecar',
      sidecars,
      root,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.race([
      waitForPort(port, '127.0.0.1', 30_000),
      exited.then(() => {
        throw new Error(`the gateway exited during start-up: ${stderr}`);
      }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint: `http://127.0.0.1:${port}`, pid: child.pid, stop };
}
