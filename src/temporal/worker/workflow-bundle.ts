/**
 * The workflow code bundle. Production workers load a prebuilt bundle (`npm run build` writes
 * dist/workflow-bundle.js) so start-up does no webpack work; development bundles once at start.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';

const here = path.dirname(fileURLToPath(import.meta.url));
export const workflowsPath = path.resolve(here, '../workflows/index.ts');
/** OpenTelemetry's workflow interceptors, active only in executions started inside a trace. */
export const workflowInterceptorsPath = path.resolve(here, '../workflows/tracing-interceptors.ts');
export const prebuiltBundlePath = path.resolve(here, '../../../dist/workflow-bundle.js');

export async function buildWorkflowBundle(): Promise<WorkflowBundle> {
  const source = (file: string) => (existsSync(file) ? file : file.replace(/\.ts$/, '.js'));
  return bundleWorkflowCode({
    workflowsPath: source(workflowsPath),
    workflowInterceptorModules: [source(workflowInterceptorsPath)],
    logger: quietBundlerLogger,
  });
}

export async function writeWorkflowBundle(file: string): Promise<void> {
  const bundle = await buildWorkflowBundle();
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, bundle.code);
}

/** PIXELSHIFT_WORKFLOW_BUNDLE, then the prebuilt dist bundle, then a fresh bundle. */
export async function loadWorkflowBundle(env: NodeJS.ProcessEnv = process.env): Promise<WorkflowBundle> {
  const file =
    env.PIXELSHIFT_WORKFLOW_BUNDLE ?? (existsSync(prebuiltBundlePath) ? prebuiltBundlePath : undefined);
  if (file) return { code: await readFile(file, 'utf8') };
  return buildWorkflowBundle();
}

/** The bundler's warnings and errors only. */
export const quietBundlerLogger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string, meta?: unknown) => console.warn(message, meta ?? ''),
  error: (message: string, meta?: unknown) => console.error(message, meta ?? ''),
  log: () => undefined,
};
