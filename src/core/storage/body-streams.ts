import { constants } from 'node:buffer';
import { addAbortSignal, Transform, type Readable, type Writable } from 'node:stream';

export interface GuardOptions {
  /** More bytes than this fail the stream with `tooLarge()`: the HEAD check alone can be raced. */
  maxBytes?: number;
  signal?: AbortSignal;
  tooLarge: () => Error;
  /** Turns a failure of the underlying source (socket reset, disk error) into a classified one. */
  mapSourceError: (error: unknown) => Error;
}

/**
 * Wraps a store's raw body so consumers get one stream with the store's guarantees: the byte
 * limit, cancellation, classified errors, and release of the underlying socket or file as soon
 * as the consumer stops reading.
 */
export function guardedBody(source: Readable, options: GuardOptions): Readable {
  let received = 0;
  const guarded = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (options.maxBytes !== undefined && received > options.maxBytes) callback(options.tooLarge());
      else callback(null, chunk);
    },
  });
  source.on('error', (error) => guarded.destroy(options.mapSourceError(error)));
  guarded.once('close', () => {
    if (!source.readableEnded) source.destroy();
  });
  if (options.signal) addAbortSignal(options.signal, guarded);
  source.pipe(guarded);
  return guarded;
}

/**
 * Reads a guarded body to the end; its limit keeps memory bounded. With the object's size known (from
 * its HEAD or its file), the bytes are copied into one buffer of that size as they arrive, so a big
 * source is held once rather than twice (its chunks and then their concatenation): at the 800 MiB
 * source limit that is the difference between about 0.8 and 1.6 GB. A body that turns out longer or
 * shorter than `size` (the object changed in between) is still read whole and returned as it came.
 */
export async function collectBody(body: Readable, size?: number): Promise<Buffer> {
  const known = size !== undefined && Number.isSafeInteger(size) && size > 0 && size <= constants.MAX_LENGTH;
  const whole = known ? Buffer.allocUnsafe(size) : undefined;
  let filled = 0;
  const chunks: Buffer[] = [];
  for await (const data of body) {
    const chunk = data as Buffer;
    if (whole && chunks.length === 0 && filled + chunk.length <= whole.length) {
      chunk.copy(whole, filled);
      filled += chunk.length;
    } else {
      if (whole && chunks.length === 0) chunks.push(whole.subarray(0, filled));
      chunks.push(chunk);
    }
  }
  if (chunks.length > 0) return Buffer.concat(chunks);
  if (!whole) return Buffer.alloc(0);
  // Shorter than announced (rare: the object shrank): a copy, so the unused rest is not kept alive.
  return filled === whole.length ? whole : Buffer.from(whole.subarray(0, filled));
}

/**
 * Takes over a put's body (the store owns it once put is called). Call the returned function when the
 * put fails: it ends a streamed body, so that its producer is not left blocked on back-pressure, and
 * returns the producer's own failure (say, an encoder error) unless the put was cancelled. Such a failure
 * is thrown as it came, classified by the producer or not: calling it a storage failure would misdirect
 * retries.
 */
export function ownPutBody(body: Buffer | Readable): (signal: AbortSignal | undefined) => Error | undefined {
  if (Buffer.isBuffer(body)) return () => undefined;
  let producerFailure: Error | undefined;
  body.on('error', (error) => {
    producerFailure ??= error;
  });
  return (signal) => {
    body.destroy();
    return signal?.aborted ? undefined : producerFailure;
  };
}

/**
 * Feeds a caller's stream into `target` while keeping it out of any pipeline: a pipeline destroys
 * every member with the first error, which would make a disk or network failure look like the
 * producer's. Producer errors are forwarded to `target`.
 */
export function feed(source: Readable, target: Writable): void {
  source.on('error', (error) => target.destroy(error));
  source.pipe(target);
}
