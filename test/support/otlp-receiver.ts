/**
 * A real OTLP/HTTP trace receiver on loopback: accepts `POST /v1/traces` in the protobuf encoding the
 * service's exporter sends, decodes it with OpenTelemetry's own generated protobuf types, and keeps the
 * spans with their resource's attributes.
 */
import { createRequire } from 'node:module';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const require = createRequire(import.meta.url);
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');
const ExportTraceServiceRequest = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
const ExportTraceServiceResponse = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP's span kind number (1 internal, 2 server, 3 client, 4 producer, 5 consumer). */
  kind: number;
  attributes: Record<string, unknown>;
  /** OTLP's status code (0 unset, 1 ok, 2 error). */
  status: number;
  service: string;
  resource: Record<string, unknown>;
}

export interface OtlpReceiver {
  /** What OTEL_EXPORTER_OTLP_ENDPOINT should be. */
  endpoint: string;
  spans(): ReceivedSpan[];
  /** Requests that were not a decodable trace export. */
  rejected(): number;
  waitFor(predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

interface KeyValue {
  key: string;
  value: Record<string, unknown>;
}

function attributesOf(list: KeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) out[key] = valueOf(value);
  return out;
}

function valueOf(value: Record<string, unknown>): unknown {
  if ('arrayValue' in value) {
    const values = (value.arrayValue as { values?: Record<string, unknown>[] }).values ?? [];
    return values.map(valueOf);
  }
  return Object.values(value)[0];
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const received: ReceivedSpan[] = [];
  let rejected = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (
        req.method !== 'POST' ||
        req.url !== '/v1/traces' ||
        req.headers['content-type'] !== 'application/x-protobuf'
      ) {
        rejected++;
        res.writeHead(404).end();
        return;
      }
      try {
        const message = ExportTraceServiceRequest.decode(Buffer.concat(chunks));
        const request = ExportTraceServiceRequest.toObject(message, {
          longs: String,
          bytes: String,
          defaults: true,
        });
        for (const resourceSpans of request.resourceSpans ?? []) {
          const resource = attributesOf(resourceSpans.resource?.attributes);
          for (const scope of resourceSpans.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) {
              received.push({
                traceId: Buffer.from(span.traceId, 'base64').toString('hex'),
                spanId: Buffer.from(span.spanId, 'base64').toString('hex'),
                parentSpanId: Buffer.from(span.parentSpanId ?? '', 'base64').toString('hex'),
                name: span.name,
                kind: span.kind,
                attributes: attributesOf(span.attributes),
                status: span.status?.code ?? 0,
                service: String(resource['service.name']),
                resource,
              });
            }
          }
        }
        const answer = ExportTraceServiceResponse.encode(ExportTraceServiceResponse.create({})).finish();
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(Buffer.from(answer));
      } catch {
        rejected++;
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans: () => [...received],
    rejected: () => rejected,
    async waitFor(predicate, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(received)) {
        if (Date.now() > deadline) {
          const names = received.map((span) => `${span.service}:${span.name}`).join(', ');
          throw new Error(`the expected spans did not arrive; received: ${names}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return [...received];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
