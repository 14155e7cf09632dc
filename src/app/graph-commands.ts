/**
 * `pixelshift graph validate <file>` and `pixelshift graph run <file> --local-root <dir>`:
 * the engine without Temporal, for users trying graphs and for debugging.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../core/config.js';
import { isClassifiedError } from '../core/errors.js';
import { DEFAULT_CONNECTION } from '../core/graph/units.js';
import { parseJson, validateGraph } from '../core/graph/validate.js';
import { executeGraph } from '../core/imaging/index.js';
import { createObjectStores } from '../core/storage/connections.js';
import type { CliIo } from './io.js';

async function readGraphFile(file: string, io: CliIo): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    io.fail({
      error: {
        code: 'file_not_readable',
        message: `Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      },
    });
    return undefined;
  }
  const parsed = parseJson(text);
  if (!parsed.ok) {
    io.fail({ ok: false, issues: parsed.error });
    return undefined;
  }
  return parsed.value;
}

export async function graphValidate(file: string, io: CliIo): Promise<void> {
  const input = await readGraphFile(file, io);
  if (input === undefined) return;
  const result = validateGraph(input);
  if (result.ok) io.print({ ok: true });
  else io.fail({ ok: false, issues: result.error });
}

export async function graphRun(file: string, localRoot: string, io: CliIo): Promise<void> {
  const input = await readGraphFile(file, io);
  if (input === undefined) return;
  const result = validateGraph(input);
  if (!result.ok) {
    io.fail({ error: { code: 'invalid_graph', message: 'The graph is invalid', issues: result.error } });
    return;
  }
  // Every connection name resolves to the same local root, so graphs written for S3 run unchanged.
  const stores = createObjectStores({
    [DEFAULT_CONNECTION]: { kind: 'local', root: path.resolve(localRoot) },
  });
  const local = stores.get(DEFAULT_CONNECTION);
  // The server's imaging limits and switches (PIXELSHIFT_MAX_INPUT_PIXELS, PIXELSHIFT_HEIC, …) apply here too.
  const { maxInputPixels, maxSourceBytes, heic } = loadConfig().imaging;
  try {
    const outcome = await executeGraph(result.value, {
      stores: { get: () => local },
      maxInputPixels,
      maxSourceBytes,
      heic,
    });
    if (outcome.failures.length) io.fail(outcome);
    else io.print(outcome);
  } catch (error) {
    if (isClassifiedError(error)) io.fail({ error: error.toJSON() });
    else throw error;
  } finally {
    stores.destroy();
  }
}
