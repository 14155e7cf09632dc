import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startHttpServer, type HttpServer } from '../../src/api/http-server.js';
import { createTestApi, type TestApi } from '../support/api-harness.js';

let api: TestApi;
let server: HttpServer;
before(async () => {
  api = await createTestApi();
  server = await startHttpServer(api.app, { host: '127.0.0.1', port: 0 });
});
after(async () => {
  await server.close();
  await api.close();
});

/**
 * Writes raw requests on one fresh connection, each once the answer to the one before has arrived, and
 * reads until the server closes the connection.
 */
async function exchange(...requests: string[]): Promise<string> {
  const { port } = new URL(server.url);
  const socket = net.connect({ host: '127.0.0.1', port: Number(port) });
  let received = '';
  let progress: () => void = () => {};
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
    progress();
  });
  const closed = new Promise<void>((resolve, reject) => {
    socket.once('close', () => {
      progress();
      resolve();
    });
    socket.once('error', reject);
  });
  const answers = () => received.split('HTTP/1.1 ').length - 1;
  for (const [index, payload] of requests.entries()) {
    while (answers() < index && !socket.destroyed) {
      await new Promise<void>((resolve) => (progress = resolve));
    }
    socket.write(payload);
  }
  await closed;
  return received;
}

/** The last response of a raw exchange: its status line, headers and parsed JSON body. */
function lastResponse(raw: string): { status: number; headers: Map<string, string>; body: unknown } {
  const start = raw.lastIndexOf('HTTP/1.1 ');
  const [head = '', body = ''] = raw.slice(start).split('\r\n\r\n');
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const headers = new Map(
    headerLines.map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()] as const;
    }),
  );
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(body) as unknown };
}

describe('errors the HTTP parser raises before the app', () => {
  test('when the request headers are larger than the limit, then 431 headers_too_large in the JSON error format', async () => {
    const res = await fetch(`${server.url}/healthz`, {
      headers: { 'x-padding': 'x'.repeat(http.maxHeaderSize + 1) },
    });
    assert.equal(res.status, 431);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.deepEqual(await res.json(), {
      error: {
        code: 'headers_too_large',
        message: `The request headers are larger than the limit of ${http.maxHeaderSize} bytes`,
      },
    });
  });

  test('when the request line is not HTTP, then 400 invalid_request in the JSON error format and the connection closes', async () => {
    const res = lastResponse(await exchange('HELLO THERE\r\n\r\n'));
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('connection'), 'close');
    assert.equal(Number(res.headers.get('content-length')), Buffer.byteLength(JSON.stringify(res.body)));
    assert.deepEqual(res.body, { error: { code: 'invalid_request', message: 'The request is malformed' } });
  });

  test('when a kept-alive connection sends a malformed request after an answered one, then that one is answered in JSON too', async () => {
    const raw = await exchange(
      'GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n',
      'GET /healthz HTTP/1.1\r\nHost: test\r\nBad Header\r\n\r\n',
    );
    assert.match(raw, /^HTTP\/1\.1 200 OK\r\n/);
    const res = lastResponse(raw);
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, { error: { code: 'invalid_request', message: 'The request is malformed' } });
  });
});
