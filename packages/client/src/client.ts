/** `createClient`: the typed entry point to the pixelshift API. */
import type {
  Account,
  ApiKey,
  ApiKeyList,
  BatchCancelResponse,
  BatchEndEvent,
  BatchGraphEvent,
  BatchStartReportResponse,
  BatchStatus,
  BatchGraphPage,
  CreatedApiKey,
  CreatedHook,
  CreatedWebhook,
  CreateHookRequest,
  CreateKeyRequest,
  CreateWebhookRequest,
  GetCallbackSecretResponses,
  GraphValidationResponse,
  Hook,
  HookList,
  ListWebhookDeliveriesData,
  ListWebhookDeliveriesResponses,
  ListWebhooksResponses,
  RedeliverWebhookResponses,
  RotatedHookSecret,
  RotateWebhookSecretResponses,
  Rule,
  RuleList,
  RuleRequest,
  ThrottleSettings,
  ThrottleUpdate,
  UpdateHookRequest,
  UpdateWebhookRequest,
  Webhook,
  WebhookDeliveryList,
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
import type {
  BatchList,
  BatchSummary,
  DashboardSession,
  ListBatchesQuery,
  WebhookTestResponse,
} from './resource-types.js';
import type { ServerSentEvent } from './sse.js';
import { Transport, type RetryOptions, type SessionAuth } from './transport.js';
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

/**
 * A client in a browser page served by the API itself (the dashboard): the session cookie authorises its
 * requests (`credentials: 'same-origin'`, no token exchange), and changes carry the CSRF token.
 */
export interface SessionClientOptions {
  /** The server's base URL; `''` for the page's own origin. */
  baseUrl: string;
  /** The CSRF token source; by default the token of the last `session.signIn` or `session.get`. */
  session: SessionAuth;
  fetch?: typeof fetch;
  retry?: RetryOptions;
}

/** Options of a single page of a listing. */
export interface PageQuery {
  pageSize?: number;
  pageToken?: string;
  signal?: AbortSignal;
}

/** Just the abort signal. */
interface Signal {
  signal?: AbortSignal;
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
    /** One page of the account's batches, newest first; `state` and `q` (an id or its prefix) filter. */
    listPage(query?: ListBatchesQuery & Signal): Promise<BatchList>;
    /** Every batch matching the filters, page after page, newest first. */
    list(query?: Omit<ListBatchesQuery, 'pageToken'> & Signal): AsyncIterable<BatchSummary>;
    /** One page of the batch's graph outcomes. */
    graphsPage(
      batchId: string,
      query?: NonNullable<ListBatchGraphsData['query']> & Signal,
    ): Promise<BatchGraphPage>;
    /** Asks the batch's running graphs to stop. */
    cancel(batchId: string, options?: Signal): Promise<BatchCancelResponse>;
    /** Starts a new batch of the original's failed graphs (its status names the original in `retryOf`). */
    retryFailed(
      batchId: string,
      options?: { idempotencyKey?: string } & Signal,
    ): Promise<BatchStartReportResponse>;
    /**
     * The path (under the base URL) of a downscaled WebP preview of a written output, for an `<img src>` on
     * the same origin as a session client: `outputIndex` counts the graph's sinks from 0.
     */
    thumbnailUrl(batchId: string, graphIndex: number, outputIndex: number, size?: number): string;
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
    /** One page of triggered runs (the filters of `GET /v1/runs`, a superset of `GET /v1/events/s3/runs`'). */
    listPage(query?: NonNullable<ListRunsData['query']> & Signal): Promise<RunList>;
  };
  webhooks: {
    /** The `whsec_…` secret that signs deliveries to this account's batch `callbackUrl`s (for `verifyWebhook`). */
    callbackSecret(options?: { signal?: AbortSignal }): Promise<string>;
    list(options?: Signal): Promise<Webhook[]>;
    get(id: string, options?: Signal): Promise<Webhook>;
    /** Subscribes a URL; the signing secret is in this answer only. */
    create(request: CreateWebhookRequest, options?: Signal): Promise<CreatedWebhook>;
    update(id: string, request: UpdateWebhookRequest, options?: Signal): Promise<Webhook>;
    delete(id: string, options?: Signal): Promise<void>;
    /** A new signing secret (shown once); the previous one keeps verifying until `previousSecretExpiresAt`. */
    rotateSecret(id: string, options?: Signal): Promise<RotateWebhookSecretResponses[200]>;
    /** One page of the subscription's delivery log, newest first, each attempt with status and latency. */
    deliveries(
      id: string,
      query?: NonNullable<ListWebhookDeliveriesData['query']> & Signal,
    ): Promise<WebhookDeliveryList>;
    /** Sends a delivery again (a new delivery of the same event). */
    redeliver(id: string, deliveryId: string, options?: Signal): Promise<RedeliverWebhookResponses[202]>;
    /** Sends a signed `webhook.test` event to the subscription; it shows in its delivery log. */
    sendTest(id: string, options?: Signal): Promise<WebhookTestResponse>;
  };
  account: {
    /** Usage counters per hour or day. */
    usage(query?: NonNullable<GetUsageData['query']> & { signal?: AbortSignal }): Promise<Usage>;
    /** The account id, its throttle and how many keys it has. */
    get(options?: Signal): Promise<Account>;
    /** The transforms-per-hour setting. */
    getThrottle(options?: Signal): Promise<ThrottleSettings>;
    /** Changes the transforms-per-hour setting (1 to 1 000 000); waiting graphs follow at once. */
    setThrottle(update: ThrottleUpdate, options?: Signal): Promise<ThrottleSettings>;
  };
  keys: {
    /** Every key pair of the account, revoked ones included (never their secrets). */
    list(options?: Signal): Promise<ApiKey[]>;
    /** A new key pair; its secret is in this answer only. */
    create(request?: CreateKeyRequest, options?: Signal): Promise<CreatedApiKey>;
    /** Revokes a key: its token exchanges and tokens already issued stop working. */
    revoke(keyId: string, options?: Signal): Promise<void>;
  };
  rules: {
    list(options?: Signal): Promise<Rule[]>;
    get(ruleId: string, options?: Signal): Promise<Rule>;
    create(rule: RuleRequest, options?: Signal): Promise<Rule>;
    /** Replaces the whole rule (PUT). */
    replace(ruleId: string, rule: RuleRequest, options?: Signal): Promise<Rule>;
    delete(ruleId: string, options?: Signal): Promise<void>;
  };
  hooks: {
    list(options?: Signal): Promise<Hook[]>;
    get(hookId: string, options?: Signal): Promise<Hook>;
    /** Creates an inbound hook; its signing secret is in this answer only. */
    create(hook: CreateHookRequest, options?: Signal): Promise<CreatedHook>;
    update(hookId: string, changes: UpdateHookRequest, options?: Signal): Promise<Hook>;
    delete(hookId: string, options?: Signal): Promise<void>;
    /** A new secret (shown once); the previous one keeps working until `previousSecretExpiresAt`. */
    rotateSecret(hookId: string, options?: Signal): Promise<RotatedHookSecret>;
  };
  graphs: {
    /**
     * The dry run: every check a submission runs; resolves with the compiled chains, or rejects with a
     * PixelshiftApiError whose `issues` point into the graph.
     */
    validate(graph: TransformGraph, options?: Signal): Promise<GraphValidationResponse>;
  };
  /** The dashboard's sign-in session (`/auth/*`); meaningful for a session client. */
  session: {
    /** Signs in with email and password: the server sets the session cookie; the CSRF token is kept. */
    signIn(email: string, password: string, options?: Signal): Promise<DashboardSession>;
    /** The current session (a reloaded page gets its CSRF token here); rejects with 401 when there is none. */
    get(options?: Signal): Promise<DashboardSession>;
    /** Ends the session server-side and clears its cookie. */
    signOut(options?: Signal): Promise<void>;
  };
}

