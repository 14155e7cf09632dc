import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface ProxyResponseOverride {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface ProxyOptions {
  /** Answer a request without forwarding it (fault injection), or return undefined to forward. */
  intercept?: (request: RecordedRequest) => ProxyResponseOverride | undefined;
  /** Rewrite the upstream response headers before they reach the client. */
  rewriteHeaders?: (request: RecordedRequest, headers: http.IncomingHttpHeaders) => http.IncomingHttpHeaders;
}

export interface HttpProxy {
  endpoint: string;
  requests: RecordedRequest[];
  stop(): Promise<void>;
}

/**
 * A loopback HTTP proxy in front of a real server (moto): it records what a client actually
 * sent and can inject faults, so tests observe the real SDK's behaviour rather than a mock's.
 */
export async function startHttpProxy(upstream: string, options: ProxyOptions = {}): Promise<HttpProxy> {
  const target = new URL(upstream);
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const recorded = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers };
    requests.push(recorded);
    const override = options.intercept?.(recorded);
    if (override) {
      req.resume();
      res.writeHead(override.status, override.headers ?? {});
      res.end(override.body ?? '');
      return;
    }
    const forwarded = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (upstreamRes) => {
        const headers = options.rewriteHeaders?.(recorded, upstreamRes.headers) ?? upstreamRes.headers;
        res.writeHead(upstreamRes.statusCode ?? 502, headers);
        upstreamRes.pipe(res);
      },
    );
    forwarded.on('error', () => res.destroy());
    res.on('close', () => forwarded.destroy());
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
