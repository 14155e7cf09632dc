/**
 * Folders below a storage root, walked without ever following a symbolic link (docs/architecture.md §6:
 * nothing is read or written outside the root). The root itself may be a link: the operator chose it.
 *
 * On Linux each folder on the way is opened with O_NOFOLLOW and the next step is taken through that open
 * folder (`/proc/self/fd/<fd>/<name>`), so a link is met where it stands at the moment of the step, even
 * one swapped in after an earlier check: there is no gap between check and use. Where `/proc` is missing
 * (macOS, Windows) each step is checked with lstat just before it is taken, which leaves a narrow window.
 *
 * A link is reported as an `ELOOP` error (the code O_NOFOLLOW itself gives), so callers classify every
 * refusal the same way.
 */
import { existsSync, constants, type BigIntStats } from 'node:fs';
import { lstat, mkdir, open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

const procFds = '/proc/self/fd';
const followsThroughOpenFolders = existsSync(procFds);

/**
 * Flags for reading a file or stepping into a folder: fails with ELOOP on a link. O_NONBLOCK: opening a
 * FIFO planted in the tree must not hang a thread waiting for a writer. (Not O_DIRECTORY for folders:
 * with it a link answers ENOTDIR, like a file, and could no longer be told apart.)
 */
export const READ_NO_FOLLOW = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);
/** Flags for creating a new file: fails on a link, and on anything already there. */
export const CREATE_NO_FOLLOW =
  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

function fsError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/** The error every refused link gives. */
export function symbolicLinkError(): NodeJS.ErrnoException {
  return fsError('ELOOP', 'the path has a symbolic link in it');
}

function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** One folder of the tree, open for the steps below it; close it when done. */
export class ContainedFolder {
  private constructor(
    /** What to hand to fs calls for this folder (a `/proc` path on Linux). */
    private readonly location: string,
    private readonly handle: FileHandle | undefined,
  ) {}

  /** The root, where every walk starts. */
  static async openRoot(root: string): Promise<ContainedFolder> {
    if (!followsThroughOpenFolders) return new ContainedFolder(root, undefined);
    // The root may be a link (the operator's choice), so it alone is opened following links.
    const handle = await open(root, constants.O_RDONLY | (constants.O_DIRECTORY ?? 0));
    return new ContainedFolder(`${procFds}/${handle.fd}`, handle);
  }

  /** Runs `use` on the folder `segments` below `root`, closing every handle afterwards. */
  static async within<T>(
    root: string,
    segments: readonly string[],
    options: { create?: boolean },
    use: (folder: ContainedFolder) => Promise<T>,
  ): Promise<T> {
    const rootFolder = await ContainedFolder.openRoot(root);
    let folder: ContainedFolder | undefined;
    try {
      folder = await rootFolder.descend(segments, options);
      return await use(folder);
    } finally {
      await folder?.close();
      await rootFolder.close();
    }
  }

  /** The path of an entry of this folder, for fs calls that must not follow a link at the end. */
  entry(name: string): string {
    // Not path.join: it would drop a `.`, and the `/proc` link itself must never be the last step.
    return `${this.location}${path.sep}${name}`;
  }

  /**
   * The folder `segments` below this one. A link on the way fails with ELOOP, a file with ENOTDIR, a
   * missing folder with ENOENT unless `create` makes it. This folder stays open; the result must be closed.
   */
  async descend(segments: readonly string[], options: { create?: boolean } = {}): Promise<ContainedFolder> {
    const create = options.create === true;
    if (!this.handle) return this.descendByPath(segments, create);
    const [first, ...rest] = segments;
    // A walk of no steps still hands out a folder of its own to close.
    let current = await this.openChild(first ?? '.', first !== undefined && create);
    try {
      for (const segment of rest) {
        const next = await current.openChild(segment, create);
        await current.close();
        current = next;
      }
      return current;
    } catch (error) {
      await current.close();
      throw error;
    }
  }

  /** lstat of an entry; a link there is refused. */
  async statEntry(name: string): Promise<BigIntStats> {
    const stats = await lstat(this.entry(name), { bigint: true });
    if (stats.isSymbolicLink()) throw symbolicLinkError();
    return stats;
  }

  async close(): Promise<void> {
    await this.handle?.close();
  }

  private async openChild(segment: string, create: boolean): Promise<ContainedFolder> {
    const at = this.entry(segment);
    let handle: FileHandle;
    try {
      handle = await open(at, READ_NO_FOLLOW);
    } catch (error) {
      if (errnoOf(error) === 'ENOENT' && create) {
        await mkdir(at).catch((mkdirError: unknown) => {
          if (errnoOf(mkdirError) !== 'EEXIST') throw mkdirError;
        });
        return this.openChild(segment, false);
      }
      throw error;
    }
    try {
      if (!(await handle.stat()).isDirectory()) throw fsError('ENOTDIR', 'not a folder');
    } catch (error) {
      await handle.close();
      throw error;
    }
    return new ContainedFolder(`${procFds}/${handle.fd}`, handle);
  }

  private async descendByPath(segments: readonly string[], create: boolean): Promise<ContainedFolder> {
    let current = this.location;
    for (const segment of segments) {
      current = path.join(current, segment);
      let stats = await lstat(current).catch((error: unknown) => {
        if (create && errnoOf(error) === 'ENOENT') return undefined;
        throw error;
      });
      if (!stats) {
        await mkdir(current).catch((error: unknown) => {
          if (errnoOf(error) !== 'EEXIST') throw error;
        });
        stats = await lstat(current);
      }
      if (stats.isSymbolicLink()) throw symbolicLinkError();
      if (!stats.isDirectory()) throw fsError('ENOTDIR', 'not a folder');
    }
    return new ContainedFolder(current, undefined);
  }
}
