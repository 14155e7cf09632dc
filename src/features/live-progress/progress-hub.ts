/**
 * One read loop per API process for every open progress stream (docs/architecture.md §7.3): each read
 * takes the change log once for all streams (the changes after the lowest position any stream of a
 * subject has reached), and each stream writes the ones past its own position, so N streams cost one
 * query per read, not N. A read follows each signal that the log moved (`changes`: this process's writers,
 * and on PostgreSQL every process's, by NOTIFY), at most one per `wakeGapMs`, and the log is polled
 * besides, which is all that carries a change whose signal was lost. A signal that names a followed
 * subject's end is read at once, without the gap: its client waits for that event, and it comes once.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { ApiError } from '../../api/api-error.js';
import { formatEvent, heartbeat, startEventStream } from '../../api/event-stream.js';
import type { Db } from '../../db/database.js';
import type { ProgressChanges } from '../../db/progress-signal.js';
import {
  progressChangesAfter,
  subjectKey,
  type ProgressChange,
  type ProgressSubject,
} from '../../db/progress-changes.js';

export interface ProgressHubOptions {
  db: Db;
  /** Streams one account may hold open at once in this process. */
  maxStreamsPerAccount: number;
  /** Signals that the change log moved; without it, changes wait for the next poll. */
  changes?: Pick<ProgressChanges, 'subscribe'> | undefined;
  /** How often the change log is read while streams are open, signalled or not. */
  pollMs?: number;
  /**
   * The least time between the starts of two reads (50 ms): signals closer together are read together,
   * so a batch that changes hundreds of times a second costs its followers 20 reads a second.
   */
  wakeGapMs?: number;
  /** How often an idle stream gets a comment line. */
  heartbeatMs?: number;
  /** Changes read per subject per query; a full page is followed at once by the next one. */
  pageSize?: number;
  /** Bytes a stream may have waiting for a client that does not read before it is disconnected. */
  maxBufferedBytes?: number;
  logger?: Logger | undefined;
}

/** One event as a stream renders it; `final` ends the stream once it is written. */
export interface RenderedEvent {
  event: string;
  data: unknown;
  final: boolean;
}

export interface StreamRequest {
  accountId: string;
  subject: ProgressSubject;
  /** The position of the last change the client has (its Last-Event-ID), 0 for all of them. */
  after: number;
  res: ServerResponse;
  render(change: ProgressChange): RenderedEvent;
}

export interface ProgressHub {
  /**
   * Starts the stream, or throws a 429 `too_many_streams` (before anything is written) when the account
   * holds as many as it may.
   */
  open(request: StreamRequest): void;
  /** Ends every stream (the server is shutting down) and stops the loop. */
  close(): void;
  readonly openStreams: number;
}

interface OpenStream extends StreamRequest {
  position: number;
  /** Set by a heartbeat that found the client not reading; the next such heartbeat disconnects it. */
  stalled: boolean;
}

