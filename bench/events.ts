/**
 * Bucket events into durably started workflows, measured in one run on this machine (issue 5):
 * - eventsPerSec: S3 `Records` bodies (100 records each, distinct keys, 4 requests in flight) posted to
 *   `POST /v1/events/s3` of the real API, with a rule matching every key by name, on a real Temporal dev
 *   server. Each accepted event costs one rule lookup per body, its share of one read-model insert per body
 *   and one workflow start (the run, not ingest, checks that its object is no output of pixelshift). The
 *   runs are started on task queues no worker polls, so only the ingress-to-durable-start path is timed,
 *   not the imaging of 2000 graphs on two cores.
 * - eventsPerSecWithHead: the same bodies on another bucket, whose rule filters on content type, which AWS
 *   records lack: each object is HEADed on moto first.
 * - eventsPerSecWithReportedMetadata: the same bodies again (other uploads of the same objects), each
 *   record also reporting the object's content type and user metadata as MinIO's do, so no HEAD is made.
 * - eventsPerSecOneRecordPerBody: the same AWS records posted one per body, as SNS and SQS deliver them
 *   (an SQS message and an SNS notification carry one record each), 64 bodies in flight.
 * - rawHeadsPerSec, rawStartsPerSec: the HEAD (the SDK's HeadObject) and the start alone, at the same
 *   concurrency; rawStoreHeadsPerSec: the HEAD as the ingest sends it (the store's, s3-lean-head.ts).
 * BENCH_DATABASE=postgres puts the database on a PostgreSQL server of the bench's own (as a production
 * deployment has it) instead of PGlite in this process; its CPU is reported beside the others'.
 * With BENCH_S3=gateway the content-type rule's bucket, and so every HEAD, is on the Versity S3 Gateway
 * (versity-gateway.ts) instead of moto, on a connection of its own; SQS and the rest stay on moto.
 * The events are spread over BENCH_EVENT_ROUNDS rounds (2), each taking its share through every step in
 * turn, so the rates compared see the same machine. BENCH_CPU_PROFILE profiles the step that
 * BENCH_CPU_PROFILE_STEP names (of the last round): `aws` (the default: AWS records to the rule on names),
 * `aws-head` (to the rule on content type), `minio` or `aws-single` (one record per body).
 * - uploadToDoneP50Ms: a small JPEG uploaded with a real S3 client to moto, which notifies an SQS queue;
 *   the worker-side poller long-polls it and starts the rule's graph (a 320 px WebP); timed until the
 *   output object exists. Median over the uploads, one at a time, workers running.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  HeadObjectCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createApiKey } from '../src/db/api-key-credentials.js';
import { activityDeps, connectClient } from '../src/app/wiring.js';
import { loadConfig } from '../src/core/config.js';
import { ensureAccount, migrate, openDatabase } from '../src/db/index.js';
import { TemporalJobEngine } from '../src/temporal/client/temporal-orchestrator.js';
import { createObjectStores } from '../src/core/storage/connections.js';
import { S3ObjectStore } from '../src/core/storage/s3-store.js';
import { startMoto } from '../src/tools/moto.js';
import { startTemporalDevServer } from '../src/tools/temporal-cli.js';
import { parseBucketNotification } from '../src/core/triggers/bucket-notification.js';
import { createEventIngest } from '../src/features/bucket-events/bucket-event-ingest.js';
import { startSqsPoller } from '../src/features/bucket-events/sqs-poller.js';
import { installTemporalRuntime } from '../src/temporal/worker/runtime.js';
import { buildWorkflowBundle } from '../src/temporal/worker/workflow-bundle.js';
import { createWorkers } from '../src/temporal/worker/worker.js';
import { s3RecordsBody } from '../test/support/fake-ingest.js';
import { fixturePath } from '../test/support/fixtures.js';
import {
  describeMachine,
  printTable,
  processCpuSeconds,
  processTreeCpuSeconds,
  profiledPhase,
  round1,
  round3,
  serveApi,
  writeResult,
} from './lib.js';
import { benchDatabaseKind, benchEnv } from './stack.js';
import { startPostgres } from '../scripts/postgres.js';
import { startVersityGateway } from './versity-gateway.js';

const eventCount = Number(process.env.BENCH_EVENTS ?? 2000);
const recordsPerBody = 100;
const requestsInFlight = 4;
const uploads = Number(process.env.BENCH_UPLOADS ?? 20);
/** Rounds the events are spread over, each taking its share through every measured step in turn. */
const eventRounds = Number(process.env.BENCH_EVENT_ROUNDS ?? 2);
const profiledStep = process.env.BENCH_CPU_PROFILE_STEP ?? 'aws';
if (!['aws', 'aws-head', 'minio', 'aws-single'].includes(profiledStep))
  throw new Error(`BENCH_CPU_PROFILE_STEP=${profiledStep}: aws, aws-head, minio or aws-single`);
