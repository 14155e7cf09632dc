/**
 * The storage self-check of `pixelshift doctor`: on each bucket the grants name for a connection, list,
 * put and delete a small probe object with the connection's own credentials, and say which step failed.
 */
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { describeError, okFinding, problemFinding, type Finding } from '../health/findings.js';
import { isClassifiedError } from '../errors.js';
import type { StorageConnection } from './connections.js';
import type { StorageGrants } from './grants.js';
import type { ObjectStore } from './types.js';

/** Probe objects live under this prefix, so that an interrupted probe's leftovers are recognisable. */
export const probePrefix = '.pixelshift-doctor/';

type ProbeStep = 'list' | 'put' | 'delete';

/** Buckets the grants name on this connection; patterns with `*` name no bucket that could be probed. */
export function grantedBuckets(grants: StorageGrants, connectionName: string): string[] {
  const buckets = new Set<string>();
  for (const accountGrants of Object.values(grants))
    for (const grant of accountGrants)
      if (grant.connection === connectionName)
        for (const pattern of grant.buckets) if (!pattern.includes('*')) buckets.add(pattern);
  return [...buckets].sort();
}

/** One finding per granted bucket of the connection (or one for the connection when none is named). */
export async function probeConnection(
  name: string,
  connection: StorageConnection,
  store: ObjectStore,
  grants: StorageGrants,
  signal: AbortSignal,
): Promise<Finding[]> {
  const buckets = grantedBuckets(grants, name);
  if (buckets.length === 0) {
    if (connection.kind === 'local') return [await checkLocalRoot(name, connection.root)];
    return [
      okFinding(
        `storage ${name}`,
        'no grant names a bucket of this connection (only patterns), so no bucket was probed',
      ),
    ];
  }
  return Promise.all(buckets.map((bucket) => probeBucket(name, store, bucket, signal)));
}

export async function probeBucket(
  connectionName: string,
  store: ObjectStore,
  bucket: string,
  signal: AbortSignal,
): Promise<Finding> {
  const check = `storage ${connectionName} ${bucket}`;
  const key = `${probePrefix}${randomUUID()}`;
  let step: ProbeStep = 'list';
  try {
    await store.list(bucket, probePrefix, { signal });
    step = 'put';
    await store.put(bucket, key, Buffer.from('pixelshift doctor probe\n'), {
      contentType: 'text/plain',
      signal,
    });
    step = 'delete';
    await store.delete(bucket, key, { signal });
  } catch (error) {
    return problemFinding(
      check,
      `storage_${step}_failed`,
      `${step} of ${step === 'list' ? `${probePrefix} in` : key + ' in'} bucket ${bucket} failed: ${describeError(error)}`,
      storageAction(error, step),
    );
  }
  return okFinding(check, `listed, wrote and deleted a probe object in bucket ${bucket}`);
}

function storageAction(error: unknown, step: ProbeStep): string {
  const permission = { list: 's3:ListBucket', put: 's3:PutObject', delete: 's3:DeleteObject' }[step];
  if (!isClassifiedError(error)) return 'check the connection settings in PIXELSHIFT_CONFIG';
  switch (error.code) {
    case 'source_not_found':
      return 'create the bucket, or correct its name in the grants of PIXELSHIFT_CONFIG';
    case 'access_denied':
      return `check the connection's credentials and that they are allowed ${permission} on the bucket`;
    case 'transient':
      return "check that the connection's endpoint is reachable from here and answering";
    default:
      return 'check the connection settings in PIXELSHIFT_CONFIG';
  }
}

/** A local connection granted only by patterns: its root must be a folder this process can write. */
async function checkLocalRoot(name: string, root: string): Promise<Finding> {
  const check = `storage ${name}`;
  try {
    if (!(await stat(root)).isDirectory()) {
      return problemFinding(
        check,
        'storage_root_unusable',
        `${root} is not a folder`,
        'point root at a folder',
      );
    }
    await access(root, constants.R_OK | constants.W_OK);
  } catch (error) {
    return problemFinding(
      check,
      'storage_root_unusable',
      `the root folder ${root} cannot be used: ${describeError(error)}`,
      'create the folder, or give this process read and write permission on it',
    );
  }
  return okFinding(check, `the root folder ${root} is readable and writable`);
}