export function createProgressHub(options: ProgressHubOptions): ProgressHub {
  const pollMs = options.pollMs ?? 1000;
  const wakeGapMs = options.wakeGapMs ?? 50;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const pageSize = options.pageSize ?? 500;
  const maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
  const streams = new Set<OpenStream>();
  // Open streams per subject (`subjectKey`), to tell a followed subject's end from any other in O(1).
  const followed = new Map<string, number>();
  const perAccount = new Map<string, number>();
  let closed = false;
  let polling = false;
  let pollAgain = false;
  let pollAgainAtOnce = false;
  let pollTimer: NodeJS.Timeout | undefined;
  let pollDueAt = Infinity;
  let lastPollAt = -Infinity;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let stopListening: (() => void) | undefined;

  const write = (stream: OpenStream, text: string): void => {
    if (stream.res.destroyed) return;
    stream.res.write(text);
    // A client that stopped reading: its events would pile up here without end.
    if (stream.res.writableLength > maxBufferedBytes) stream.res.destroy();
  };

  const forget = (stream: OpenStream): void => {
    if (!streams.delete(stream)) return;
    const left = (perAccount.get(stream.accountId) ?? 1) - 1;
    if (left === 0) perAccount.delete(stream.accountId);
    else perAccount.set(stream.accountId, left);
    const key = subjectKey(stream.subject);
    const following = (followed.get(key) ?? 1) - 1;
    if (following === 0) followed.delete(key);
    else followed.set(key, following);
    if (streams.size === 0) stopTimers();
  };

  const stopTimers = (): void => {
    clearTimeout(pollTimer);
    clearInterval(heartbeatTimer);
    pollTimer = undefined;
    pollDueAt = Infinity;
    heartbeatTimer = undefined;
  };

  const schedule = (delayMs: number): void => {
    if (closed || streams.size === 0) return;
    clearTimeout(pollTimer);
    pollDueAt = Date.now() + delayMs;
    pollTimer = setTimeout(() => void poll(), delayMs);
    pollTimer.unref();
  };

  /**
   * The log moved: read it soon, unless a read is due sooner anyway; at once if the change ended a
   * subject a stream follows.
   */
  const wake = (ended: string | undefined): void => {
    if (closed || streams.size === 0) return;
    const atOnce = ended !== undefined && followed.has(ended);
    if (polling) {
      pollAgain = true;
      pollAgainAtOnce ||= atOnce;
      return;
    }
    const at = atOnce ? Date.now() : Math.max(Date.now(), lastPollAt + wakeGapMs);
    if (at < pollDueAt) schedule(at - Date.now());
  };

  const poll = async (): Promise<void> => {
    if (polling) {
      pollAgain = true;
      return;
    }
    polling = true;
    pollDueAt = Infinity;
    lastPollAt = Date.now();
    let next = pollMs;
    try {
      // A stream whose client has not taken what it was sent waits; its heartbeat decides whether it stays.
      const ready = [...streams].filter((stream) => !stream.res.writableNeedDrain);
      const lowest = new Map<string, { subject: ProgressSubject; after: number }>();
      for (const stream of ready) {
        const key = subjectKey(stream.subject);
        const known = lowest.get(key);
        if (!known || stream.position < known.after)
          lowest.set(key, { subject: stream.subject, after: stream.position });
      }
      if (lowest.size === 0) return;
      const changes = await progressChangesAfter(options.db, [...lowest.values()], pageSize);
      for (const list of changes.values()) if (list.length === pageSize) next = 0;
      for (const stream of ready) {
        if (!streams.has(stream)) continue;
        for (const change of changes.get(subjectKey(stream.subject)) ?? []) {
          if (stream.res.destroyed) break;
          if (change.position <= stream.position) continue;
          const rendered = stream.render(change);
          write(stream, formatEvent({ id: change.position, event: rendered.event, data: rendered.data }));
          stream.position = change.position;
          if (rendered.final) {
            stream.res.end();
            forget(stream);
            break;
          }
        }
      }
    } catch (error) {
      // The database is away for a moment: streams stay open and the next tick tries again.
      options.logger?.warn({ err: error }, 'reading the progress change log failed');
    } finally {
      polling = false;
      if (pollAgain) {
        next = Math.min(next, pollAgainAtOnce ? 0 : wakeGapMs);
        pollAgain = false;
        pollAgainAtOnce = false;
      }
      schedule(next);
    }
  };

  const beat = (): void => {
    for (const stream of streams) {
      if (stream.res.writableNeedDrain) {
        // A whole heartbeat interval without taking anything: the client is not reading.
        if (stream.stalled) {
          stream.res.destroy();
          continue;
        }
        stream.stalled = true;
      } else {
        stream.stalled = false;
      }
      write(stream, heartbeat);
    }
  };

  return {
    open(request) {
      if (closed) {
        throw new ApiError(503, 'server_shutting_down', 'The server is shutting down; reconnect', undefined, {
          'Retry-After': '1',
        });
      }
      const held = perAccount.get(request.accountId) ?? 0;
      if (held >= options.maxStreamsPerAccount) {
        throw new ApiError(
          429,
          'too_many_streams',
          `The account already holds ${held} open event streams, the most it may; close one first`,
          undefined,
          { 'Retry-After': '5' },
        );
      }
      const stream: OpenStream = { ...request, position: request.after, stalled: false };
      streams.add(stream);
      perAccount.set(request.accountId, held + 1);
      const key = subjectKey(request.subject);
      followed.set(key, (followed.get(key) ?? 0) + 1);
      request.res.on('close', () => forget(stream));
      startEventStream(request.res);
      stopListening ??= options.changes?.subscribe(wake);
      if (!heartbeatTimer) {
        heartbeatTimer = setInterval(beat, heartbeatMs);
        heartbeatTimer.unref();
      }
      // The first events (and a finished subject's end) go out now, not a tick later.
      schedule(0);
    },
    close() {
      closed = true;
      stopTimers();
      stopListening?.();
      for (const stream of [...streams]) {
        stream.res.end();
        forget(stream);
      }
    },
    get openStreams() {
      return streams.size;
    },
  };
}