/**
 * A client signed in with an API key: it fetches access tokens with the client-credentials grant,
 * caches them until shortly before they expire and renews one once when the server refuses it.
 * With `session` instead of a key pair, it is a browser client of a signed-in dashboard session.
 */
export function createClient(options: ClientOptions | SessionClientOptions): PixelshiftClient {
  const transport = new Transport(options);
  const batchPath = (batchId: string) => `/v1/batches/${encodeURIComponent(batchId)}`;
  const seg = encodeURIComponent;
  const get = <T>(
    path: string,
    signal: AbortSignal | undefined,
    query?: Record<string, string | number | boolean | undefined>,
  ) => transport.json<T>('GET', path, { signal, query, retry: true });
  const write = <T>(method: string, path: string, body: unknown, signal: AbortSignal | undefined) =>
    transport.json<T>(method, path, { body, signal });
  const remove = async (path: string, signal: AbortSignal | undefined) => {
    const response = await transport.send('DELETE', path, { signal });
    await response.body?.cancel();
  };
  const keepSession = (session: DashboardSession) => {
    transport.csrfToken = session.csrfToken;
    return session;
  };

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
      listPage: ({ signal, ...query } = {}) => get<BatchList>('/v1/batches', signal, { ...query }),
      list({ signal, ...query } = {}) {
        return pages<BatchList, BatchSummary>('/v1/batches', { ...query }, signal, (page) => page.batches);
      },
      graphsPage: (batchId, { signal, ...query } = {}) =>
        get<BatchGraphPage>(`${batchPath(batchId)}/graphs`, signal, query),
      cancel: (batchId, { signal } = {}) =>
        write<BatchCancelResponse>('POST', `${batchPath(batchId)}/cancel`, undefined, signal),
      retryFailed(batchId, retryOptions = {}) {
        const idempotencyKey = retryOptions.idempotencyKey ?? crypto.randomUUID();
        return transport.json<BatchStartReportResponse>('POST', `${batchPath(batchId)}/retry-failed`, {
          headers: { 'Idempotency-Key': idempotencyKey },
          signal: retryOptions.signal,
          retry: true,
        });
      },
      thumbnailUrl: (batchId, graphIndex, outputIndex, size) =>
        transport.url(
          `${batchPath(batchId)}/graphs/${graphIndex}/outputs/${outputIndex}/thumbnail`,
          size === undefined ? {} : { size },
        ),
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
      listPage: ({ signal, ...query } = {}) => get<RunList>('/v1/runs', signal, query),
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
      list: async ({ signal } = {}) =>
        (await get<ListWebhooksResponses[200]>('/v1/webhooks', signal)).webhooks,
      get: (id, { signal } = {}) => get<Webhook>(`/v1/webhooks/${seg(id)}`, signal),
      create: (request, { signal } = {}) => write<CreatedWebhook>('POST', '/v1/webhooks', request, signal),
      update: (id, request, { signal } = {}) =>
        write<Webhook>('PATCH', `/v1/webhooks/${seg(id)}`, request, signal),
      delete: (id, { signal } = {}) => remove(`/v1/webhooks/${seg(id)}`, signal),
      rotateSecret: (id, { signal } = {}) =>
        write<RotateWebhookSecretResponses[200]>(
          'POST',
          `/v1/webhooks/${seg(id)}/rotate-secret`,
          undefined,
          signal,
        ),
      deliveries: (id, { signal, ...query } = {}) =>
        get<ListWebhookDeliveriesResponses[200]>(`/v1/webhooks/${seg(id)}/deliveries`, signal, query),
      redeliver: (id, deliveryId, { signal } = {}) =>
        write<RedeliverWebhookResponses[202]>(
          'POST',
          `/v1/webhooks/${seg(id)}/deliveries/${seg(deliveryId)}/redeliver`,
          undefined,
          signal,
        ),
      sendTest: (id, { signal } = {}) =>
        write<WebhookTestResponse>('POST', `/v1/webhooks/${seg(id)}/test`, undefined, signal),
    },
    account: {
      usage: ({ signal, ...query } = {}) =>
        transport.json<Usage>('GET', '/v1/account/usage', { query, signal, retry: true }),
      get: ({ signal } = {}) => get<Account>('/v1/account', signal),
      getThrottle: ({ signal } = {}) => get<ThrottleSettings>('/v1/account/throttle', signal),
      setThrottle: (update, { signal } = {}) =>
        // Setting the same value twice is harmless: safe to retry.
        transport.json<ThrottleSettings>('PUT', '/v1/account/throttle', {
          body: update,
          signal,
          retry: true,
        }),
    },
    keys: {
      list: async ({ signal } = {}) => (await get<ApiKeyList>('/v1/keys', signal)).keys,
      create: (request = {}, { signal } = {}) => write<CreatedApiKey>('POST', '/v1/keys', request, signal),
      revoke: (keyId, { signal } = {}) => remove(`/v1/keys/${seg(keyId)}`, signal),
    },
    rules: {
      list: async ({ signal } = {}) => (await get<RuleList>('/v1/rules', signal)).rules,
      get: (ruleId, { signal } = {}) => get<Rule>(`/v1/rules/${seg(ruleId)}`, signal),
      create: (rule, { signal } = {}) => write<Rule>('POST', '/v1/rules', rule, signal),
      replace: (ruleId, rule, { signal } = {}) =>
        write<Rule>('PUT', `/v1/rules/${seg(ruleId)}`, rule, signal),
      delete: (ruleId, { signal } = {}) => remove(`/v1/rules/${seg(ruleId)}`, signal),
    },
    hooks: {
      list: async ({ signal } = {}) => (await get<HookList>('/v1/hooks', signal)).hooks,
      get: (hookId, { signal } = {}) => get<Hook>(`/v1/hooks/${seg(hookId)}`, signal),
      create: (hook, { signal } = {}) => write<CreatedHook>('POST', '/v1/hooks', hook, signal),
      update: (hookId, changes, { signal } = {}) =>
        write<Hook>('PATCH', `/v1/hooks/${seg(hookId)}`, changes, signal),
      delete: (hookId, { signal } = {}) => remove(`/v1/hooks/${seg(hookId)}`, signal),
      rotateSecret: (hookId, { signal } = {}) =>
        write<RotatedHookSecret>('POST', `/v1/hooks/${seg(hookId)}/rotate-secret`, undefined, signal),
    },
    graphs: {
      // A dry run changes nothing: safe to retry.
      validate: (graph, { signal } = {}) =>
        transport.json<GraphValidationResponse>('POST', '/v1/graphs:validate', {
          body: graph,
          signal,
          retry: true,
        }),
    },
    session: {
      signIn: async (email, password, { signal } = {}) =>
        keepSession(await write<DashboardSession>('POST', '/auth/sign-in', { email, password }, signal)),
      get: async ({ signal } = {}) => keepSession(await get<DashboardSession>('/auth/session', signal)),
      async signOut({ signal } = {}) {
        const response = await transport.send('POST', '/auth/sign-out', { signal });
        await response.body?.cancel();
        transport.csrfToken = undefined;
      },
    },
  };
}
