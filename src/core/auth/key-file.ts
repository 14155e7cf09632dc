/**
 * Keys the embedded default generates once and keeps under the data dir (the JWT secret, the secrets
 * key), so restarts keep working tokens and readable secrets.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** The trimmed text of `file`, created with `generate()` (mode 0600) when it does not exist yet. */
export async function readOrCreateKeyFile(file: string, generate: () => string): Promise<string> {
  const existing = await readKeyFile(file);
  if (existing !== undefined) return existing;
  await mkdir(path.dirname(file), { recursive: true });
  // Write a private temp file, then hard-link it into place: link() fails if the file exists, so two
  // processes starting at once both end up with whichever key was linked first, never half a file.
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, `${generate()}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await rm(temp, { force: true });
  }
  const created = await readKeyFile(file);
  if (created === undefined) throw new Error(`could not read the key at ${file}`);
  return created;
}

async function readKeyFile(file: string): Promise<string | undefined> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
