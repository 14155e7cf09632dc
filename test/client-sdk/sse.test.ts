/** The SDK's text/event-stream reader, fed the way a network delivers bytes: in arbitrary pieces. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readServerSentEvents } from '../../packages/client/src/sse.js';

function streamOf(...pieces: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const piece of pieces)
        controller.enqueue(typeof piece === 'string' ? encoder.encode(piece) : piece);
      controller.close();
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>) {
  const events = [];
  for await (const event of readServerSentEvents(stream)) events.push(event);
  return events;
}

describe('readServerSentEvents', () => {
  test('when lines and characters are split across chunks, then each event is whole, with its name, data and id', async () => {
    const euro = new TextEncoder().encode('€');
    const events = await collect(
      streamOf(
        'retry: 10',
        '00\n\nid: 7\r',
        '\nevent: gra',
        'ph\ndata: {"a":',
        euro.slice(0, 1),
        euro.slice(1),
        '}\r\n\r\n',
      ),
    );

    assert.deepEqual(events, [{ event: 'graph', data: '{"a":€}', id: '7' }]);
  });

  test('when a stream has comments, multi-line data and events without a name, then comments are skipped, data lines joined and the name defaults to message', async () => {
    const events = await collect(
      streamOf(': heartbeat\n\ndata: one\ndata:two\n\nid: 9\nevent: end\ndata: {}\n\n'),
    );

    assert.deepEqual(events, [
      { event: 'message', data: 'one\ntwo', id: undefined },
      { event: 'end', data: '{}', id: '9' },
    ]);
  });

  test('when the stream closes in the middle of an event, then that event is not reported', async () => {
    const events = await collect(
      streamOf('id: 1\nevent: graph\ndata: {}\n\nid: 2\nevent: graph\ndata: {"cut'),
    );

    assert.deepEqual(
      events.map((event) => event.id),
      ['1'],
    );
  });
});
