/**
 * The one path every request takes: a cached client-credentials token (refreshed once on a 401), and
 * bounded retries with backoff for network errors, 429 and 503 (honouring `Retry-After`).
 */
import { apiErrorFrom, isRecord, PixelshiftApiError } from './errors.js';

/** How retried requests wait: `maxAttempts` includes the first; delays are capped and jittered. */
export interface RetryOptions {
  /** Attempts in all, the first included (default 5). */
  maxAttempts?: number;
  /** First backoff step in ms when the server names no `Retry-After` (default 500). */
  baseDelayMs?: number;
  /** Longest single wait in ms, `Retry-After` included (default 30 000). */
  maxDelayMs?: number;
}

/**
 * A browser session (the dashboard's): the session cookie authorises requests, so no token is fetched;
 * requests other than GET, HEAD and OPTIONS carry the session's CSRF token in `X-CSRF-Token`.
 */
export interface SessionAuth {
  /** The current session's CSRF token (from sign-in or `GET /auth/session`); the last one seen when omitted. */
  csrfToken?: () => string | undefined;
}

/** Where requests go and how they are authorised: a key pair, or a browser session. */
export type TransportOptions = {
  baseUrl: string;
  fetch?: typeof fetch;
  retry?: RetryOptions;
} & ({ clientId: string; clientSecret: string; session?: undefined } | { session: SessionAuth });

/** Methods that change nothing: no CSRF token is needed (or sent) for them. */
const safeMethods: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** One request: its query, JSON body, extra headers, signal, and whether it may be retried. */
export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
  /** Safe to send again (reads, and writes carrying an Idempotency-Key). */
  retry?: boolean;
}

/** Tokens are renewed this long before they expire, so none is sent about to lapse. */
const EXPIRY_MARGIN_MS = 30_000;

/** Sends every request of a client; one per `createClient`, so its token is shared by all calls. */
export class Transport {
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private token: { value: string; renewAt: number } | undefined;
  private pendingToken: Promise<string> | undefined;
  /** The CSRF token of the session, as last answered by sign-in or `GET /auth/session`. */
  csrfToken: string | undefined;

  constructor(private readonly options: TransportOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.maxAttempts = Math.max(1, options.retry?.maxAttempts ?? 5);
    this.baseDelayMs = options.retry?.baseDelayMs ?? 500;
    this.maxDelayMs = options.retry?.maxDelayMs ?? 30_000;
  }

