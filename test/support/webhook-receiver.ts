/**
 * A real webhook receiver for tests: node:http on loopback, recording every request with the receiver's
 * own clock (the wall clock, or one the test gives, such as a time-skipping Temporal environment's),
 * answering per path as the test says, and verifying Standard Webhooks signatures with node:crypto
 * (independently of the service's signing code).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  path: string;
  /** Receiver clock (epoch ms) when the request had been read. */
  at: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: { type: string; timestamp: string; data: Record<string, unknown> };
  /** The status the receiver answered. */
  answered: number;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
}

/** Decides the reply to the n-th request (1-based) on a path, read at `at` on the receiver's clock. */
export type Responder = (n: number, at: number) => Reply;

export interface ReceiverOptions {
  /** Where requests' times come from (epoch ms); the wall clock by default. */
  clock?: () => Promise<number>;
}

export interface WebhookReceiver {
  port: number;
  url(path: string): string;
  requests(path?: string): ReceivedRequest[];
  respond(path: string, responder: Responder): void;
  /** Polls until `predicate` holds for the requests of `path`; throws after `timeoutMs`. */
  waitFor(
    path: string,
    predicate: (requests: ReceivedRequest[]) => boolean,
    timeoutMs?: number,
  ): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(
  port = 0,
  options: ReceiverOptions = {},
): Promise<WebhookReceiver> {
  const received: ReceivedRequest[] = [];
  const responders = new Map<string, Responder>();
  const clock = options.clock ?? (() => Promise.resolve(Date.now()));
  const answer = (req: http.IncomingMessage, res: http.ServerResponse, body: string, at: number) => {
    const path = req.url ?? '/';
    const n = received.filter((r) => r.path === path).length + 1;
    const reply: Reply = (responders.get(path) ?? ((): Reply => ({ status: 200 })))(n, at);
    let json: ReceivedRequest['json'];
    try {
      json = JSON.parse(body) as ReceivedRequest['json'];
    } catch {
      json = { type: 'unparsable', timestamp: '', data: {} };
    }
    received.push({ path, at, headers: req.headers, body, json, answered: reply.status });
    res.writeHead(reply.status, reply.headers).end();
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      // A clock that fails leaves the request unanswered, so the sender sees the failure as one.
      clock().then(
        (at) => answer(req, res, body, at),
        (error: unknown) => res.destroy(error as Error),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const actualPort = (server.address() as AddressInfo).port;
  return {
    port: actualPort,
    url: (path) => `http://127.0.0.1:${actualPort}${path}`,
    requests: (path) => received.filter((r) => path === undefined || r.path === path),
    respond: (path, responder) => responders.set(path, responder),
    async waitFor(path, predicate, timeoutMs = 90_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const requests = received.filter((r) => r.path === path);
        if (predicate(requests)) return requests;
        if (Date.now() > deadline) {
          throw new Error(
            `receiver ${path}: condition not met after ${timeoutMs} ms; got ${requests
              .map((r) => `${r.json.type}→${r.answered}`)
              .join(', ')}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The Standard Webhooks check, written out: HMAC-SHA256 over `${id}.${timestamp}.${body}` with the
 * base64-decoded key after `whsec_`, compared with each `v1,<base64>` of the signature header.
 */
export function hasValidSignature(secret: string, request: ReceivedRequest): boolean {
  const id = String(request.headers['webhook-id']);
  const timestamp = String(request.headers['webhook-timestamp']);
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${request.body}`).digest();
  return String(request.headers['webhook-signature'])
    .split(' ')
    .some((part) => {
      const [version, signature] = part.split(',');
      if (version !== 'v1' || !signature) return false;
      const given = Buffer.from(signature, 'base64');
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
}