const smallImage = 'jpeg-progressive-srgb-icc.jpg';
const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
const eventToken = randomBytes(24).toString('base64url');
const gatewayEventToken = randomBytes(24).toString('base64url');
/** Which S3 server answers the HEADs: moto (the default, as in the tests) or the Versity S3 Gateway. */
const headServer = process.env.BENCH_S3 ?? 'moto';
if (headServer !== 'moto' && headServer !== 'gateway')
  throw new Error(`BENCH_S3=${headServer}: moto or gateway`);

/** S3 records as MinIO sends them: each object also reports its content type and user metadata. */
function withReportedMetadata(body: unknown): unknown {
  const records = (body as { Records: { s3: { object: Record<string, unknown> } }[] }).Records;
  for (const record of records)
    Object.assign(record.s3.object, {
      contentType: 'image/jpeg',
      userMetadata: { 'content-type': 'image/jpeg' },
    });
  return body;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

export async function run(): Promise<void> {
  installTemporalRuntime({ level: 'ERROR' });
  // First, so that a machine that cannot build it (no Go) stops the bench before anything else runs.
  const gateway = headServer === 'gateway' ? await startVersityGateway(credentials) : undefined;
  const root = await mkdtemp(path.join(os.tmpdir(), 'pixelshift-events-bench-'));
  const moto = await startMoto();
  const temporal = await startTemporalDevServer({ headless: true });
  const s3 = new S3Client({
    endpoint: moto.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
  });
  const sqs = new SQSClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials });
  const cleanups: (() => Promise<unknown>)[] = [];
  /** Where the content-type rule's bucket lives, and so what every HEAD asks. */
  const headS3 = gateway
    ? new S3Client({ endpoint: gateway.endpoint, region: 'us-east-1', forcePathStyle: true, credentials })
    : s3;
  const headConnection = gateway ? 'gateway' : 'default';
  /** The same server through the store, as the ingest HEADs: one attempt, as a configured connection. */
  const headStore = new S3ObjectStore({
    endpoint: gateway?.endpoint ?? moto.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
    maxAttempts: 1,
  });
  try {
    const [input, typed, output, drops, thumbs] = [
      'bench-in',
      'bench-typed',
      'bench-out',
      'bench-drops',
      'bench-thumbs',
    ];
    for (const bucket of [input, output, drops, thumbs])
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await headS3.send(new CreateBucketCommand({ Bucket: typed }));
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'bench-uploads' }))).QueueUrl!;
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
    );
    await s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: drops,
        NotificationConfiguration: {
          QueueConfigurations: [{ QueueArn: Attributes!.QueueArn, Events: ['s3:ObjectCreated:*'] }],
        },
      }),
    );

    const storageFile = path.join(root, 'storage.json');
    await writeFile(
      storageFile,
      JSON.stringify({
        connections: {
          default: {
            kind: 's3',
            endpoint: moto.endpoint,
            region: 'us-east-1',
            forcePathStyle: true,
            // Written out: the SDK decorates credential objects it has used ($source), which config refuses.
            credentials: {
              accessKeyId: credentials.accessKeyId,
              secretAccessKey: credentials.secretAccessKey,
            },
            events: { token: eventToken, sqsQueueUrl: queueUrl },
          },
          ...(gateway && {
            gateway: {
              kind: 's3',
              endpoint: gateway.endpoint,
              region: 'us-east-1',
              forcePathStyle: true,
              credentials: {
                accessKeyId: credentials.accessKeyId,
                secretAccessKey: credentials.secretAccessKey,
              },
              events: { token: gatewayEventToken },
            },
          }),
        },
        grants: {
          bench: gateway
            ? [
                { connection: 'default', buckets: [input, output, drops, thumbs] },
                { connection: 'gateway', buckets: [typed] },
              ]
            : [{ connection: 'default', buckets: [input, typed, output, drops, thumbs] }],
        },
      }),
    );
    const env = benchEnv(root, temporal.address, { PIXELSHIFT_CONFIG: storageFile });
    // The start-throughput part starts its runs on queues nobody polls; the latency part on the real ones.
    const startsConfig = loadConfig({ ...env, PIXELSHIFT_TASK_QUEUE_PREFIX: 'bench-unpolled' });
    const config = loadConfig(env);
    const postgres =
      benchDatabaseKind() === 'postgres' ? await startPostgres({ database: 'pixelshift_bench' }) : undefined;
    if (postgres) cleanups.push(() => postgres.stop());
    const database = await openDatabase(
      postgres ? { kind: 'postgres', url: postgres.url } : { kind: 'pglite' },
    );
    cleanups.push(() => database.close());
    await migrate(database.db);
    await ensureAccount(database.db, { id: 'bench', name: 'bench' });
    const key = await createApiKey(database.db, 'bench');
    const connection = await Connection.connect({ address: temporal.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection });

    // ---- (a) events accepted per second into durably started workflows
    const startsApi = await serveApi(
      startsConfig,
      database,
      new TemporalJobEngine(client, startsConfig),
      key,
    );
    cleanups.push(() => startsApi.server.close());
    /** A 320 px WebP thumbnail rule on `bucket`, writing to the output bucket under `outPrefix`. */
    const thumbnailRuleOn = async (bucket: string, outPrefix: string, filter: Record<string, unknown>) => {
      const created = await startsApi.call('/v1/rules', {
        name: `bench: ${bucket}`,
        bucket,
        ...filter,
        template: {
          transformUnits: [
            { type: 'Resize', width: 320 },
            { type: 'ImageFormat', format: 'webp' },
            {
              type: 'StorageSink',
              bucket: output,
              key: `${outPrefix}{dir}/{name}.webp`,
              // The output bucket is on the default connection, wherever the watched bucket is.
              storage: 'default',
            },
          ],
        },
      });
      if (created.status !== 201) throw new Error(`rule refused: ${JSON.stringify(created.body)}`);
    };
    // Every key by name (no HEAD), and on its own bucket every JPEG by content type (one HEAD each).
    await thumbnailRuleOn(input, '', {});
    await thumbnailRuleOn(typed, 'typed/', { contentTypes: ['image/jpeg'], connection: headConnection });
    const keys = Array.from({ length: eventCount }, (_, index) => `photos/${index}.jpg`);
    // The content-type rule's ingest HEADs every object, so the objects must exist; the raw HEADs read them.
    for (const [bucket, client] of [
      [input, s3],
      [typed, headS3],
    ] as const) {
      for (let start = 0; start < keys.length; start += 50) {
        await Promise.all(
          keys.slice(start, start + 50).map((objectKey) =>
            client.send(
              new PutObjectCommand({
                Bucket: bucket,
                Key: objectKey,
                Body: '1',
                ContentType: 'image/jpeg',
              }),
            ),
          ),
        );
      }
    }
    const bodies: string[][] = [];
    for (let start = 0; start < keys.length; start += recordsPerBody)
      bodies.push(keys.slice(start, start + recordsPerBody));
    // Where an event's CPU goes: this process (the API and its ingest), the S3 server of the HEADs (moto,
    // or the gateway; moto stays counted, as it serves the rest) and the dev server.
    const cpuNow = () => ({
      api: process.cpuUsage(),
      moto: processCpuSeconds(moto.pid),
      gateway: gateway ? processCpuSeconds(gateway.pid) : 0,
      temporal: processCpuSeconds(temporal.process.pid),
      database: postgres ? processTreeCpuSeconds(postgres.pid) : 0,
    });
    /** Seconds, items and CPU seconds of each measured step, summed over the rounds. */
    const totals = new Map<
      string,
      {
        seconds: number;
        items: number;
        api: number;
        moto: number;
        gateway: number;
        temporal: number;
        database: number;
      }
    >();
    const measured = async (label: string, items: number, work: () => Promise<unknown>) => {
      const before = cpuNow();
      const began = performance.now();
      await (label === profiledStep ? profiledPhase(work) : work());
      const seconds = (performance.now() - began) / 1000;
      const own = process.cpuUsage(before.api);
      const after = cpuNow();
      const sum = totals.get(label) ?? {
        seconds: 0,
        items: 0,
        api: 0,
        moto: 0,
        gateway: 0,
        temporal: 0,
        database: 0,
      };
      sum.seconds += seconds;
      sum.items += items;
      sum.api += (own.user + own.system) / 1e6;
      sum.moto += after.moto - before.moto;
      sum.gateway += after.gateway - before.gateway;
      sum.temporal += after.temporal - before.temporal;
      sum.database += after.database - before.database;
      totals.set(label, sum);
    };
    const perSecond = (label: string) => totals.get(label)!.items / totals.get(label)!.seconds;
    /** CPU ms per item of a step: this process, moto (and the gateway), the Temporal dev server. */
    const cpuMsPer = (label: string) => {
      const sum = totals.get(label)!;
      return {
        api: round3((sum.api * 1000) / sum.items),
        moto: round3((sum.moto * 1000) / sum.items),
        ...(gateway && { gateway: round3((sum.gateway * 1000) / sum.items) }),
        temporalServer: round3((sum.temporal * 1000) / sum.items),
        ...(postgres && { database: round3((sum.database * 1000) / sum.items) }),
      };
    };
    /** Posts bodies (4 in flight) and checks that each of their events started a run. */
    const postAll = async (
      roundBodies: string[][],
      bodyOf: (keys: string[], bodyIndex: number) => unknown,
      token = eventToken,
      inFlight = requestsInFlight,
    ) => {
      let nextBody = 0;
      let started = 0;
      await Promise.all(
        Array.from({ length: inFlight }, async () => {
          while (nextBody < roundBodies.length) {
            const index = nextBody++;
            const response = await startsApi.call('/v1/events/s3', bodyOf(roundBodies[index]!, index), {
              authorization: `Bearer ${token}`,
            });
            if (response.status !== 200)
              throw new Error(`events refused: ${response.status} ${JSON.stringify(response.body)}`);
            started += (response.body as { started: number }).started;
          }
        }),
      );
      const expected = roundBodies.flat().length;
      if (started !== expected) throw new Error(`${started} of ${expected} runs started`);
    };
    // The two costs every event pays, alone, on the same servers and at the same concurrency: a HEAD on
    // the typed bucket's server, and a workflow start (same workflow, search attributes and policies).
    const rawConcurrency = requestsInFlight * 16;
    const bounded = async (count: number, work: (index: number) => Promise<unknown>) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: rawConcurrency }, async () => {
          while (next < count) await work(next++);
        }),
      );
    };
    const rawOrchestrator = new TemporalJobEngine(client, startsConfig);
    const rawGraph = {
      transformUnits: [
        { type: 'StorageSource' as const, bucket: input, key: 'photos/0.jpg' },
        { type: 'Resize' as const, width: 320 },
        { type: 'ImageFormat' as const, format: 'webp' as const },
        { type: 'StorageSink' as const, bucket: output, key: 'raw/0.webp' },
      ],
    };
    // Each round takes its share of the bodies through every step in turn, so that the steps compared
    // see the same machine (the dev server slows as it holds more workflows; other work comes and goes).
    const bodiesPerRound = Math.ceil(bodies.length / eventRounds);
    let rawStarts = 0;
    for (let round = 0; round < eventRounds; round++) {
      const roundBodies = bodies.slice(round * bodiesPerRound, (round + 1) * bodiesPerRound);
      const roundKeys = roundBodies.flat();
      const sequencer = (prefix: string, bodyIndex: number) => (index: number) =>
        `${prefix}${(round * bodiesPerRound * recordsPerBody + bodyIndex * recordsPerBody + index).toString(16)}`;
      // As AWS sends them (size, no content type or user metadata), to a rule on names: no HEAD.
      await measured('aws', roundKeys.length, () =>
        postAll(roundBodies, (batch, bodyIndex) => s3RecordsBody(input, batch, sequencer('0A', bodyIndex))),
      );
      // The same to a rule on content type, which AWS records lack: one HEAD each.
      await measured('aws-head', roundKeys.length, () =>
        postAll(
          roundBodies,
          (batch, bodyIndex) => s3RecordsBody(typed, batch, sequencer('0A', bodyIndex)),
          gateway ? gatewayEventToken : eventToken,
        ),
      );
      // As MinIO sends them, its records reporting the object's user metadata and content type: no HEAD.
      // Other sequencers, so these are other uploads of the same objects, with runs of their own.
      await measured('minio', roundKeys.length, () =>
        postAll(roundBodies, (batch, bodyIndex) =>
          withReportedMetadata(s3RecordsBody(input, batch, sequencer('0B', bodyIndex))),
        ),
      );
      // The same AWS records one per body, as SNS and SQS deliver them, with as many starts in flight as
      // the bodies of 100 allow (4 × 16): each call then looks its rules up and lists its runs alone.
      await measured('aws-single', roundKeys.length, () =>
        postAll(
          roundKeys.map((key) => [key]),
          (batch, bodyIndex) => s3RecordsBody(input, batch, sequencer('0C', bodyIndex)),
          eventToken,
          requestsInFlight * 16,
        ),
      );
      await measured('head', roundKeys.length, () =>
        bounded(roundKeys.length, (index) =>
          headS3.send(new HeadObjectCommand({ Bucket: typed, Key: roundKeys[index] })),
        ),
      );
      await measured('store-head', roundKeys.length, () =>
        bounded(roundKeys.length, (index) => headStore.head(typed, roundKeys[index]!)),
      );
      await measured('start', roundKeys.length, () =>
        bounded(roundKeys.length, () =>
          rawOrchestrator.startGraphRun({
            accountId: 'bench',
            workflowId: `raw-start/${rawStarts++}`,
            trigger: 's3',
            triggerId: 'raw',
            graph: rawGraph,
          }),
        ),
      );
    }
    const eventsPerSec = perSecond('aws');
    const cpuMsPerEvent = cpuMsPer('aws');
    const rawHeadsPerSec = perSecond('head');
    const rawStartsPerSec = perSecond('start');
    const rawStoreHeadsPerSec = perSecond('store-head');
    const rawCpuMsPer = {
      head: cpuMsPer('head'),
      storeHead: cpuMsPer('store-head'),
      start: cpuMsPer('start'),
    };
    const minioRecords = { eventsPerSec: perSecond('minio'), cpu: cpuMsPer('minio') };
    const headedRecords = { eventsPerSec: perSecond('aws-head'), cpu: cpuMsPer('aws-head') };
    const singleRecords = { eventsPerSec: perSecond('aws-single'), cpu: cpuMsPer('aws-single') };

    // ---- (b) upload → SQS → poller → graph done
    const stores = createObjectStores(config.storage.connections);
    cleanups.push(() => Promise.resolve(stores.destroy()));
    const nativeConnection = await NativeConnection.connect({ address: temporal.address });
    cleanups.push(() => nativeConnection.close());
    // As in `pixelshift worker`: the poller's client shares the workers' connection, so runs start eagerly.
    const { orchestrator } = await connectClient(config, undefined, nativeConnection);
    const workers = await createWorkers({
      config,
      deps: await activityDeps(config, database, stores),
      bundle: await buildWorkflowBundle(),
      connection: nativeConnection,
    });
    const workersDone = workers.run();
    cleanups.push(async () => {
      await workers.shutdown();
      await workersDone;
    });
    const api = await serveApi(config, database, orchestrator, key);
    cleanups.push(() => api.server.close());
    const thumbnailRule = await api.call('/v1/rules', {
      name: 'bench: thumbnails',
      bucket: drops,
      template: {
        transformUnits: [
          { type: 'Resize', width: 320 },
          { type: 'ImageFormat', format: 'webp', quality: 80 },
          { type: 'StorageSink', bucket: thumbs, key: '{dir}/{name}.webp' },
        ],
      },
    });
    if (thumbnailRule.status !== 201) throw new Error(`rule refused: ${JSON.stringify(thumbnailRule.body)}`);
    const ingest = createEventIngest({ db: database.db, orchestrator, stores, storage: config.storage });
    const poller = startSqsPoller({
      connectionName: 'default',
      queueUrl,
      sqsClient: sqs,
      parse: parseBucketNotification,
      ingest,
    });
    cleanups.push(() => poller.stop());
    const image = readFileSync(fixturePath(smallImage));
    const latencies: number[] = [];
    for (let index = 0; index < uploads + 1; index++) {
      const uploaded = performance.now();
      await s3.send(
        new PutObjectCommand({
          Bucket: drops,
          Key: `u/${index}.jpg`,
          Body: image,
          ContentType: 'image/jpeg',
        }),
      );
      for (;;) {
        const exists = await s3
          .send(new HeadObjectCommand({ Bucket: thumbs, Key: `u/${index}.webp` }))
          .then(() => true)
          .catch(() => false);
        if (exists) break;
        if (performance.now() - uploaded > 60_000) throw new Error(`upload ${index} was not processed`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      // The first upload warms the worker's code paths and is not counted.
      if (index > 0) latencies.push(performance.now() - uploaded);
    }

    const result = {
      eventsPerSec: round1(eventsPerSec),
      /** The same bodies as MinIO sends them (records reporting user metadata, size and type). */
      eventsPerSecWithReportedMetadata: round1(minioRecords.eventsPerSec),
      /** The same AWS records one per body (as SNS and SQS deliver them), 64 bodies in flight. */
      eventsPerSecOneRecordPerBody: round1(singleRecords.eventsPerSec),
      cpuMsPerEventOneRecordPerBody: singleRecords.cpu,
      /** The same AWS bodies to a rule on content type: one HEAD per record. */
      eventsPerSecWithHead: round1(headedRecords.eventsPerSec),
      /** The S3 server those HEADs (and the raw ones) asked: moto, or the Versity S3 Gateway. */
      headServer,
      /** Where the database ran (BENCH_DATABASE): in this process (pglite) or a PostgreSQL server of its own. */
      database: postgres ? 'postgres' : 'pglite',
      uploadToDoneP50Ms: round1(median(latencies)),
      machine: describeMachine(),
      events: eventCount,
      recordsPerBody,
      requestsInFlight,
      rounds: eventRounds,
      startSeconds: round1(totals.get('aws')!.seconds),
      /** CPU per accepted event while the bodies were posted: this process, moto, the Temporal dev server. */
      cpuMsPerEvent,
      cpuMsPerEventWithReportedMetadata: minioRecords.cpu,
      cpuMsPerEventWithHead: headedRecords.cpu,
      /** The same, per raw HEAD and per raw start. */
      rawCpuMsPer,
      rawHeadsPerSec: round1(rawHeadsPerSec),
      rawStoreHeadsPerSec: round1(rawStoreHeadsPerSec),
      rawStartsPerSec: round1(rawStartsPerSec),
      /**
       * eventsPerSecWithHead ÷ the rate of the two raw costs one after the other (1 / (1/heads + 1/starts)),
       * with the HEAD the ingest sends (the store's; the SDK's before 2026-12-08).
       */
      ratioToRawSerialWithHead: round3(
        headedRecords.eventsPerSec * (1 / rawStoreHeadsPerSec + 1 / rawStartsPerSec),
      ),
      uploads,
      uploadToDoneMs: latencies.map(round1),
      smallImage,
    };
    const file = await writeResult(
      `events${gateway ? '-gateway' : ''}${postgres ? '-postgres' : ''}`,
      result,
    );
    const cpuCells = (cpu: ReturnType<typeof cpuMsPer>) =>
      [
        cpu.api,
        cpu.moto,
        ...(gateway ? [cpu.gateway] : []),
        cpu.temporalServer,
        ...(postgres ? [cpu.database] : []),
      ].join(', ');
    printTable([
      ['measure', 'value'],
      ['events (AWS records, rule on names) accepted into started workflows / s', result.eventsPerSec],
      ['  raw: workflow starts on the dev server / s', result.rawStartsPerSec],
      ['  full path ÷ raw starts alone (target ≥ 0.9)', round3(result.eventsPerSec / result.rawStartsPerSec)],
      ['events reporting their metadata (MinIO) / s', result.eventsPerSecWithReportedMetadata],
      [
        '  ÷ raw starts alone (target ≥ 0.9)',
        round3(result.eventsPerSecWithReportedMetadata / result.rawStartsPerSec),
      ],
      ['events one record per body (as SNS and SQS deliver them) / s', result.eventsPerSecOneRecordPerBody],
      ['  ÷ raw starts alone', round3(result.eventsPerSecOneRecordPerBody / result.rawStartsPerSec)],
      ['events to a rule on content type (AWS: one HEAD each) / s', result.eventsPerSecWithHead],
      [
        `  raw: SDK HEADs on ${gateway ? 'the gateway' : 'moto'} / s (same concurrency)`,
        result.rawHeadsPerSec,
      ],
      ["  raw: the store's HEADs (as the ingest sends them) / s", result.rawStoreHeadsPerSec],
      ['  ÷ raw starts alone', round3(result.eventsPerSecWithHead / result.rawStartsPerSec)],
      ['  ÷ raw HEAD-then-start', result.ratioToRawSerialWithHead],
      [
        `CPU ms per event: API, moto, ${gateway ? 'gateway, ' : ''}Temporal server${postgres ? ', PostgreSQL' : ''}`,
        cpuCells(cpuMsPerEvent),
      ],
      ['  the same, reporting metadata', cpuCells(minioRecords.cpu)],
      ['  the same, one HEAD each', cpuCells(headedRecords.cpu)],
      ['  the same, one record per body', cpuCells(singleRecords.cpu)],
      ...Object.entries(rawCpuMsPer).map(([label, cpu]) => [
        `  raw ${label}: CPU ms, same order`,
        cpuCells(cpu),
      ]),
      [`upload → graph done, median of ${uploads} (ms)`, result.uploadToDoneP50Ms],
    ]);
    console.log(`\nwritten to ${file}`);
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    s3.destroy();
    if (headS3 !== s3) headS3.destroy();
    headStore.destroy();
    sqs.destroy();
    await temporal.stop();
    await moto.stop();
    await gateway?.stop();
    await rm(root, { recursive: true, force: true });
  }
}
