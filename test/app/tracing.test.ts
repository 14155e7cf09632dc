/**
 * Tracing is off unless asked for (src/app/tracing.ts), and pino's lines carry the active span's ids.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import { startTracing, traceLogFields, tracingRequested } from '../../src/app/tracing.js';

const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };

describe('tracing settings', () => {
  test('when no OTLP endpoint is set, then tracing is off', () => {
    assert.equal(tracingRequested({}), false);
    assert.equal(
      tracingRequested({ OTEL_SERVICE_NAME: 'pixelshift', OTEL_EXPORTER_OTLP_ENDPOINT: ' ' }),
      false,
    );
  });

  test('when an endpoint is set, then tracing is on (the traces-only endpoint counts too)', () => {
    assert.equal(tracingRequested(endpoint), true);
    assert.equal(
      tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector/v1/traces' }),
      true,
    );
  });

  test('when OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none, then tracing is off despite an endpoint', () => {
    assert.equal(tracingRequested({ ...endpoint, OTEL_SDK_DISABLED: 'TRUE' }), false);
    assert.equal(tracingRequested({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' }), false);
    assert.equal(tracingRequested({ ...endpoint, OTEL_SDK_DISABLED: 'false' }), true);
  });

  test('when tracing is off, then startTracing installs nothing and spans do not record', async () => {
    assert.equal(await startTracing({ ...endpoint, OTEL_SDK_DISABLED: 'true' }, 'api'), undefined);
    const span = trace.getTracer('test').startSpan('probe');
    assert.equal(span.isRecording(), false);
    span.end();
  });
});

describe('log lines and traces', () => {
  test('when pino logs inside a span, then the line carries its trace_id and span_id; outside, neither', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const logger = pino({ mixin: traceLogFields }, sink);
    const contextManager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(contextManager);
    const provider = new BasicTracerProvider();
    try {
      const tracer = provider.getTracer('test');
      const ids = await tracer.startActiveSpan('request', async (span) => {
        await Promise.resolve();
        logger.info('inside');
        span.end();
        return span.spanContext();
      });
      logger.info('outside');
      assert.equal(lines[0]!.trace_id, ids.traceId);
      assert.equal(lines[0]!.span_id, ids.spanId);
      assert.equal(lines[1]!.msg, 'outside');
      assert.equal('trace_id' in lines[1]!, false);
    } finally {
      context.disable();
      await provider.shutdown();
    }
  });
});
