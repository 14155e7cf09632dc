/**
 * Smoke test of the client @hey-api/openapi-ts generates (test/clients/typescript.test.ts copies this
 * beside the generated `./generated` folder, type-checks both strictly, then runs it): token with the
 * client credentials grant, submit a batch with a branching graph, poll it until it ends. Prints the
 * batch id and final state as the last line, as JSON.
 */
import { createClient } from './generated/client';
import { getBatch, getToken, submitBatch, type TransformGraph } from './generated';

// Only Node runs this file; the DOM library the check uses has fetch but not process.
declare const process: { env: Record<string, string | undefined> };
const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const client = createClient({ baseUrl: env('PIXELSHIFT_URL') });
const token = await getToken({
  client,
  body: {
    grant_type: 'client_credentials',
    client_id: env('PIXELSHIFT_CLIENT_ID'),
    client_secret: env('PIXELSHIFT_CLIENT_SECRET'),
  },
  throwOnError: true,
});
client.setConfig({ auth: () => token.data.access_token });

const outBucket = env('PIXELSHIFT_OUTPUT_BUCKET');
const prefix = env('PIXELSHIFT_OUTPUT_PREFIX');
const graph: TransformGraph = {
  transformUnits: [
    { type: 'StorageSource', bucket: env('PIXELSHIFT_INPUT_BUCKET'), key: env('PIXELSHIFT_INPUT_KEY') },
    { type: 'AutoOrient' },
  ],
  outputs: [
    {
      transformUnits: [
        { type: 'Resize', width: 320 },
        { type: 'ImageFormat', format: 'webp', quality: 80 },
        { type: 'StorageSink', bucket: outBucket, key: `${prefix}/small.webp` },
      ],
    },
    {
      transformUnits: [
        { type: 'Resize', width: 160, height: 160, fit: 'cover' },
        { type: 'ImageFormat', format: 'png' },
        { type: 'StorageSink', bucket: outBucket, key: `${prefix}/thumb.png` },
      ],
    },
  ],
};
const submitted = await submitBatch({ client, body: { graphs: [graph] }, throwOnError: true });
const batchId = submitted.data.batchId;

const deadline = Date.now() + 120_000;
for (;;) {
  const status = await getBatch({ client, path: { batchId }, throwOnError: true });
  if (status.data.state !== 'running') {
    console.log(JSON.stringify({ batchId, state: status.data.state }));
    break;
  }
  if (Date.now() > deadline) throw new Error(`batch ${batchId} still running`);
  await new Promise((resolve) => setTimeout(resolve, 250));
}
