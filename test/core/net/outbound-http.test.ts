import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createAddressPolicy } from '../../../src/core/net/address-policy.js';
import { createOutboundClient, type Resolver } from '../../../src/core/net/outbound-http.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** A loopback receiver whose behaviour each test sets. */
async function startReceiver(): Promise<{
  port: number;
  hits: number;
  handle: (h: Handler) => void;
  close(): Promise<void>;
}> {
  let handler: Handler = (_req, res) => res.end('ok');
  const state = { hits: 0 };
  const server = http.createServer((req, res) => {
    state.hits += 1;
    req.resume();
    req.on('end', () => handler(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get hits() {
      return state.hits;
    },
    handle: (next) => (handler = next),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const post = (url: string, timeoutMs = 5_000) => ({
  url,
  headers: { 'content-type': 'application/json' },
  body: '{}',
  timeoutMs,
});

/** `internal.example.test` → 10.0.0.1, `public.example.test` → loopback (allow-listed by name in tests). */
const fakeDns: Resolver = (hostname) =>
  Promise.resolve().then(() => {
    if (hostname === 'internal.example.test') return [{ address: '10.0.0.1', family: 4 }];
    if (hostname === 'rebind.example.test')
      return [
        { address: '127.0.0.1', family: 4 },
        { address: '192.168.0.1', family: 4 },
      ];
    if (hostname === 'public.example.test') return [{ address: '127.0.0.1', family: 4 }];
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  });

describe('outbound HTTP client', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  before(async () => {
    receiver = await startReceiver();
  });
  after(() => receiver.close());

  const closed = createOutboundClient({ policy: createAddressPolicy([]), resolver: fakeDns });

  for (const host of ['127.0.0.1', '10.0.0.1', '169.254.169.254', '[::1]', '[::ffff:127.0.0.1]']) {
    test(`when the URL's host is the literal ${host} and not allow-listed, then nothing is sent`, async () => {
      const before = receiver.hits;
      const result = await closed.post(post(`http://${host}:${receiver.port}/hook`));
      assert.equal(result.kind, 'error');
      assert.equal(result.kind === 'error' && result.code, 'outbound_address_refused');
      assert.equal(receiver.hits, before);
    });
  }

  test('when a hostname resolves to a private address, then the connection is refused at connect time', async () => {
    const result = await closed.post(post(`http://internal.example.test:${receiver.port}/hook`));
    assert.equal(result.kind === 'error' && result.code, 'outbound_address_refused');
    assert.match(
      result.kind === 'error' ? result.message : '',
      /internal\.example\.test resolves to 10\.0\.0\.1/,
    );
  });

  test('when a hostname resolves only to loopback and private addresses, then none is connected to', async () => {
    const before = receiver.hits;
    const result = await closed.post(post(`http://rebind.example.test:${receiver.port}/hook`));
    assert.equal(result.kind === 'error' && result.code, 'outbound_address_refused');
    assert.equal(receiver.hits, before);
  });

  test('when the URL is not http(s), then it is refused as invalid', async () => {
    const result = await closed.post(post('file:///etc/passwd'));
    assert.equal(result.kind === 'error' && result.code, 'invalid_url');
  });

  test("when the target is where the service's own API listens, then nothing is sent unless its port is allow-listed", async () => {
    const ownApi = { ranges: ['127.0.0.1'], port: receiver.port };
    const loopbackAllowed = createOutboundClient({
      policy: createAddressPolicy(['127.0.0.1', 'public.example.test'], ownApi),
      resolver: fakeDns,
    });
    const before = receiver.hits;
    for (const url of [
      `http://127.0.0.1:${receiver.port}/v1/keys`,
      `http://public.example.test:${receiver.port}/v1/keys`,
    ]) {
      const result = await loopbackAllowed.post(post(url));
      assert.equal(result.kind === 'error' && result.code, 'outbound_address_refused', url);
      assert.match(result.kind === 'error' ? result.message : '', /own API/);
    }
    assert.equal(receiver.hits, before);

    const portAllowed = createOutboundClient({
      policy: createAddressPolicy([`127.0.0.1:${receiver.port}`], ownApi),
      resolver: fakeDns,
    });
    const result = await portAllowed.post(post(`http://127.0.0.1:${receiver.port}/hook`));
    assert.equal(result.kind === 'response' && result.status, 200);
  });

  test('when the allow-list names another port, then the receiver is refused', async () => {
    const otherPort = createOutboundClient({
      policy: createAddressPolicy([`127.0.0.1:${receiver.port + 1}`]),
      resolver: fakeDns,
    });
    const before = receiver.hits;
    const result = await otherPort.post(post(`http://127.0.0.1:${receiver.port}/hook`));
    assert.equal(result.kind === 'error' && result.code, 'outbound_address_refused');
    assert.equal(receiver.hits, before);
  });

  describe('with loopback allow-listed', () => {
    const open = createOutboundClient({
      policy: createAddressPolicy(['127.0.0.1', 'public.example.test']),
      resolver: fakeDns,
    });

    test('when the receiver answers 200, then the status and latency are reported and the body is sent', async () => {
      let received = '';
      receiver.handle((req, res) => {
        received = String(req.headers['content-type']);
        res.end('fine');
      });
      const result = await open.post(post(`http://127.0.0.1:${receiver.port}/hook`));
      assert.equal(result.kind === 'response' && result.status, 200);
      assert.equal(received, 'application/json');
    });

    test('when a public-looking URL redirects to a private address, then it is not followed and the refusal is reported', async () => {
      receiver.handle((_req, res) => {
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      });
      const before = receiver.hits;
      const result = await open.post(post(`http://public.example.test:${receiver.port}/hook`));
      assert.equal(result.kind, 'response');
      if (result.kind !== 'response') return;
      assert.equal(result.status, 302);
      assert.equal(result.redirect?.location, 'http://169.254.169.254/latest/meta-data/');
      assert.match(result.redirect?.refused ?? '', /169\.254\.169\.254/);
      assert.equal(receiver.hits, before + 1);
    });

    test('when the receiver redirects to an allowed address, then the redirect is still not followed', async () => {
      receiver.handle((_req, res) => res.writeHead(307, { location: '/elsewhere' }).end());
      const before = receiver.hits;
      const result = await open.post(post(`http://127.0.0.1:${receiver.port}/hook`));
      assert.equal(result.kind === 'response' && result.status, 307);
      assert.equal(result.kind === 'response' && result.redirect?.refused, undefined);
      assert.equal(receiver.hits, before + 1);
    });

    test('when the receiver never answers, then the attempt ends with a timeout', async () => {
      receiver.handle(() => undefined);
      const result = await open.post(post(`http://127.0.0.1:${receiver.port}/hook`, 300));
      assert.equal(result.kind === 'error' && result.code, 'timeout');
    });

    test('when the receiver streams a huge body, then reading stops at the cap', async () => {
      receiver.handle((_req, res) => {
        res.writeHead(200);
        const chunk = Buffer.alloc(64 * 1024, 1);
        let sent = 0;
        const pump = () => {
          while (sent < 1000 && res.write(chunk)) sent += 1;
          if (sent < 1000 && !res.destroyed) res.once('drain', pump);
          else res.end();
        };
        pump();
        res.on('error', () => undefined);
      });
      const result = await open.post(post(`http://127.0.0.1:${receiver.port}/hook`, 10_000));
      assert.equal(result.kind === 'response' && result.status, 200);
    });

    test('when nothing listens, then the attempt reports a connection failure', async () => {
      const spare = await startReceiver();
      const port = spare.port;
      await spare.close();
      const result = await open.post(post(`http://127.0.0.1:${port}/hook`));
      assert.equal(result.kind === 'error' && result.code, 'connection_failed');
    });
  });
});
