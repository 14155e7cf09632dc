/**
 * Server-Sent Events (`text/event-stream`): the response head, the wire form of one event and of a
 * heartbeat, and the documented form of a streaming response (docs/architecture.md §7.3).
 */
import type { OpenAPIRegistry, ResponseConfig } from '@asteasolutions/zod-to-openapi';
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

/** The events of a stream: each event name with the schema of its JSON `data` (named with `.meta({ id })`). */
export type StreamEvents = Readonly<Record<string, z.ZodType>>;

/**
 * The documented 200 of a streaming route: `text/event-stream`, each event described as the object a
 * Server-Sent Events parser yields (`event` its name, `id`, and `data` a JSON string whose
 * `contentSchema` is the event's named component), so fuzzers check every event and generated clients
 * get a type per event. Register the components with `eventStreamComponents`.
 */
export function eventStreamResponse(description: string, events: StreamEvents): ResponseConfig {
  const variants = Object.entries(events).map(([name, schema]) => ({
    type: 'object' as const,
    properties: {
      event: { type: 'string' as const, enum: [name] },
      id: { type: 'string' as const, pattern: '^[0-9]+$' },
      data: {
        type: 'string' as const,
        contentMediaType: 'application/json',
        contentSchema: { $ref: `#/components/schemas/${componentName(schema)}` },
      },
    },
    required: ['event', 'id', 'data'],
  }));
  const names = Object.keys(events)
    .map((name) => `\`${name}\``)
    .join(', ');
  return {
    description: `${description} Events: ${names}; send the last \`id\` back as \`Last-Event-ID\` to resume after it.`,
    content: {
      [eventStreamMediaType]: { schema: variants.length === 1 ? variants[0]! : { oneOf: variants } },
    },
  };
}

/** Registers the data schemas of a stream's events as components (the `document` of its feature). */
export function eventStreamComponents(...streams: StreamEvents[]): (registry: OpenAPIRegistry) => void {
  return (registry) => {
    for (const schema of new Set(streams.flatMap((events) => Object.values(events)))) {
      // The data schemas are referenced only from raw JSON Schema (contentSchema), never from a zod
      // schema the generator walks, so they are rendered here (JSON Schema 2020-12, as OpenAPI 3.1 reads).
      const name = componentName(schema);
      // zod puts a schema that has an id under $defs and refers to it; the component is that definition.
      const rendered = z.toJSONSchema(schema, { io: 'output' }) as { $defs?: Record<string, unknown> };
      registry.registerComponent('schemas', name, rendered.$defs?.[name] as ComponentSchema);
    }
  };
}

type ComponentSchema = Parameters<OpenAPIRegistry['registerComponent']>[2];

function componentName(schema: z.ZodType): string {
  const id = schema.meta()?.id;
  if (typeof id !== 'string') throw new Error('an event schema needs a component name: .meta({ id })');
  return id;
}
