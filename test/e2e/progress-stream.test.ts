import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { threeOutputGraph } from '../support/graphs.js';
import { contractViolation } from '../support/response-contract.js';
import { startStack, type Stack } from '../support/stack.js';

interface StreamEvent {
  id: number;
  event: string;
  data: Record<string, unknown>;
}

/** The events of a stream read to its end (the server closes it after `end`). */
function readStream(text: string): StreamEvent[] {
  return text
    .split('\n\n')
    .map((block) =>
      Object.fromEntries(
        block
          .split('\n')
          .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
      ),
    )
    .filter((fields) => fields.data !== undefined)
    .map((fields) => ({
      id: Number(fields.id),
      event: String(fields.event),
      data: JSON.parse(String(fields.data)),
    }));
}

describe('live progress on the real stack: a batch followed to its end over Server-Sent Events', () => {
  let stack: Stack;

  before(async () => {
    stack = await startStack();
    await stack.uploadFixture('jpeg-baseline-photo-2725x2225.jpg');
    await stack.uploadFixture('png-rgba-alpha.png');
  });
  after(() => stack?.close());

  test('when a batch runs, then its stream shows every graph reach its end in order and closes with the batch’s end, as its status reads', async () => {
    const { input, output } = stack.buckets;
    const graphs = ['jpeg-baseline-photo-2725x2225.jpg', 'png-rgba-alpha.png'].map((file) =>
      threeOutputGraph(input, `in/${file}`, output, `sse/${file}`),
    );
    const submitted = await stack.api('/v1/batches', { method: 'POST', body: JSON.stringify({ graphs }) });
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    const { batchId } = submitted.body as { batchId: string };

    const res = await fetch(`${stack.server.url}/v1/batches/${batchId}/events`, {
      headers: { Authorization: `Bearer ${await stack.token()}`, Accept: 'text/event-stream' },
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    const violation = contractViolation(stack.openApiDocument, 'GET', `/v1/batches/${batchId}/events`, {
      status: res.status,
      headers: { 'content-type': res.headers.get('content-type') ?? '' },
      body: undefined,
      text,
    });
    assert.equal(violation, undefined);
    const events = readStream(text);

    assert.deepEqual(
      events.map((e) => e.id),
      events.map((_, i) => i + 1),
      'ids count every change of the batch, none skipped',
    );
    const end = events.at(-1)!;
    assert.equal(end.event, 'end');
    assert.equal(end.data.state, 'succeeded');
    for (const index of [0, 1]) {
      const states = events.filter((e) => e.data.graphIndex === index).map((e) => e.data.state);
      assert.equal(states.at(-1), 'succeeded', `graph ${index}: ${states.join(' → ')}`);
      assert.ok(states.includes('running'), `graph ${index} was seen running: ${states.join(' → ')}`);
    }
    const status = await stack.api(`/v1/batches/${batchId}`);
    assert.deepEqual(end.data.counts, (status.body as { counts: unknown }).counts);
  });
});
