// The package README's quick start, as a user runs it from an installed tarball (test/clients/sdk-pack.test.ts).
// Prints the batch id and final state as the last line, as JSON.
import { createClient, source } from '@pixelshift/client';

const env = process.env;
const client = createClient({
  baseUrl: env.PIXELSHIFT_URL,
  clientId: env.PIXELSHIFT_CLIENT_ID,
  clientSecret: env.PIXELSHIFT_CLIENT_SECRET,
});
const out = env.PIXELSHIFT_OUTPUT_BUCKET;
const prefix = env.PIXELSHIFT_OUTPUT_PREFIX;
const graph = source(env.PIXELSHIFT_INPUT_BUCKET, env.PIXELSHIFT_INPUT_KEY)
  .autoOrient()
  .outputs((b) => [
    b.resize({ width: 320 }).format('webp', { quality: 80 }).sink(out, `${prefix}/small.webp`),
    b.resize({ width: 160, height: 160, fit: 'cover' }).format('png').sink(out, `${prefix}/thumb.png`),
  ]);
const { batchId } = await client.batches.submit([graph]);
const status = await client.batches.wait(batchId, { signal: AbortSignal.timeout(120_000) });
console.log(JSON.stringify({ batchId, state: status.state }));
