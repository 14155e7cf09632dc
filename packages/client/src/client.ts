/** `createClient`: the typed entry point to the pixelshift API. */
import type {
  BatchEndEvent,
  BatchGraphEvent,
  BatchStartReportResponse,
  BatchStatus,
  BatchGraphPage,
  GetCallbackSecretResponses,
  GraphOutcome,
  ListBatchGraphsData,
  ListRunsData,
  GetUsageData,
  Run,
  RunList,
  RunStateEvent,
  RunSummary,
  TransformGraph,
  Usage,
} from './generated/types.js';
import type { ServerSentEvent } from './sse.js';
import { Transport, type RetryOptions } from './transport.js';
import { follow, type WaitOptions } from './wait.js';

/** Where the API is and the API key (id and secret) the client signs in with. */
export interface ClientOptions {
  /** The server's base URL, e.g. `https://images.example.com`. */
  baseUrl: string;
  /** The API key id (`client_id` of the client-credentials grant). */
  clientId: string;
  /** The API key secret. */
  clientSecret: string;
  /** A fetch of your own (a proxy agent, instrumentation); the global fetch by default. */
  fetch?: typeof fetch;
  /** How requests that are safe to repeat are retried on network errors, 429 and 503. */
  retry?: RetryOptions;
}

/** Options of `batches.submit`. */
export interface SubmitOptions {
  /** Where the service posts signed `graph.*` and `batch.completed` webhooks for this batch. */
  callbackUrl?: string;
  /** Makes retries safe: the same key never starts a second batch. A random UUID when not given. */
  idempotencyKey?: string;
  /** Stops retrying (and the request in flight). */
  signal?: AbortSignal;
}

/** What `batches.wait` reports: each streamed change, the end, or (when streaming failed) each polled status. */
export type BatchProgress =
  | { type: 'graph'; event: BatchGraphEvent }
  | { type: 'end'; event: BatchEndEvent }
  | { type: 'status'; status: BatchStatus };

/** What `runs.wait` reports: each streamed state change (the last is `end`), or each polled status. */
export type RunProgress = { type: 'state' | 'end'; event: RunStateEvent } | { type: 'status'; status: Run };

/** A graph state from which a run never moves on. */
const finalGraphStates: ReadonlySet<string> = new Set([
  'succeeded',
  'partial',
  'failed',
  'cancelled',
  'superseded',
]);

/** The API, grouped as its reference is. */
export interface PixelshiftClient {
  batches: {
    /** Submits graphs as one batch; retried safely (same Idempotency-Key on every attempt). */
    submit(graphs: readonly TransformGraph[], options?: SubmitOptions): Promise<BatchStartReportResponse>;
    /** The batch's status and counts. */
    get(batchId: string, options?: { signal?: AbortSignal }): Promise<BatchStatus>;
    /** Every graph outcome of the batch, page after page; `state` keeps only graphs in that state. */
    graphs(
      batchId: string,
      query?: Omit<NonNullable<ListBatchGraphsData['query']>, 'pageToken'> & { signal?: AbortSignal },
    ): AsyncIterable<GraphOutcome>;
    /** Resolves with the final status once the batch ended, following its live event stream. */
    wait(batchId: string, options?: WaitOptions<BatchProgress>): Promise<BatchStatus>;
  };
  runs: {
    /** Every triggered run matching the filters, page after page, newest first. */
    list(
      query?: Omit<NonNullable<ListRunsData['query']>, 'pageToken'> & { signal?: AbortSignal },
    ): AsyncIterable<RunSummary>;
    /** One run; `runId` is a run summary's `runId` (the URI-encoded workflow id), used as given. */
    get(runId: string, options?: { signal?: AbortSignal }): Promise<Run>;
    /** Resolves with the run's final status once it ended, following its live event stream. */
    wait(runId: string, options?: WaitOptions<RunProgress>): Promise<Run>;
  };
  webhooks: {
    /** The `whsec_…` secret that signs deliveries to this account's batch `callbackUrl`s (for `verifyWebhook`). */
    callbackSecret(options?: { signal?: AbortSignal }): Promise<string>;
  };
  account: {
    /** Usage counters per hour or day. */
    usage(query?: NonNullable<GetUsageData['query']> & { signal?: AbortSignal }): Promise<Usage>;
  };
}

