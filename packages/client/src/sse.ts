/** A reader of `text/event-stream` bodies (the WHATWG Server-Sent Events format), from fetch's stream. */

/** One dispatched event: its `event:` name (`message` when none), its joined `data:` lines and `id:`. */
export interface ServerSentEvent {
  event: string;
  data: string;
  id: string | undefined;
}

/** Yields each event of the stream as it completes; comments (heartbeats) and `retry:` are skipped. */
export async function* readServerSentEvents(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | undefined;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      // A trailing \r may be the first half of \r\n: keep it until the next chunk says.
      let lineEnd: RegExpExecArray | null;
      const lineBreak = /\r\n|\n|\r(?!$)/g;
      let consumed = 0;
      while ((lineEnd = lineBreak.exec(buffer)) !== null) {
        const line = buffer.slice(consumed, lineEnd.index);
        consumed = lineEnd.index + lineEnd[0].length;
        if (line === '') {
          // A blank line dispatches; an event without data is dropped, as the format says.
          if (data.length > 0) yield { event: event || 'message', data: data.join('\n'), id };
          event = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
        else if (field === 'id' && !value.includes('\0')) id = value;
      }
      buffer = buffer.slice(consumed);
      // An event not ended by a blank line when the stream closes is incomplete: it is not dispatched.
      if (done) return;
    }
  } finally {
    // Also when the consumer stops early: the connection is closed, not left open.
    await reader.cancel().catch(() => undefined);
  }
}
