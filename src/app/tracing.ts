/**
 * OpenTelemetry tracing for `pixelshift api`, `worker` and `dev` (docs/operations.md, "Tracing").
 *
 * Off unless OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, and off whenever
 * OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none: then no SDK package is even loaded, and the spans
 * the code records through `@opentelemetry/api` are no-ops. On, it installs a tracer provider that sends
 * batches of spans over OTLP/HTTP (protobuf) and instruments Node's HTTP server and client (which covers
 * the AWS SDK's requests to S3 and SQS: see docs/decisions.md) and `pg`. It must run before those modules are loaded (main.ts imports the commands after it), because
 * the instrumentations patch them as they load; ES modules are patched through import-in-the-middle's
 * loader hook, limited to the instrumented modules.
 *
 * The standard variables apply as the SDK reads them: OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
 * OTEL_EXPORTER_OTLP_HEADERS, OTEL_TRACES_SAMPLER(_ARG), OTEL_BSP_*.
 */
import { register } from 'node:module';
import { trace } from '@opentelemetry/api';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { Resource } from '@opentelemetry/resources';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { WorkerTracing } from '../temporal/worker/worker.js';

export interface Tracing {
  /** For the start-up lines: where spans go, as which service. */
  description: string;
  resource: Resource;
  spanProcessor: SpanProcessor;
  /** Exports the spans still buffered and stops; call once the process's work is done. */
  shutdown(): Promise<void>;
}

/** Which processes trace: the long-running ones. */
export type TracedProcess = 'api' | 'worker' | 'dev';

/** Whether the environment asks for traces (see the module's comment). */
export function tracingRequested(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? 'otlp').split(',').map((name) => name.trim().toLowerCase());
  if (exporters.includes('none')) return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

/** Paths whose requests are not traced: probes and scrapes, which would drown the traces of work. */
const untracedPaths = /^\/(healthz|readyz|metrics)(\?|$)/;

/** Starts tracing for `process` when the environment asks for it; undefined otherwise. */
export async function startTracing(
  env: NodeJS.ProcessEnv,
  process: TracedProcess,
): Promise<Tracing | undefined> {
  if (!tracingRequested(env)) return undefined;
  const { createAddHookMessageChannel } = await import('import-in-the-middle');
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);

  const [
    { NodeTracerProvider, BatchSpanProcessor },
    { OTLPTraceExporter },
    { Resource, envDetectorSync },
    { registerInstrumentations },
    { HttpInstrumentation },
    { PgInstrumentation },
  ] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-proto'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/instrumentation'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-pg'),
  ]);
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) win over our defaults.
  const resource = new Resource({
    'service.name': 'pixelshift',
    'service.namespace': 'pixelshift',
    'pixelshift.process': process,
  }).merge(envDetectorSync.detect());
  const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => untracedPaths.test(request.url ?? ''),
      }),
      new PgInstrumentation({ requireParentSpan: true }),
    ],
  });
  await waitForAllMessagesAcknowledged();
  const serviceName = String(provider.resource.attributes['service.name']);
  const endpoint =
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() ||
    `${env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim().replace(/\/$/, '')}/v1/traces`;
  return {
    description: `OTLP/HTTP to ${endpoint} as service ${serviceName}`,
    resource: provider.resource,
    spanProcessor,
    async shutdown() {
      unregister();
      await provider.shutdown();
    },
  };
}

/**
 * pino's mixin: every log line written while a span is active carries its `trace_id` and `span_id`, so a
 * log search finds the trace and the trace view finds the lines.
 */
export function traceLogFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/** The Temporal client's and workers' side of tracing (interceptors and the workflow span sink). */
export async function temporalTracing(tracing: Tracing | undefined): Promise<{
  client: { workflow: WorkflowClientInterceptor[] } | undefined;
  worker: WorkerTracing | undefined;
}> {
  if (!tracing) return { client: undefined, worker: undefined };
  const otel = await import('@temporalio/interceptors-opentelemetry');
  return {
    client: { workflow: [new otel.OpenTelemetryWorkflowClientInterceptor()] },
    worker: {
      activityInterceptors: [
        (ctx) => ({
          inbound: new otel.OpenTelemetryActivityInboundInterceptor(ctx),
          outbound: new otel.OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
      workflowSpanExporter: otel.makeWorkflowExporter(tracing.spanProcessor, tracing.resource),
    },
  };
}
