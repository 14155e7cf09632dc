/**
 * The search attributes operators filter by in the Temporal UI (docs/architecture.md §7).
 * Pure: imported by workflows, the client and the dev-server helper alike.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const accountIdKey = defineSearchAttributeKey('PixelshiftAccountId', SearchAttributeType.KEYWORD);
export const batchIdKey = defineSearchAttributeKey('PixelshiftBatchId', SearchAttributeType.KEYWORD);
/** `api`, `s3` or `webhook`: how the work started. */
export const triggerKey = defineSearchAttributeKey('PixelshiftTrigger', SearchAttributeType.KEYWORD);
/** `bucket/key` of the source image. */
export const sourceKey = defineSearchAttributeKey('PixelshiftSource', SearchAttributeType.KEYWORD);
/** Coarse state for filtering: queued, throttled, running, succeeded, failed, cancelled. */
export const stateKey = defineSearchAttributeKey('PixelshiftState', SearchAttributeType.KEYWORD);
/** The rule (`s3` trigger) or inbound hook (`webhook` trigger) that started a run; absent for `api`. */
export const triggerIdKey = defineSearchAttributeKey('PixelshiftTriggerId', SearchAttributeType.KEYWORD);

export const pixelshiftSearchAttributes = [
  accountIdKey,
  batchIdKey,
  triggerKey,
  sourceKey,
  stateKey,
  triggerIdKey,
] as const;

/** `Name=Type` pairs as the Temporal CLI's `--search-attribute` flag wants them. */
export function searchAttributeFlags(): string[] {
  return pixelshiftSearchAttributes.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]);
}

/** A string literal in Temporal's visibility query language. */
export function visibilityLiteral(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
