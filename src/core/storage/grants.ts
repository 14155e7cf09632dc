import { z } from 'zod';
import { ClassifiedError } from '../errors.js';

// Bucket names (S3 and local) plus `*` as the only wildcard.
export const bucketPatternSchema = z
  .string()
  .regex(/^[A-Za-z0-9.*_-]{1,255}$/, 'Expected a bucket name or a pattern with "*" wildcards');

export const bucketGrantSchema = z.strictObject({
  connection: z.string().min(1),
  buckets: z.array(bucketPatternSchema).min(1),
});

export const accountGrantsSchema = z.array(bucketGrantSchema);
/** `accountId → grants`: which buckets on which connections an account's graphs may touch. */
export const storageGrantsSchema = z.record(z.string().min(1), accountGrantsSchema);

export type BucketGrant = z.infer<typeof bucketGrantSchema>;
export type AccountGrants = z.infer<typeof accountGrantsSchema>;
export type StorageGrants = z.infer<typeof storageGrantsSchema>;

/**
 * Anchored glob match where `*` matches any run of characters (including none) and everything
 * else is literal. Linear-time two-pointer matching rather than a RegExp, so no pattern can make
 * a check slow.
 */
export function matchesBucketPattern(pattern: string, bucket: string): boolean {
  let p = 0;
  let b = 0;
  let starAt = -1;
  let resumeAt = 0;
  while (b < bucket.length) {
    if (p < pattern.length && pattern[p] === '*') {
      starAt = p++;
      resumeAt = b;
    } else if (p < pattern.length && pattern[p] === bucket[b]) {
      p++;
      b++;
    } else if (starAt !== -1) {
      // Let the last star swallow one more character and retry from there.
      p = starAt + 1;
      b = ++resumeAt;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** The grants of one account; none for unknown ids, including `__proto__` and other prototype names. */
export function grantsForAccount(grants: StorageGrants, accountId: string): AccountGrants {
  return Object.hasOwn(grants, accountId) ? (grants[accountId] ?? []) : [];
}

/** Everything an account may use: its own grants and those given to every account (`*`). */
export function effectiveGrants(grants: StorageGrants, accountId: string): AccountGrants {
  return [...grantsForAccount(grants, accountId), ...grantsForAccount(grants, '*')];
}

export function isBucketGranted(grants: readonly BucketGrant[], connection: string, bucket: string): boolean {
  return grants.some(
    (grant) =>
      grant.connection === connection &&
      grant.buckets.some((pattern) => matchesBucketPattern(pattern, bucket)),
  );
}

/** Refuses (access_denied, HTTP 403) a bucket the account was not granted. */
export function assertGranted(grants: readonly BucketGrant[], connection: string, bucket: string): void {
  if (!isBucketGranted(grants, connection, bucket)) {
    throw new ClassifiedError(
      'access_denied',
      `Bucket ${JSON.stringify(bucket)} on connection ${JSON.stringify(connection)} is not granted to this account`,
    );
  }
}
