/**
 * The worker's one `/metrics` (PIXELSHIFT_WORKER_METRICS_ADDRESS): pixelshift's own metrics from the
 * prom-client registry, followed by the Temporal SDK's (`temporal_*`), which the SDK's Prometheus
 * exporter serves on a loopback port of its own and which this endpoint fetches on every scrape. One
 * scrape target per worker process, so a pod needs one port and one annotation (docs/decisions.md).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gauge, type Registry } from 'prom-client';

export interface MetricsEndpointOptions {
  /** `host:port` to listen on; port 0 picks a free one. */
  address: string;
  registry: Registry;
  /** `host:port` of the SDK's exporter (installTemporalRuntime's `sdkMetricsAddress`); absent: ours only. */
  sdkAddress?: string | undefined;
  /** How long a scrape waits for the SDK's exporter before answering without its metrics. */
  sdkTimeoutMs?: number;
}

export interface MetricsEndpoint {
  /** `http://host:port/metrics` */
  url: string;
  close(): Promise<void>;
}

export const sdkMetricsUpName = 'pixelshift_worker_sdk_metrics_up';

/** Splits `host:port` and `[v6]:port`. */
export function parseHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(address.slice(colon + 1)) };
}

export async function startMetricsEndpoint(options: MetricsEndpointOptions): Promise<MetricsEndpoint> {
  const { registry, sdkAddress } = options;
  const existing = registry.getSingleMetric(sdkMetricsUpName);
  const sdkUp =
    (existing as Gauge | undefined) ??
    new Gauge({
      name: sdkMetricsUpName,
      help: "1 when this scrape included the Temporal SDK's metrics, 0 when its exporter did not answer",
      registers: [registry],
    });

  const render = async (): Promise<string> => {
    let sdk = '';
    if (sdkAddress) {
      try {
        const response = await fetch(`http://${sdkAddress}/metrics`, {
          signal: AbortSignal.timeout(options.sdkTimeoutMs ?? 5_000),
        });
        if (!response.ok) throw new Error(`status ${response.status}`);
        sdk = await response.text();
        sdkUp.set(1);
      } catch {
        sdkUp.set(0);
      }
    } else {
      sdkUp.set(0);
    }
    const own = await registry.metrics();
    // Both are the text format; distinct names (`pixelshift_*` and the process's, `temporal_*`) concatenate.
    return sdk ? `${own.endsWith('\n') ? own : `${own}\n`}${sdk}` : own;
  };

  const server = http.createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://worker');
    if (pathname !== '/metrics') {
      res
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('Not found: the worker serves /metrics only\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('Method not allowed\n');
      return;
    }
    render().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(
          `metrics could not be collected: ${error instanceof Error ? error.message : String(error)}\n`,
        );
      },
    );
  });
  const { host, port } = parseHostPort(options.address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const shownHost = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${shownHost}:${bound.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
