/**
 * Prometheus metrics for `/metrics`: the process defaults from prom-client plus a request counter and a
 * latency histogram labelled by route pattern (never the raw URL, which would explode the label space).
 */
import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export interface HttpMetrics {
  registry: Registry;
  middleware: RequestHandler;
}

export function createHttpMetrics(registry = new Registry()): HttpMetrics {
  collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({
    name: 'pixelshift_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'pixelshift_http_request_duration_seconds',
    help: 'HTTP request latency, by method, route pattern and status',
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  const middleware: RequestHandler = (req, res, next) => {
    const stopTimer = duration.startTimer();
    res.once('finish', () => {
      // Routers are mounted at the root, so the matched pattern is the whole path (`\:` is an escaped colon).
      const pattern = (req.route as { path?: unknown } | undefined)?.path;
      const labels = {
        method: req.method,
        route: typeof pattern === 'string' ? pattern.replace(/\\/g, '') : 'unmatched',
        status: String(res.statusCode),
      };
      requests.inc(labels);
      stopTimer(labels);
    });
    next();
  };
  return { registry, middleware };
}
