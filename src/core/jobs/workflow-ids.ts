/** Deterministic workflow IDs (docs/architecture.md §7): the ID is the deduplication key and what operators search for. */
export function batchWorkflowId(accountId: string, batchId: string): string {
  return `batch/${accountId}/${batchId}`;
}

export function graphWorkflowId(accountId: string, batchId: string, index: number): string {
  return `graph/${accountId}/${batchId}/${index}`;
}

/**
 * The batch whose graph a graph ID names, or undefined for other IDs. A graph run as an activity of its
 * batch (PIXELSHIFT_BATCH_GRAPHS=activities) has no execution of its own: signals and links go to the batch.
 */
export function batchOfGraphWorkflowId(workflowId: string): string | undefined {
  const match = /^graph\/([^/]+)\/([^/]+)\/\d+$/.exec(workflowId);
  return match ? batchWorkflowId(match[1]!, match[2]!) : undefined;
}

/** The activity ID of a batch's graph run as an activity: `graph-<index>` in the batch's history. */
export function graphActivityId(index: number): string {
  return `graph-${index}`;
}

/**
 * A graph run started by an inbound hook: the sender's `webhook-id` makes a redelivered message start
 * nothing twice. The id is checked (at most 256 visible characters) before it gets here.
 */
export function hookWorkflowId(accountId: string, hookId: string, webhookId: string): string {
  return `hook/${accountId}/${hookId}/${webhookId}`;
}

/** Temporal refuses workflow IDs over 1000 bytes; this leaves room below that limit. */
export const MAX_S3_RUN_ID_BYTES = 900;

export interface S3RunIdParts {
  connection: string;
  bucket: string;
  key: string;
  /** What identifies this upload of the key: the sequencer, else the ETag, else the event time. */
  upload: string;
  ruleId: string;
}

/**
 * `s3/<connection>/<bucket>/<key>/<upload>/<ruleId>`: one run per upload and rule, so a redelivered event
 * starts nothing new and a new upload of the same key does. The rule suffix lets two rules match one
 * upload (docs/decisions.md). When the key makes the ID too long, its SHA-256 (hex) stands in for it;
 * `sha256Hex` is passed in because workflow modules may not import node:crypto.
 */
export function s3RunWorkflowId(parts: S3RunIdParts, sha256Hex: (text: string) => string): string {
  const build = (key: string) =>
    `s3/${parts.connection}/${parts.bucket}/${key}/${parts.upload}/${parts.ruleId}`;
  const full = build(parts.key);
  return new TextEncoder().encode(full).length <= MAX_S3_RUN_ID_BYTES
    ? full
    : build(`sha256:${sha256Hex(parts.key)}`);
}
