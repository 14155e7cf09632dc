/**
 * Waiting for a batch or run to end: follow its event stream (resuming with `Last-Event-ID` when the
 * connection is cut), and fall back to polling its status with backoff when streaming keeps failing.
 */
import { PixelshiftApiError } from './errors.js';
import { readServerSentEvents, type ServerSentEvent } from './sse.js';
import { sleep, type Transport } from './transport.js';

/** Options of `batches.wait` and `runs.wait`. */
export interface WaitOptions<Progress> {
  /** Called for every state change as it happens (and with each polled status when streaming failed). */
  onProgress?: (progress: Progress) => void;
  /** Stops waiting: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * A stream silent this long (no event, no heartbeat; the server beats every 15 s) counts as cut and
   * is reconnected (default 45 000 ms).
   */
  idleTimeoutMs?: number;
  /** Failed stream connections in a row before waiting switches to polling (default 3). */
  maxStreamFailures?: number;
  /** First and longest pause between polls, in ms (defaults 500 and 5 000). */
  pollIntervalMs?: { first?: number; max?: number };
}

/** What `follow` needs to know about one kind of job: its paths, when it is over, what its events mean. */
export interface FollowSpec<Status, Progress> {
  eventsPath: string;
  statusPath: string;
  isFinal(status: Status): boolean;
  /** The progress a streamed event reports, or undefined for events the waiter does not know. */
  progressOf(event: ServerSentEvent): Progress | undefined;
  /** The progress a polled status reports. */
  polled(status: Status): Progress;
}

/** Resolves with the final status of the job `spec` describes (see the file comment for how). */
export async function follow<Status, Progress>(
  transport: Transport,
  spec: FollowSpec<Status, Progress>,
  options: WaitOptions<Progress>,
): Promise<Status> {
  const { signal, onProgress } = options;
  const maxFailures = options.maxStreamFailures ?? 3;
  const idleTimeoutMs = options.idleTimeoutMs ?? 45_000;
  let lastEventId: string | undefined;
  let failures = 0;
  while (failures < maxFailures) {
    signal?.throwIfAborted();
    // Ends this connection (not the wait) when it falls silent.
    const connection = new AbortController();
    let idleTimer: ReturnType<typeof setTimeout> | undefined;
    const stillAlive = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(
        () => connection.abort(new Error('the event stream fell silent')),
        idleTimeoutMs,
      );
    };
    try {
      stillAlive();
      const response = await transport.send('GET', spec.eventsPath, {
        headers: { accept: 'text/event-stream', ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}) },
        signal: signal ? AbortSignal.any([signal, connection.signal]) : connection.signal,
        retry: true,
      });
      // 204: the stream had already ended (the Last-Event-ID sent was its final event).
      let ended = response.status === 204 || !response.body;
      if (response.body && !ended) {
        const watched = response.body.pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              stillAlive();
              controller.enqueue(chunk);
            },
          }),
        );
        for await (const event of readServerSentEvents(watched)) {
          if (event.id !== undefined) lastEventId = event.id;
          failures = 0;
          const progress = spec.progressOf(event);
          if (progress !== undefined) onProgress?.(progress);
          if (event.event === 'end') {
            ended = true;
            break;
          }
        }
      }
      clearTimeout(idleTimer);
      if (ended) {
        const status = await transport.json<Status>('GET', spec.statusPath, { signal, retry: true });
        if (spec.isFinal(status)) return status;
      }
      // Cut before its end: reconnect and resume after the last event seen.
      failures++;
    } catch (error) {
      clearTimeout(idleTimer);
      if (signal?.aborted) throw signal.reason;
      // Not found, forbidden, bad auth: polling would be refused the same way.
      if (error instanceof PixelshiftApiError && error.status < 500 && error.status !== 429) throw error;
      failures++;
    }
    // A short, growing pause before reconnecting, so a server that keeps cutting is not hammered.
    await sleep(Math.min(2000, 100 * 2 ** failures), signal);
  }
  return poll(transport, spec, options);
}

async function poll<Status, Progress>(
  transport: Transport,
  spec: FollowSpec<Status, Progress>,
  options: WaitOptions<Progress>,
): Promise<Status> {
  const max = options.pollIntervalMs?.max ?? 5000;
  let interval = options.pollIntervalMs?.first ?? 500;
  for (;;) {
    const status = await transport.json<Status>('GET', spec.statusPath, {
      signal: options.signal,
      retry: true,
    });
    options.onProgress?.(spec.polled(status));
    if (spec.isFinal(status)) return status;
    await sleep(interval, options.signal);
    interval = Math.min(max, interval * 1.5);
  }
}
