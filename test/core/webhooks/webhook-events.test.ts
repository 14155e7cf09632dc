import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  batchCompletedData,
  graphEventData,
  graphEventType,
  maxBatchEventBytes,
} from '../../../src/core/webhooks/webhook-events.js';
import { emptyCounts, type BatchStatus, type GraphOutcome } from '../../../src/core/jobs/job-status.js';

function outcome(index: number, state: GraphOutcome['state'], sinks = 3): GraphOutcome {
  return {
    index,
    workflowId: `graph/acme/b_1/${index}`,
    state,
    sinks: Array.from({ length: sinks }, (_, i) => ({
      storage: 'default',
      bucket: 'out',
      key: `photos/${index}/output-${i}-with-a-long-descriptive-name.webp`,
      bytes: 123_456,
      format: 'webp' as const,
      width: 1600,
      height: 1067,
      etag: '"0123456789abcdef0123456789abcdef"',
    })),
    failures: [],
    ...(state === 'failed'
      ? { error: { code: 'corrupt_input' as const, message: 'premature end of JPEG' } }
      : {}),
  };
}

function batch(graphs: GraphOutcome[]): BatchStatus {
  const counts = emptyCounts();
  for (const graph of graphs) counts[graph.state] += 1;
  return {
    accountId: 'acme',
    batchId: 'b_1',
    workflowId: 'batch/acme/b_1',
    state: counts.succeeded === graphs.length ? 'succeeded' : 'partial',
    graphCount: graphs.length,
    counts,
    graphs,
    createdAt: '2026-03-01T12:00:00.000Z',
    finishedAt: '2026-03-01T12:01:00.000Z',
  };
}

describe('webhook payloads', () => {
  test('when a graph finishes, then succeeded maps to graph.succeeded, failed and partial to graph.failed, cancelled to nothing', () => {
    assert.equal(graphEventType('succeeded'), 'graph.succeeded');
    assert.equal(graphEventType('failed'), 'graph.failed');
    assert.equal(graphEventType('partial'), 'graph.failed');
    assert.equal(graphEventType('cancelled'), undefined);
  });

  test('when a batch graph failed, then its event carries the batch, the index and the error code', () => {
    const data = graphEventData('acme', outcome(4, 'failed', 0), 'b_1');
    assert.equal(data.batchId, 'b_1');
    assert.equal(data.index, 4);
    assert.equal(data.error?.code, 'corrupt_input');
    const triggered = graphEventData('acme', outcome(0, 'succeeded'));
    assert.equal('batchId' in triggered, false);
    assert.equal('index' in triggered, false);
  });

  test('when a batch is small, then batch.completed carries every sink', () => {
    const data = batchCompletedData(batch([outcome(0, 'succeeded'), outcome(1, 'failed', 0)]));
    assert.equal(data.detail, 'full');
    assert.equal(data.graphs[0]!.sinks!.length, 3);
    assert.equal(data.graphs[1]!.errorCode, 'corrupt_input');
    assert.equal(data.statusPath, '/v1/batches/b_1');
  });

  test('when a batch has 1000 graphs, then batch.completed keeps states only and stays under the size cap', () => {
    const graphs = Array.from({ length: 1000 }, (_, i) => outcome(i, i % 10 === 0 ? 'failed' : 'succeeded'));
    const data = batchCompletedData(batch(graphs));
    const bytes = JSON.stringify(data).length;
    assert.equal(data.detail, 'states');
    assert.equal(data.graphs.length, 1000);
    assert.equal(data.graphs[0]!.sinks, undefined);
    assert.equal(data.graphs[10]!.errorCode, 'corrupt_input');
    assert.ok(bytes <= maxBatchEventBytes, `${bytes} bytes`);
    assert.equal(data.counts.failed, 100);
  });
});
