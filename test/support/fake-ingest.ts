/**
 * Test doubles for the feeders: an EventIngest that records what reached it (and can be told to fail),
 * and a minimal parser of AWS `Records` bodies standing in for the real one where a test is about the
 * transport, not the parsing.
 */
import type { EventBodyParser } from '../../src/core/triggers/bucket-notification.js';
import type { EventIngest, IngestResult, ObjectCreatedEvent } from '../../src/core/triggers/trigger-types.js';

export class FakeIngest implements EventIngest {
  readonly calls: ObjectCreatedEvent[][] = [];
  /** Calls still to fail (each failing call is recorded in `failedCalls`, not in `calls`). */
  failNext = 0;
  readonly failedCalls: ObjectCreatedEvent[][] = [];
  /** Holds every call until released (to observe what happens while an ingest is in flight). */
  gate: Promise<void> | undefined;
  private waiters: (() => void)[] = [];

  get events(): ObjectCreatedEvent[] {
    return this.calls.flat();
  }

  async ingest(events: readonly ObjectCreatedEvent[]): Promise<IngestResult> {
    if (this.gate) await this.gate;
    if (this.failNext > 0) {
      this.failNext -= 1;
      this.failedCalls.push([...events]);
      throw new Error('ingest unavailable (test)');
    }
    this.calls.push([...events]);
    for (const waiter of this.waiters.splice(0)) waiter();
    return {
      events: events.length,
      started: events.length,
      duplicates: 0,
      unmatched: 0,
      skipped: 0,
      invalid: 0,
      workflowIds: events.map((event) => `s3/${event.connection}/${event.bucket}/${event.key}`),
    };
  }

  /** Resolves once at least `count` events were ingested successfully. */
  async waitForEvents(count: number, timeoutMs = 20_000): Promise<ObjectCreatedEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.events.length} of ${count} events arrived`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.events;
  }
}

interface RecordLike {
  eventName?: unknown;
  s3?: {
    bucket?: { name?: unknown };
    object?: { key?: unknown; size?: unknown; eTag?: unknown; sequencer?: unknown };
  };
}

/** AWS `Records` with ObjectCreated events and `s3:TestEvent`; everything else is invalid. */
export const fakeS3Parser: EventBodyParser = (body, connection) => {
  if (typeof body !== 'object' || body === null) return { kind: 'invalid', reason: 'not an object' };
  const record = body as { Event?: unknown; Records?: unknown };
  if (record.Event === 's3:TestEvent') return { kind: 'test' };
  if (!Array.isArray(record.Records)) return { kind: 'invalid', reason: 'no Records' };
  const events: ObjectCreatedEvent[] = [];
  for (const item of record.Records as RecordLike[]) {
    const name = typeof item.eventName === 'string' ? item.eventName : '';
    const bucket = item.s3?.bucket?.name;
    const key = item.s3?.object?.key;
    if (!name.startsWith('ObjectCreated:') || typeof bucket !== 'string' || typeof key !== 'string') continue;
    const { size, eTag, sequencer } = item.s3?.object ?? {};
    events.push({
      connection,
      bucket,
      key: decodeURIComponent(key.replace(/\+/g, ' ')),
      eventName: name,
      ...(typeof size === 'number' ? { size } : {}),
      ...(typeof eTag === 'string' ? { etag: eTag } : {}),
      ...(typeof sequencer === 'string' ? { sequencer } : {}),
    });
  }
  return { kind: 'events', events };
};

/** An AWS S3 notification body for objects created in one bucket. */
export function s3RecordsBody(
  bucket: string,
  keys: string[],
  /** One sequencer for all, or one per record (distinct uploads). */
  sequencer: string | ((index: number) => string) = '0055AED6DCD90281E5',
  /** Size and ETag every record names: an uploaded object's real ones, where the ingest compares them. */
  object: { size: number; eTag: string } = { size: 1024, eTag: 'abc123' },
): unknown {
  return {
    Records: keys.map((key, index) => ({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'us-east-1',
      eventTime: new Date().toISOString(),
      eventName: 'ObjectCreated:Put',
      s3: {
        s3SchemaVersion: '1.0',
        bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` },
        object: {
          key: encodeURIComponent(key).replace(/%2F/g, '/'),
          size: object.size,
          eTag: object.eTag,
          sequencer: typeof sequencer === 'string' ? sequencer : sequencer(index),
        },
      },
    })),
  };
}
