// Submits one batch with a branching graph (a WebP and a PNG thumbnail of one image), follows its live
// progress and prints the final state. Settings come from the environment (see README.md).
import { createClient, source } from '@pixelshift/client';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

const client = createClient({
  baseUrl: env('PIXELSHIFT_URL', 'http://127.0.0.1:3000'),
  clientId: env('PIXELSHIFT_CLIENT_ID'),
  clientSecret: env('PIXELSHIFT_CLIENT_SECRET'),
});
const out = env('PIXELSHIFT_OUTPUT_BUCKET', 'photos');
const prefix = env('PIXELSHIFT_OUTPUT_PREFIX', 'out');
const graph = source(env('PIXELSHIFT_INPUT_BUCKET', 'photos'), env('PIXELSHIFT_INPUT_KEY', 'in/cat.jpg'))
  .autoOrient()
  .outputs((b) => [
    b.resize({ width: 320 }).format('webp', { quality: 80 }).sink(out, `${prefix}/small.webp`),
    b.resize({ width: 160, height: 160, fit: 'cover' }).format('png').sink(out, `${prefix}/thumb.png`),
  ]);

// With a callback URL, the service also posts signed webhooks there (see webhook-receiver.mjs).
const callbackUrl = process.env.PIXELSHIFT_CALLBACK_URL;
const { batchId } = await client.batches.submit([graph], callbackUrl ? { callbackUrl } : {});
const status = await client.batches.wait(batchId, {
  signal: AbortSignal.timeout(10 * 60_000),
  onProgress: (progress) => {
    if (progress.type === 'graph')
      console.error(`graph ${progress.event.graphIndex}: ${progress.event.state}`);
  },
});
for await (const outcome of client.batches.graphs(batchId)) {
  for (const sink of outcome.sinks)
    console.error(`wrote ${sink.bucket}/${sink.key} (${sink.width}×${sink.height})`);
}
// The last line is machine-readable.
console.log(JSON.stringify({ batchId, state: status.state }));
