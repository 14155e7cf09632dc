import { ClassifiedError } from '../errors.js';
import { objectUri, type ObjectTarget } from './store-errors.js';

// S3 carries user metadata as `x-amz-meta-<key>` HTTP headers, so keys must be header tokens and
// values printable ASCII. Checking here turns what would be an opaque socket-level TypeError
// (misread as transient and retried) into a client error that names the offending entry.
const headerTokenPattern = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const printableAsciiPattern = /^[\x20-\x7e]*$/;

/** Validates user metadata and returns it with lower-cased keys, as S3 returns it. */
export function normaliseUserMetadata(
  metadata: Record<string, string> | undefined,
  target: ObjectTarget,
): Record<string, string> {
  const normalised: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata ?? {})) {
    if (!headerTokenPattern.test(key)) {
      throw new ClassifiedError(
        'invalid_graph',
        `Could not ${target.operation} ${objectUri(target)}: metadata key ${JSON.stringify(key)} is not a valid header name`,
      );
    }
    if (!printableAsciiPattern.test(value)) {
      throw new ClassifiedError(
        'invalid_graph',
        `Could not ${target.operation} ${objectUri(target)}: metadata value for ${JSON.stringify(key)} must be printable ASCII (percent-encode other characters)`,
      );
    }
    normalised[key.toLowerCase()] = value;
  }
  return normalised;
}
