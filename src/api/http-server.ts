import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Express } from 'express';
import { ApiError } from './api-error.js';

export interface HttpServer {
  /** Base URL, e.g. `http://127.0.0.1:3000` (the real port when 0 was asked for). */
  url: string;
  server: http.Server;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then closes what is left. */
  close(graceMs?: number): Promise<void>;
}

/** What must happen when the server serving this app closes (end long-lived responses such as event streams). */
export function onServerClose(app: Express, hook: () => void): void {
  const hooks = (app.locals.serverCloseHooks ??= []) as (() => void)[];
  hooks.push(hook);
}

export async function startHttpServer(
  app: Express,
  options: { host: string; port: number },
): Promise<HttpServer> {
  const server = http.createServer(app);
  // Node's defaults let a slow client hold a socket for minutes; bodies here are small.
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  answerParserErrorsInJson(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    server,
    async close(graceMs = 5_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Streams never finish on their own: they are ended now, so the server need not wait out the grace.
      for (const hook of (app.locals.serverCloseHooks ?? []) as (() => void)[]) hook();
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      timer.unref();
      await closed;
      clearTimeout(timer);
    },
  };
}

/**
 * Requests Node's HTTP parser refuses before Express sees them (headers over the size limit, a malformed
 * request line or header, a client too slow to send its headers) are answered in the API's JSON error
 * format like every other error, where Node would send a bare status line.
 */
function answerParserErrorsInJson(server: http.Server): void {
  const responses = new WeakMap<Duplex, http.ServerResponse>();
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    responses.set(req.socket, res);
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // As Node does: answer only when no response of this connection is half-way out, which the answer
    // would corrupt, and never to a peer that has gone.
    const current = responses.get(socket);
    const answerable = !current || current.writableEnded || !current.headersSent;
    if (error.code !== 'ECONNRESET' && socket.writable && answerable) {
      socket.end(rawErrorResponse(parserError(error)));
    } else {
      socket.destroy();
    }
  });
}

function parserError(error: NodeJS.ErrnoException): ApiError {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new ApiError(
        431,
        'headers_too_large',
        `The request headers are larger than the limit of ${http.maxHeaderSize} bytes`,
      );
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new ApiError(413, 'payload_too_large', 'The chunk extensions of the request body are too large');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ApiError(408, 'request_timeout', 'The request did not arrive in time');
    default:
      return new ApiError(400, 'invalid_request', 'The request is malformed');
  }
}

/** A whole HTTP/1.1 response for a socket that has no ServerResponse; the connection closes after it. */
function rawErrorResponse(error: ApiError): string {
  const body = JSON.stringify(error.toBody());
  return [
    `HTTP/1.1 ${error.status} ${http.STATUS_CODES[error.status] ?? ''}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'X-Content-Type-Options: nosniff',
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}
