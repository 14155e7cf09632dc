/**
 * Floods of triggered runs for load tests and the readpath bench: many runs of one tiny image, started the
 * way the event ingest starts them (their read-model rows first, then the workflow starts), without the
 * per-event HEAD on the storage service that would make the flood itself the slow part.
 */
import { randomUUID } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import sharp from 'sharp';
import type { TransformGraph } from '../../src/core/graph/index.js';
import type { JobEngine, StartGraphRunInput } from '../../src/core/jobs/orchestrator-ports.js';
import { insertTriggeredRuns } from '../../src/db/graph-runs.js';
import type { Db } from '../../src/db/database.js';

/** Workflow starts in flight at once. */
const startsInFlight = 16;

/** Uploads an 8×8 PNG to `bucket/key`: imaging it costs next to nothing, so a flood measures the rest. */
export async function uploadTinyImage(s3: S3Client, bucket: string, key: string): Promise<void> {
  const png = await sharp({
    create: { width: 8, height: 8, channels: 3, background: { r: 40, g: 90, b: 200 } },
  })
    .png()
    .toBuffer();
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: png, ContentType: 'image/png' }));
}

/** The tiny image made smaller still, written to `output/outKey`. */
export function tinyGraph(source: { bucket: string; key: string }, output: string, outKey: string) {
  return {
    transformUnits: [
      { type: 'StorageSource', bucket: source.bucket, key: source.key },
      { type: 'Resize', width: 4 },
      { type: 'ImageFormat', format: 'png' },
      { type: 'StorageSink', bucket: output, key: outKey },
    ],
  } satisfies TransformGraph;
}

/**
 * Starts the runs as the event ingest does: their rows in one go (listed from then on), then the
 * workflows, `startsInFlight` at a time. Answers their workflow IDs, in order.
 */
export async function startTriggeredRuns(
  deps: { db: Db; orchestrator: Pick<JobEngine, 'startGraphRun'> },
  starts: readonly StartGraphRunInput[],
): Promise<string[]> {
  await insertTriggeredRuns(deps.db, starts);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(startsInFlight, starts.length) }, async () => {
      while (next < starts.length) {
        const start = starts[next++]!;
        const { started } = await deps.orchestrator.startGraphRun(start);
        if (!started) throw new Error(`run ${start.workflowId} was started before`);
      }
    }),
  );
  return starts.map((start) => start.workflowId);
}

/**
 * Ends whatever is left of an account's flood, on the server (one batch operation): a test stops
 * watching long before the flood is done, and the Temporal server may be shared with other files.
 */
export async function terminateAccountWorkflows(client: Client, accountId: string): Promise<void> {
  await client.workflowService.startBatchOperation({
    namespace: client.options.namespace,
    jobId: randomUUID(),
    reason: 'load test over',
    visibilityQuery: `PixelshiftAccountId = '${accountId}' AND ExecutionStatus = 'Running'`,
    terminationOperation: {},
  });
}