  /** Sends an authorised request and parses its JSON answer; throws PixelshiftApiError otherwise. */
  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.send(method, path, options);
    return (await response.json()) as T;
  }

  /** Sends an authorised request; answers with the successful (2xx) response, body unread. */
  async send(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const url = this.url(path, options.query);
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const session = this.options.session;
    // A session has no token to renew: its 401 is final at once.
    let refreshed = session !== undefined;
    for (let attempt = 1; ; attempt++) {
      const token = session ? undefined : await this.accessToken(options.signal);
      const csrf = session && !safeMethods.has(method.toUpperCase()) ? this.sessionCsrf(session) : undefined;
      const headers: Record<string, string> = {
        accept: 'application/json',
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(csrf === undefined ? {} : { 'x-csrf-token': csrf }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      };
      let response: Response;
      try {
        response = await this.fetchImpl(url, {
          method,
          headers,
          body,
          signal: options.signal,
          // The session cookie goes with same-origin requests only (never to another site).
          ...(session ? { credentials: 'same-origin' as const } : {}),
        });
      } catch (error) {
        if (options.signal?.aborted || !options.retry || attempt >= this.maxAttempts) throw error;
        await sleep(this.backoff(attempt), options.signal);
        continue;
      }
      if (response.ok) return response;
      if (response.status === 401 && !refreshed && token !== undefined) {
        // The token expired or was revoked early: fetch a new one, once. A second 401 is final.
        refreshed = true;
        this.invalidate(token);
        await response.body?.cancel();
        attempt--;
        continue;
      }
      if (options.retry && isRetryable(response.status) && attempt < this.maxAttempts) {
        const delay = this.retryDelay(response, attempt);
        await response.body?.cancel();
        await sleep(delay, options.signal);
        continue;
      }
      throw await apiErrorFrom(response);
    }
  }

  private sessionCsrf(session: SessionAuth): string | undefined {
    return session.csrfToken?.() ?? this.csrfToken;
  }

  /** The request's URL: the base URL (empty in a browser on the API's own origin), the path, the query. */
  url(path: string, query: RequestOptions['query']): string {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined) params.set(name, String(value));
    }
    const search = params.toString();
    return `${this.baseUrl}${path}${search ? `?${search}` : ''}`;
  }

  /**
   * The cached token, or a new one. Concurrent callers share one token request, so it is not tied to any
   * caller's signal: a caller that aborts stops waiting for it, the others still get the token.
   */
  private async accessToken(signal: AbortSignal | undefined): Promise<string> {
    if (this.token && Date.now() < this.token.renewAt) return this.token.value;
    this.pendingToken ??= this.requestToken().finally(() => {
      this.pendingToken = undefined;
    });
    return untilAborted(this.pendingToken, signal);
  }

  private invalidate(token: string): void {
    if (this.token?.value === token) this.token = undefined;
  }

  /** POST /oauth/token with the client-credentials grant, the key pair in HTTP Basic (RFC 6749 §2.3.1). */
  private async requestToken(): Promise<string> {
    const options = this.options;
    if (options.session) throw new Error('A session client never requests tokens');
    const basic = btoa(`${formEncode(options.clientId)}:${formEncode(options.clientSecret)}`);
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await this.fetchImpl(`${this.baseUrl}/oauth/token`, {
          method: 'POST',
          headers: {
            accept: 'application/json',
            authorization: `Basic ${basic}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: 'grant_type=client_credentials',
        });
      } catch (error) {
        if (attempt >= this.maxAttempts) throw error;
        await sleep(this.backoff(attempt), undefined);
        continue;
      }
      if (response.ok) {
        const body: unknown = await response.json();
        if (!isRecord(body) || typeof body.access_token !== 'string' || typeof body.expires_in !== 'number') {
          throw new PixelshiftApiError(
            response.status,
            'unexpected_response',
            'The token response has no token',
          );
        }
        const lifetimeMs = body.expires_in * 1000;
        // Short-lived tokens are renewed at half their life rather than a fixed margin before the end.
        const renewAt = Date.now() + Math.max(lifetimeMs / 2, lifetimeMs - EXPIRY_MARGIN_MS);
        this.token = { value: body.access_token, renewAt };
        return body.access_token;
      }
      // Token requests are safe to repeat: nothing is created.
      if (isRetryable(response.status) && attempt < this.maxAttempts) {
        const delay = this.retryDelay(response, attempt);
        await response.body?.cancel();
        await sleep(delay, undefined);
        continue;
      }
      throw await apiErrorFrom(response);
    }
  }

  /** `Retry-After` (seconds or an HTTP date) when the server names one, else backoff; capped either way. */
  private retryDelay(response: Response, attempt: number): number {
    const header = response.headers.get('retry-after');
    if (header !== null) {
      const seconds = Number(header);
      const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
      if (Number.isFinite(ms)) return Math.min(this.maxDelayMs, Math.max(0, ms));
    }
    return this.backoff(attempt);
  }

  /** Exponential backoff with full jitter, so many clients retrying at once spread out. */
  private backoff(attempt: number): number {
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    return Math.random() * ceiling;
  }
}

function isRetryable(status: number): boolean {
  return status === 429 || status === 503;
}

/** application/x-www-form-urlencoded, as RFC 6749 §2.3.1 asks for the Basic credentials. */
function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The promise's outcome, or the signal's reason as soon as it aborts (the work itself goes on). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
