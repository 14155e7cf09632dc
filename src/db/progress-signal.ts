/**
 * What wakes the live progress streams when the change log moves (docs/architecture.md §7.3), so that a
 * change reaches its streams within milliseconds instead of at the hub's next poll. The poll stays as the
 * floor: a signal lost (a dropped connection, a writer in a transaction) only delays a change to the next
 * tick, it never loses one, since the streams always read the log itself.
 *
 * Two sources, both carrying no data (a wake-up says "read the log", never what changed). A wake-up may
 * name one subject whose stream has just ended (`batch:<id>` or `run:<id>`, as `subjectKey` writes it):
 * a reader that follows it reads at once instead of after its gap between reads, since a client waiting
 * for a batch or a run waits for exactly that event, and each subject ends once.
 * - this process's writers of the log (`announceProgressChange`, after their statement committed). On
 *   PGlite that is every writer, since its database lives in the process. PGlite's own LISTEN is not
 *   used: while any listener is registered, it costs every query of the process about twice its CPU.
 * - on PostgreSQL, the other processes' writers too: the log's insert trigger (migration 0013) sends a
 *   NOTIFY on commit, and one connection of this process LISTENs, opened at the first subscriber and
 *   reconnected when lost. The writer of an end also sends one whose payload names the subject.
 */
import pg from 'pg';

/** The channel migration 0013's trigger notifies on every insert into `graph_run_changes`. */
export const progressChannel = 'pixelshift_progress';

/**
 * Told that changes were committed; `ended` names a subject whose stream they ended (its `subjectKey`),
 * when the writer knew of one.
 */
export type ProgressChangeListener = (ended: string | undefined) => void;

export interface ProgressChanges {
  /** Calls `onChange` after changes were committed (once for several, perhaps); returns how to stop. */
  subscribe(onChange: ProgressChangeListener): () => void;
  close(): Promise<void>;
}

// Keyed by the database handle the writers are given: one process may hold several databases (tests do).
const localListeners = new WeakMap<object, Set<ProgressChangeListener>>();

/**
 * Said by this process's writers of the change log through `db`, once their write has committed; `ended`
 * names the subject whose stream the write ended, if it ended one.
 */
export function announceProgressChange(db: object, ended?: string): void {
  const listeners = localListeners.get(db);
  if (!listeners) return;
  for (const listener of listeners) listener(ended);
}

/** Changes written through `db` by this process (on PGlite: every change). */
export function localProgressChanges(db: object): ProgressChanges {
  const subscribeLocally = (onChange: ProgressChangeListener) => {
    let listeners = localListeners.get(db);
    if (!listeners) {
      listeners = new Set();
      localListeners.set(db, listeners);
    }
    // Its own entry, so that subscribing one function twice still needs two stops.
    const listener: ProgressChangeListener = (ended) => onChange(ended);
    listeners.add(listener);
    return () => void listeners.delete(listener);
  };
  return { subscribe: subscribeLocally, close: () => Promise.resolve() };
}

export interface ListenOptions {
  /** Errors of the listening connection (it is reconnected); without a listener they would be lost. */
  onError?: ((error: Error) => void) | undefined;
  /** First pause before reconnecting, doubled up to 30 s while it keeps failing. */
  retryMs?: number;
}

/** Changes by any process on the PostgreSQL server at `url`, and this process's own through `db`. */
export function postgresProgressChanges(
  db: object,
  url: string,
  options: ListenOptions = {},
): ProgressChanges {
  const local = localProgressChanges(db);
  const subscribers = new Set<ProgressChangeListener>();
  const notifyAll = (ended?: string) => {
    for (const subscriber of subscribers) subscriber(ended);
  };
  const firstRetryMs = options.retryMs ?? 500;
  let retryMs = firstRetryMs;
  let closed = false;
  let client: pg.Client | undefined;
  let retryTimer: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    const connection = new pg.Client({ connectionString: url });
    let dropped = false;
    const drop = (error?: Error) => {
      if (dropped) return;
      dropped = true;
      if (error) options.onError?.(error);
      if (client === connection) client = undefined;
      void connection.end().catch(() => undefined);
      if (closed) return;
      retryTimer = setTimeout(() => {
        retryTimer = undefined;
        void connect();
      }, retryMs);
      retryTimer.unref();
      retryMs = Math.min(retryMs * 2, 30_000);
    };
    connection.on('error', drop);
    connection.on('end', () => drop());
    // The trigger's notices carry nothing; an end's names its subject.
    connection.on('notification', (notice) => notifyAll(notice.payload || undefined));
    try {
      await connection.connect();
      await connection.query(`listen ${progressChannel}`);
    } catch (error) {
      drop(error as Error);
      return;
    }
    if (closed) {
      dropped = true;
      await connection.end().catch(() => undefined);
      return;
    }
    client = connection;
    retryMs = firstRetryMs;
    // Whatever was committed while no connection listened is read now rather than at the next poll.
    notifyAll();
  };

  // Started by the first subscriber and kept until close: streams come and go, the connection stays.
  let stopLocal: (() => void) | undefined;
  return {
    subscribe(onChange) {
      const subscriber: ProgressChangeListener = (ended) => onChange(ended);
      subscribers.add(subscriber);
      if (!stopLocal && !closed) {
        stopLocal = local.subscribe(notifyAll);
        void connect();
      }
      return () => void subscribers.delete(subscriber);
    },
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      stopLocal?.();
      subscribers.clear();
      const open = client;
      client = undefined;
      await open?.end().catch(() => undefined);
    },
  };
}
