import path from 'node:path';
import { storeError, type ObjectTarget } from './store-errors.js';

/** Sidecars and temp files live beside the buckets, never inside one, so they are never objects. */
export const LOCAL_METADATA_DIR = '.pixelshift-meta';
export const LOCAL_TEMP_DIR = '.pixelshift-tmp';

// Starting with a letter or digit keeps `.`, `..` and the store's own dot-directories unreachable.
const localBucketPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

/** Whether a folder under the store's root can be a bucket (the store's own `.pixelshift-*` cannot). */
export function isLocalBucketName(name: string): boolean {
  return localBucketPattern.test(name);
}

function refuse(target: ObjectTarget, reason: string): never {
  throw storeError('access_denied', target, reason);
}

/** Only `.` and `..` (and empty) segments move around the tree; `..cover.jpg` or `.well-known` are names. */
function assertSafeSegments(segments: string[], target: ObjectTarget): void {
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..') {
      refuse(target, 'the key has an empty, "." or ".." path segment');
    }
  }
}

function assertSafeText(text: string, target: ObjectTarget): void {
  if (text.includes('\0')) refuse(target, 'the key contains a NUL character');
  // A backslash is a separator on Windows; refusing it keeps keys portable and unambiguous.
  if (text.includes('\\')) refuse(target, 'the key contains a backslash');
  if (text.startsWith('/')) refuse(target, 'the key is an absolute path');
}

export function assertLocalBucket(target: ObjectTarget): void {
  if (!isLocalBucketName(target.bucket)) refuse(target, 'the bucket name is not valid for local storage');
}

/** Belt and braces after the segment checks: the joined path must still lie under `base`. */
function assertInside(base: string, candidate: string, target: ObjectTarget): void {
  const relative = path.relative(base, candidate);
  if (
    relative === '' ||
    relative === '..' ||
    relative.startsWith(`..${path.sep}`) ||
    path.isAbsolute(relative)
  ) {
    refuse(target, 'the key resolves outside the bucket');
  }
}

/**
 * Where an object lives, as steps below the storage root: `<bucket>/<folders…>/<name>`, and its sidecar
 * at `.pixelshift-meta/<bucket>/<folders…>/<name>`. The sidecar tree mirrors the object tree exactly,
 * so it can never have a file/folder clash the object tree does not already have.
 */
export interface LocalObjectLocation {
  /** Folders from the root to the object's folder: the bucket first. */
  folders: string[];
  /** Folders from the root to the sidecar's folder. */
  sidecarFolders: string[];
  name: string;
}

/** Maps a bucket and key to steps below the root, refusing (access_denied) anything that could escape it. */
export function localObjectLocation(target: ObjectTarget): LocalObjectLocation {
  assertLocalBucket(target);
  const { key } = target;
  if (key === '') refuse(target, 'the key is empty');
  assertSafeText(key, target);
  const segments = key.split('/');
  assertSafeSegments(segments, target);
  assertInside(target.bucket, path.join(target.bucket, ...segments), target);
  const name = segments.pop()!;
  return {
    folders: [target.bucket, ...segments],
    sidecarFolders: [LOCAL_METADATA_DIR, target.bucket, ...segments],
    name,
  };
}

/**
 * For `list`: the folders from the root to the deepest folder named by the prefix, where the walk can
 * start (the bucket first). The part after the last `/` is only a filter on names.
 */
export function localListStart(target: ObjectTarget): string[] {
  assertLocalBucket(target);
  const prefix = target.key;
  if (prefix === '') return [target.bucket];
  assertSafeText(prefix, target);
  const folders = prefix.split('/').slice(0, -1);
  assertSafeSegments(folders, target);
  if (folders.length > 0) assertInside(target.bucket, path.join(target.bucket, ...folders), target);
  return [target.bucket, ...folders];
}
