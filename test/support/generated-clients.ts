/**
 * What the generated-client smoke tests (test/clients/) share: the real stack with a source image, the
 * served documents written to files for the generators, a runner for generator and client processes, and
 * the check that the batch a client submitted wrote every output.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { startStack, type Stack } from './stack.js';

export interface ClientSmoke {
  stack: Stack;
  /** A scratch folder of the test, removed by close(). */
  workDir: string;
  /** The served documents, as files a generator reads. */
  documents: { v31: string; v30: string };
  /** What a smoke client reads: where the API is, its key, the image to transform and where outputs go. */
  env: Record<string, string>;
  /** The outputs the smoke client's branching graph writes: key and format. */
  outputs: readonly { key: string; format: string }[];
  close(): Promise<void>;
}

/**
 * The smoke clients all submit the same graph: source → AutoOrient, then two branches (320 px WebP and a
 * 160×160 PNG), so each generated client has to carry the discriminated unit union and nested outputs.
 */
export async function startClientSmoke(label: string): Promise<ClientSmoke> {
  const stack = await startStack();
  const workDir = mkdtempSync(path.join(os.tmpdir(), `pixelshift-client-${label}-`));
  try {
    const inputKey = await stack.uploadFixture('jpeg-baseline-photo-2725x2225.jpg');
    const documents = {
      v31: path.join(workDir, 'openapi-3.1.json'),
      v30: path.join(workDir, 'openapi-3.0.json'),
    };
    for (const [file, route] of [
      [documents.v31, '/swagger/v1/swagger.json'],
      [documents.v30, '/swagger/v1/swagger-3.0.json'],
    ] as const) {
      const response = await fetch(`${stack.server.url}${route}`);
      assert.equal(response.status, 200, route);
      writeFileSync(file, await response.text());
    }
    const prefix = `clients/${label}`;
    return {
      stack,
      workDir,
      documents,
      env: {
        PIXELSHIFT_URL: stack.server.url,
        PIXELSHIFT_CLIENT_ID: stack.account.keyId,
        PIXELSHIFT_CLIENT_SECRET: stack.account.secret,
        PIXELSHIFT_INPUT_BUCKET: stack.buckets.input,
        PIXELSHIFT_INPUT_KEY: inputKey,
        PIXELSHIFT_OUTPUT_BUCKET: stack.buckets.output,
        PIXELSHIFT_OUTPUT_PREFIX: prefix,
      },
      outputs: [
        { key: `${prefix}/small.webp`, format: 'webp' },
        { key: `${prefix}/thumb.png`, format: 'png' },
      ],
      async close() {
        await stack.close();
        rmSync(workDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stack.close();
    rmSync(workDir, { recursive: true, force: true });
    throw error;
  }
}

/** The last line a smoke client prints: the batch it submitted and the final state it waited for. */
export function parseSmokeResult(output: string): { batchId: string; state: string } {
  const line = output.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as { batchId: string; state: string };
}

/** Then every output of the branching graph exists in S3, as an image of the format asked for. */
export async function assertOutputsWritten(smoke: ClientSmoke): Promise<void> {
  for (const output of smoke.outputs) {
    const bytes = await smoke.stack.readObject(smoke.stack.buckets.output, output.key);
    const metadata = await sharp(bytes).metadata();
    assert.equal(metadata.format, output.format, output.key);
  }
}

export interface ProcessResult {
  exitCode: number;
  /** stdout and stderr interleaved, as a person reads a log. */
  output: string;
  stdout: string;
}

/** Runs a generator or a client; never throws on a non-zero exit, so the test can show the output. */
export async function runProcess(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; signal?: AbortSignal },
): Promise<ProcessResult> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    signal: options.signal,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exitCode = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  return { exitCode, output, stdout };
}
