/**
 * The imaging engine's spans (src/core/telemetry/spans.ts): one for the download, one per stage, one per
 * encode and one per upload, nested as the graph is; none at all while no tracer provider is installed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { executeGraph } from '../../../src/core/imaging/index.js';
import { storesOf } from '../../support/memory-store.js';
import { fixtureStore, graphOf, outBucket } from './helpers.js';

const photo = 'jpeg-baseline-photo-2725x2225.jpg';

const twoBranches = (prefix: string) =>
  graphOf(
    photo,
    [{ type: 'Resize', width: 400, fit: 'inside' }],
    [
      { format: { format: 'webp', quality: 80 }, key: `${prefix}/a.webp` },
      { ops: [{ type: 'Grayscale' }], format: { format: 'png' }, key: `${prefix}/b.png` },
    ],
  );

function childrenOf(spans: ReadableSpan[], parent: ReadableSpan): ReadableSpan[] {
  return spans.filter((span) => span.parentSpanId === parent.spanContext().spanId);
}

describe('imaging spans', () => {
  it('when no tracer provider is installed, then a graph runs without recording a span', async () => {
    const store = fixtureStore();
    const result = await executeGraph(twoBranches('untraced'), { stores: storesOf(store) });
    assert.equal(result.sinks.length, 2);
    assert.equal(trace.getSpan(context.active()), undefined);
  });

  describe('with a tracer provider', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const contextManager = new AsyncLocalStorageContextManager();
    before(() => {
      context.setGlobalContextManager(contextManager.enable());
      trace.setGlobalTracerProvider(provider);
    });
    after(async () => {
      await provider.shutdown();
      trace.disable();
      context.disable();
    });

    it('when a graph with a shared stage and two outputs runs in a span, then download, stages, encodes and uploads are its descendants', async () => {
      const store = fixtureStore();
      await trace.getTracer('test').startActiveSpan('activity', async (root) => {
        await executeGraph(twoBranches('traced'), { stores: storesOf(store) });
        root.end();
      });
      const spans = exporter.getFinishedSpans();
      const root = spans.find((span) => span.name === 'activity')!;
      const top = childrenOf(spans, root);
      assert.deepEqual(top.map((span) => span.name).sort(), ['imaging.download', 'imaging.stage']);
      const download = top.find((span) => span.name === 'imaging.download')!;
      assert.equal(download.attributes['pixelshift.storage.key'], photo);
      assert.equal(download.attributes['pixelshift.image.width'], 2725);

      const stage = top.find((span) => span.name === 'imaging.stage')!;
      assert.deepEqual(stage.attributes['pixelshift.stage.operations'], ['Resize']);
      const below = (span: ReadableSpan): ReadableSpan[] =>
        childrenOf(spans, span).flatMap((child) => [child, ...below(child)]);
      const names = below(stage).map((span) => span.name);
      assert.equal(names.filter((name) => name === 'imaging.encode').length, 2);
      assert.equal(names.filter((name) => name === 'imaging.upload').length, 2);
      const uploads = below(stage).filter((span) => span.name === 'imaging.upload');
      assert.deepEqual(uploads.map((span) => span.attributes['pixelshift.storage.key']).sort(), [
        'traced/a.webp',
        'traced/b.png',
      ]);
      assert.ok(uploads.every((span) => span.attributes['pixelshift.storage.bucket'] === outBucket));
      const encodes = below(stage).filter((span) => span.name === 'imaging.encode');
      assert.deepEqual(encodes.map((span) => span.attributes['pixelshift.output.format']).sort(), [
        'png',
        'webp',
      ]);
      assert.ok(spans.every((span) => span.spanContext().traceId === root.spanContext().traceId));
    });

    it('when an output cannot be written, then its upload span records the error code and the other output is written', async () => {
      exporter.reset();
      const store = fixtureStore().refuseWrites('refused');
      const graph = graphOf(
        photo,
        [],
        [
          { format: { format: 'webp' }, key: 'ok/a.webp' },
          { format: { format: 'png' }, key: 'no/b.png', bucket: 'refused' },
        ],
      );
      const result = await executeGraph(graph, { stores: storesOf(store) });
      assert.equal(result.sinks.length, 1);
      const uploads = exporter.getFinishedSpans().filter((span) => span.name === 'imaging.upload');
      const failed = uploads.find((span) => span.attributes['pixelshift.storage.bucket'] === 'refused')!;
      assert.equal(failed.status.code, 2);
      assert.equal(failed.attributes['pixelshift.error.code'], result.failures[0]!.error.code);
      const written = uploads.find((span) => span.attributes['pixelshift.storage.bucket'] === outBucket)!;
      assert.equal(written.status.code, 0);
    });
  });
});