/**
 * A client signed in with an API key: it fetches access tokens with the client-credentials grant,
 * caches them until shortly before they expire and renews one once when the server refuses it.
 */
export function createClient(options: ClientOptions): PixelshiftClient {
  const transport = new Transport(options);
  const batchPath = (batchId: string) => `/v1/batches/${encodeURIComponent(batchId)}`;

  async function* pages<Page, Item>(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    signal: AbortSignal | undefined,
    items: (page: Page) => readonly Item[],
  ): AsyncGenerator<Item> {
    let pageToken: string | undefined;
    do {
      const page = await transport.json<Page & { nextPageToken?: string }>('GET', path, {
        query: { ...query, pageToken },
        signal,
        retry: true,
      });
      yield* items(page);
      pageToken = page.nextPageToken;
    } while (pageToken);
  }

  return {
    batches: {
      submit(graphs, submitOptions = {}) {
        const { callbackUrl, signal } = submitOptions;
        const idempotencyKey = submitOptions.idempotencyKey ?? crypto.randomUUID();
        return transport.json<BatchStartReportResponse>('POST', '/v1/batches', {
          body: { graphs, ...(callbackUrl === undefined ? {} : { callbackUrl }) },
          headers: { 'Idempotency-Key': idempotencyKey },
          signal,
          retry: true,
        });
      },
      get: (batchId, getOptions = {}) =>
        transport.json<BatchStatus>('GET', batchPath(batchId), { signal: getOptions.signal, retry: true }),
      graphs(batchId, { signal, ...query } = {}) {
        return pages<BatchGraphPage, GraphOutcome>(
          `${batchPath(batchId)}/graphs`,
          query,
          signal,
          (page) => page.graphs,
        );
      },
      wait: (batchId, waitOptions = {}) =>
        follow<BatchStatus, BatchProgress>(
          transport,
          {
            eventsPath: `${batchPath(batchId)}/events`,
            statusPath: batchPath(batchId),
            isFinal: (status) => status.state !== 'running',
            progressOf: (event: ServerSentEvent): BatchProgress | undefined => {
              if (event.event === 'graph')
                return { type: 'graph', event: JSON.parse(event.data) as BatchGraphEvent };
              if (event.event === 'end')
                return { type: 'end', event: JSON.parse(event.data) as BatchEndEvent };
              return undefined;
            },
            polled: (status) => ({ type: 'status', status }),
          },
          waitOptions,
        ),
    },
    runs: {
      list({ signal, ...query } = {}) {
        return pages<RunList, RunSummary>('/v1/runs', query, signal, (page) => page.runs);
      },
      get: (runId, getOptions = {}) =>
        transport.json<Run>('GET', `/v1/runs/${runId}`, { signal: getOptions.signal, retry: true }),
      wait: (runId, waitOptions = {}) =>
        follow<Run, RunProgress>(
          transport,
          {
            eventsPath: `/v1/runs/${runId}/events`,
            statusPath: `/v1/runs/${runId}`,
            isFinal: (run) => finalGraphStates.has(run.state),
            progressOf: (event: ServerSentEvent): RunProgress | undefined =>
              event.event === 'state' || event.event === 'end'
                ? { type: event.event, event: JSON.parse(event.data) as RunStateEvent }
                : undefined,
            polled: (status) => ({ type: 'status', status }),
          },
          waitOptions,
        ),
    },
    webhooks: {
      async callbackSecret(secretOptions = {}) {
        const { secret } = await transport.json<GetCallbackSecretResponses[200]>(
          'GET',
          '/v1/webhooks/callback-secret',
          {
            signal: secretOptions.signal,
            retry: true,
          },
        );
        return secret;
      },
    },
    account: {
      usage: ({ signal, ...query } = {}) =>
        transport.json<Usage>('GET', '/v1/account/usage', { query, signal, retry: true }),
    },
  };
}
