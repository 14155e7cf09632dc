/**
 * A small scripted HTTP server standing in for the API in the SDK's tests: it issues tokens, records
 * every request it receives, and answers the API routes with whatever the test's handler says.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export type ApiHandler = (request: ReceivedRequest, res: ServerResponse) => void | Promise<void>;

export interface FakeApi {
  url: string;
  /** Requests to the API routes (token requests are in `tokenRequests`). */
  requests: ReceivedRequest[];
  tokenRequests: ReceivedRequest[];
  /** The tokens issued so far, in order (`token-1`, `token-2`, …). */
  issuedTokens: string[];
  close(): Promise<void>;
}

export interface FakeApiOptions {
  /** Answers the token endpoint; by default a new token `token-N` valid for an hour. */
  token?: (request: ReceivedRequest, res: ServerResponse, issue: () => string) => void;
}

export async function startFakeApi(handler: ApiHandler, options: FakeApiOptions = {}): Promise<FakeApi> {
  const requests: ReceivedRequest[] = [];
  const tokenRequests: ReceivedRequest[] = [];
  const issuedTokens: string[] = [];
  const issue = () => {
    const token = `token-${issuedTokens.length + 1}`;
    issuedTokens.push(token);
    return token;
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: ReceivedRequest = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      if (request.path === '/oauth/token') {
        tokenRequests.push(request);
        if (options.token) options.token(request, res, issue);
        else sendJson(res, 200, { access_token: issue(), token_type: 'Bearer', expires_in: 3600 });
        return;
      }
      requests.push(request);
      Promise.resolve(handler(request, res)).catch((error: unknown) => {
        res.destroy(error as Error);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    tokenRequests,
    issuedTokens,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export function bearerOf(request: ReceivedRequest): string | undefined {
  return request.headers.authorization?.replace(/^Bearer /, '');
}
