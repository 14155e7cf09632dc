/**
 * The one shape every bucket event source is turned into (docs/architecture.md §10): AWS `Records`, MinIO, EventBridge,
 * SNS envelopes, SQS messages and the local watcher all end as ObjectCreated events fed to one ingest path.
 */

/** One object that was created (or overwritten) in a bucket of a configured connection. */
export interface ObjectCreatedEvent {
  /** The storage connection the bucket belongs to (config name). */
  connection: string;
  bucket: string;
  /** Decoded object key (form-encoding undone: `+` is a space, `%2F` a slash). */
  key: string;
  size?: number;
  /** Without quotes. */
  etag?: string;
  /** S3's per-key ordering token; with the key it identifies one upload (docs/architecture.md §7). */
  sequencer?: string;
  contentType?: string;
  /**
   * Whether the object is a pixelshift output, when the event reports the object's user metadata (MinIO
   * does); undefined when it does not (AWS), and a HEAD must tell.
   */
  generated?: boolean;
  /** The object version, on versioned buckets: the run then reads exactly the version that was uploaded. */
  versionId?: string;
  /**
   * The object's revision (ObjectInfo.revision) as the event saw it, when the source knows it in the
   * store's own terms: the local watcher's file revision. For S3 events the ETag plays this part.
   */
  revision?: string;
  /** ISO time of the event as the source reported it. */
  eventTime?: string;
  /** The source's event name, e.g. `ObjectCreated:Put`, without MinIO's `s3:` prefix. */
  eventName: string;
}

/** What one ingest call did, for logs, metrics and the HTTP answer. */
export interface IngestResult {
  /** Events that were ObjectCreated events for a known connection and bucket. */
  events: number;
  /** Rule matches that started a new graph run. */
  started: number;
  /** Rule matches whose run already existed (a redelivered event). */
  duplicates: number;
  /** Events that matched no enabled rule (or were generated outputs). */
  unmatched: number;
  /** Events that matched a rule by name but whose object was gone (or unreadable) when looked at. */
  skipped: number;
  /** Events that matched a rule but carried nothing that identifies the upload (no sequencer, ETag or time). */
  invalid: number;
  /** Workflow IDs of the runs started or found. */
  workflowIds: string[];
}

/**
 * The ingest path: matches events against rules and starts one graph workflow per match. It resolves
 * only once every run is durably started, so callers acknowledge (HTTP 2xx, SQS delete) after it and a
 * failure makes the sender redeliver instead of losing the event.
 */
export interface EventIngest {
  ingest(events: readonly ObjectCreatedEvent[]): Promise<IngestResult>;
}
