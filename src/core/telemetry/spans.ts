/**
 * The one way core code records a span: through OpenTelemetry's API, which does nothing (and costs next to
 * nothing) until a process installs an SDK. Only src/app does that (src/app/tracing.ts), when the
 * OTEL_EXPORTER_OTLP_ENDPOINT variable asks for it; core never sees the SDK or an exporter.
 */
import { SpanStatusCode, trace, type Attributes, type Span, type SpanKind } from '@opentelemetry/api';

const tracer = trace.getTracer('pixelshift');

/**
 * Runs `fn` inside a span named `name`, a child of the active one (unless `root`); the span ends when `fn` settles and
 * records a rejection as its error (with the classified code when there is one).
 */
export function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  /** `root`: the start of a trace of its own (a queue message), whatever span is active. */
  options: { root?: boolean; kind?: SpanKind } = {},
): Promise<T> {
  return tracer.startActiveSpan(name, { attributes, ...options }, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      const code = (error as { code?: unknown } | undefined)?.code;
      if (typeof code === 'string') span.setAttribute('pixelshift.error.code', code);
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: error instanceof Error ? error.message : String(error),
      });
      throw error;
    } finally {
      span.end();
    }
  });
}
