import { spawn } from 'node:child_process';
import path from 'node:path';
import { ensurePipTarget } from './python-tools.js';

/**
 * Schemathesis (the property-based OpenAPI fuzzer of the tests) is pinned, and so is Hypothesis, which
 * generates its data: with the same seed, the same versions send the same requests.
 */
export const SCHEMATHESIS_REQUIREMENTS = ['schemathesis==4.32.5', 'hypothesis==6.170.17'] as const;

export async function ensureSchemathesis(): Promise<string> {
  return ensurePipTarget('schemathesis-4.32.5', SCHEMATHESIS_REQUIREMENTS);
}

export interface SchemathesisRun {
  exitCode: number;
  /** Everything the CLI printed (its progress, failures and summary), stdout and stderr interleaved. */
  output: string;
}

/**
 * Runs the schemathesis CLI (`schemathesis <args>`) from the pinned copy, asynchronously, so a server in
 * the calling process keeps answering while it runs. `cwd` is where it writes its reports; `signal` stops
 * it (a test that times out must not leave it running).
 */
export async function runSchemathesis(
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; signal?: AbortSignal },
): Promise<SchemathesisRun> {
  const site = await ensureSchemathesis();
  // `pip install --target` writes launchers bound to the installing interpreter; the CLI entry point is
  // called through python3 instead, which works wherever the folder is.
  const launcher =
    'import sys; from schemathesis.cli import schemathesis; sys.argv[0] = "schemathesis"; schemathesis()';
  const child = spawn('python3', ['-c', launcher, ...args], {
    cwd: options.cwd,
    signal: options.signal,
    env: {
      ...process.env,
      ...options.env,
      PYTHONPATH: [site, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
      // The output is read by people in a test log, not a terminal.
      NO_COLOR: '1',
      COLUMNS: '120',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exitCode = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    // `close`, not `exit`: the output pipes are drained by then.
    child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  return { exitCode, output };
}
