/**
 * Server-Sent Events (`text/event-stream`): the response head, the wire form of one event and of a
 * heartbeat, and the documented form of a streaming response (docs/architecture.md §7.3).
 */
import type { ResponseConfig } from '@asteasolutions/zod-to-openapi';
import type { ServerResponse } from 'node:http';
import { z } from 'zod';

export const eventStreamMediaType = 'text/event-stream';

/** How long a client waits before reconnecting after the stream broke (the SSE `retry:` field), in ms. */
const reconnectMs = 3000;

/** Starts a 200 event stream: no caching, no proxy buffering, the head sent at once. */
export function startEventStream(res: ServerResponse): void {
  res.writeHead(200, {
    'Content-Type': `${eventStreamMediaType}; charset=utf-8`,
    'Cache-Control': 'no-cache, no-transform',
    // nginx buffers responses by default; an event stream must reach the client as it is written.
    'X-Accel-Buffering': 'no',
    Connection: 'keep-alive',
  });
  res.write(`retry: ${reconnectMs}\n\n`);
}

/** One event. `data` is JSON on one line, so it is one `data:` field whatever it holds. */
export function formatEvent(event: { id: number; event: string; data: unknown }): string {
  return `id: ${event.id}\nevent: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

/** A comment line: ignored by clients, it keeps proxies and load balancers from closing an idle stream. */
export const heartbeat = ': heartbeat\n\n';

/**
 * The documented 200 of a streaming route: `text/event-stream` whose events carry, as JSON `data`, one of
 * the given schemas (each a named component, so generated clients get a type per event). The event names
 * are listed in the description.
 */
export function eventStreamResponse(
  description: string,
  events: Readonly<Record<string, z.ZodType>>,
): ResponseConfig {
  const schemas = Object.values(events);
  const list = Object.keys(events)
    .map((name) => `\`${name}\``)
    .join(', ');
  return {
    description: `${description} Events: ${list}; each has an \`id:\` (send the last one back as \`Last-Event-ID\` to resume) and JSON \`data:\` of the schema given here.`,
    content: {
      [eventStreamMediaType]: {
        schema:
          schemas.length === 1 ? schemas[0]! : z.union(schemas as [z.ZodType, z.ZodType, ...z.ZodType[]]),
      },
    },
  };
}
