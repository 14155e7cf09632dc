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
 *
 * The steps are synchronous calls: each is one metadata system call of a few microseconds on a local
 * disk, while the same call through the thread pool costs about twenty times that in hand-offs between
 * threads, and a put walks two folder chains (src/core/storage/README.md). Content and fsync stay
 * asynchronous in the store.
 */
import { closeSync, constants, existsSync, lstatSync, mkdirSync, openSync, type BigIntStats } from 'node:fs';
import path from 'node:path';

const procFds = '/proc/self/fd';
const followsThroughOpenFolders = existsSync(procFds);

/**
 * Flags for reading a file: fails with ELOOP on a link. O_NONBLOCK: opening a FIFO planted in the tree
 * must not hang a thread waiting for a writer.
 */
export const READ_NO_FOLLOW = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);
/**
 * Flags for stepping into a folder: anything but a folder fails. With O_DIRECTORY a link answers ENOTDIR,
 * like a file; `openChild` tells the two apart afterwards, on the failure path only.
 */
const FOLDER_NO_FOLLOW = READ_NO_FOLLOW | (constants.O_DIRECTORY ?? 0);
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

function isLink(at: string): boolean {
  try {
    return lstatSync(at).isSymbolicLink();
  } catch {
    return false;
  }
}

/** One folder of the tree, open for the steps below it; close it when done. */
export class ContainedFolder {
  private constructor(
    /** What to hand to fs calls for this folder (a `/proc` path on Linux). */
    private readonly location: string,
    private fd: number | undefined,
  ) {}

  /** The root, where every walk starts; `create` makes it (and its parents) when it is missing. */
  static openRoot(root: string, options: { create?: boolean } = {}): ContainedFolder {
    if (!followsThroughOpenFolders) {
      if (options.create) mkdirSync(root, { recursive: true });
      return new ContainedFolder(root, undefined);
    }
    // The root may be a link (the operator's choice), so it alone is opened following links.
    const flags = constants.O_RDONLY | (constants.O_DIRECTORY ?? 0);
    let fd: number;
    try {
      fd = openSync(root, flags);
    } catch (error) {
      if (!options.create || errnoOf(error) !== 'ENOENT') throw error;
      mkdirSync(root, { recursive: true });
      fd = openSync(root, flags);
    }
    return new ContainedFolder(`${procFds}/${fd}`, fd);
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
  descend(segments: readonly string[], options: { create?: boolean } = {}): ContainedFolder {
    const create = options.create === true;
    if (this.fd === undefined) return this.descendByPath(segments, create);
    const [first, ...rest] = segments;
    // A walk of no steps still hands out a folder of its own to close.
    let current = this.openChild(first ?? '.', first !== undefined && create);
    try {
      for (const segment of rest) {
        const next = current.openChild(segment, create);
        current.close();
        current = next;
      }
      return current;
    } catch (error) {
      current.close();
      throw error;
    }
  }

  /** `descend`, then closes this folder whatever happened: for a walk from a root opened for it alone. */
  descendAndClose(segments: readonly string[], options: { create?: boolean } = {}): ContainedFolder {
    try {
      return this.descend(segments, options);
    } finally {
      this.close();
    }
  }

  /** lstat of an entry; a link there is refused. */
  statEntry(name: string): BigIntStats {
    const stats = lstatSync(this.entry(name), { bigint: true });
    if (stats.isSymbolicLink()) throw symbolicLinkError();
    return stats;
  }

  /** Closes the folder; closing it again does nothing. */
  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    closeSync(fd);
  }

  private openChild(segment: string, create: boolean): ContainedFolder {
    const at = this.entry(segment);
    try {
      const fd = openSync(at, FOLDER_NO_FOLLOW);
      return new ContainedFolder(`${procFds}/${fd}`, fd);
    } catch (error) {
      const code = errnoOf(error);
      if (code === 'ENOENT' && create) {
        try {
          mkdirSync(at);
        } catch (mkdirError) {
          if (errnoOf(mkdirError) !== 'EEXIST') throw mkdirError;
        }
        return this.openChild(segment, false);
      }
      if (code === 'ENOTDIR' && isLink(at)) throw symbolicLinkError();
      if (code === 'ENOTDIR') throw fsError('ENOTDIR', 'not a folder');
      throw error;
    }
  }

  private descendByPath(segments: readonly string[], create: boolean): ContainedFolder {
    let current = this.location;
    for (const segment of segments) {
      current = path.join(current, segment);
      let stats: ReturnType<typeof lstatSync> | undefined;
      try {
        stats = lstatSync(current);
      } catch (error) {
        if (!create || errnoOf(error) !== 'ENOENT') throw error;
      }
      if (!stats) {
        try {
          mkdirSync(current);
        } catch (error) {
          if (errnoOf(error) !== 'EEXIST') throw error;
        }
        stats = lstatSync(current);
      }
      if (stats?.isSymbolicLink()) throw symbolicLinkError();
      if (!stats?.isDirectory()) throw fsError('ENOTDIR', 'not a folder');
    }
    return new ContainedFolder(current, undefined);
  }
}
