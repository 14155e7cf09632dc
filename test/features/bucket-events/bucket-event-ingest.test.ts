import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PutBucketVersioningCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ensureAccount, insertRule, newRuleId, updateRule, type RuleFields } from '../../../src/db/index.js';
import { rules } from '../../../src/db/schema.js';
import { graphRunStates } from '../../../src/db/graph-runs.js';
import type { TransformGraph } from '../../../src/core/graph/graph.js';
import {
  executeGraph,
  GeneratedSourceError,
  SourceSupersededError,
} from '../../../src/core/imaging/index.js';
import { generatedMetadata } from '../../../src/core/storage/generated-metadata.js';
import { S3ObjectStore } from '../../../src/core/storage/s3-store.js';
import type { StorageGrants } from '../../../src/core/storage/grants.js';
import {
  createEventIngest,
  isBucketGrantedToAnyone,
} from '../../../src/features/bucket-events/bucket-event-ingest.js';
import type { ObjectCreatedEvent } from '../../../src/core/triggers/trigger-types.js';
import { MAX_S3_RUN_ID_BYTES } from '../../../src/core/jobs/workflow-ids.js';
import { FakeOrchestrator } from '../../support/fake-orchestrator.js';
import { MemoryStore, storesOf } from '../../support/memory-store.js';
import { fixturePath } from '../../support/fixtures.js';
import { createTestBucket, testS3Client, testS3Credentials, testS3Region } from '../../support/s3-buckets.js';
import { s3Endpoint } from '../../support/services.js';
import { databaseTargets, openMigrated, type TestDatabase } from '../../support/test-databases.js';

const thumbTemplate: TransformGraph = {
  transformUnits: [
    { type: 'Resize', width: 64 },
    { type: 'ImageFormat', format: 'webp' },
    { type: 'StorageSink', bucket: '{bucket}', key: 'thumbs/{name}.webp' },
  ],
};

const connections = {
  default: { kind: 'local' as const, root: '/nowhere' },
  archive: { kind: 'local' as const, root: '/nowhere-else' },
};

function fields(overrides: Partial<RuleFields> = {}): RuleFields {
  return {
    name: null,
    connection: 'default',
    bucket: 'photos',
    prefix: 'uploads/',
    suffix: '',
    contentTypes: [],
    minSize: null,
    maxSize: null,
    enabled: true,
    template: thumbTemplate,
    ...overrides,
  };
}

function event(key: string, overrides: Partial<ObjectCreatedEvent> = {}): ObjectCreatedEvent {
  return {
    connection: 'default',
    bucket: 'photos',
    key,
    eventName: 'ObjectCreated:Put',
    sequencer: '00A1',
    etag: 'etag1',
    ...overrides,
  };
}

let database: TestDatabase;
let orchestrator: FakeOrchestrator;
let store: MemoryStore;
let accountId: string;
let otherAccount: string;
let grants: StorageGrants;

before(async () => {
  database = await openMigrated(databaseTargets()[0]!);
});
after(() => database.close());

beforeEach(async () => {
  orchestrator = new FakeOrchestrator();
  store = new MemoryStore();
  const suffix = Math.random().toString(36).slice(2, 8);
  accountId = `ingest-${suffix}`;
  otherAccount = `other-${suffix}`;
  await ensureAccount(database.db, { id: accountId, name: accountId });
  await ensureAccount(database.db, { id: otherAccount, name: otherAccount });
  // Each test has its own bucket, so rules of earlier tests never match.
  grants = {
    [accountId]: [{ connection: 'default', buckets: [`photos-${suffix}`, 'photos'] }],
    [otherAccount]: [{ connection: 'default', buckets: [`theirs-${suffix}`] }],
  };
});

function ingestFor(extra: Partial<Parameters<typeof createEventIngest>[0]> = {}) {
  return createEventIngest({
    db: database.db,
    orchestrator,
    stores: storesOf(store),
    storage: { grants, connections },
    ...extra,
  });
}

/** A bucket of this test only, with a rule of `account` on it. */
async function ruleOn(bucketKind: 'photos' | 'theirs', account: string, overrides: Partial<RuleFields> = {}) {
  const bucket = `${bucketKind}-${accountId.split('-')[1]}`;
  const row = await insertRule(database.db, {
    id: newRuleId(),
    accountId: account,
    ...fields({ bucket, ...overrides }),
  });
  return { rule: row, bucket };
}

/** Runs a started run's graph as its imaging activity does, expecting it to refuse its source as an output. */
async function refusalOfOutput(run: { graph: TransformGraph; skipGeneratedSource?: boolean }) {
  const error = await executeGraph(run.graph, {
    stores: storesOf(store),
    ...(run.skipGeneratedSource ? { skipGeneratedSource: true } : {}),
  }).then(
    () => assert.fail('expected the run to refuse the output'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof GeneratedSourceError, String(error));
  return error;
}

describe('createEventIngest', () => {
  it('when an upload matches a rule, then one run starts with the expanded graph, the s3 trigger and the rule id', async () => {
    const { rule, bucket } = await ruleOn('photos', accountId);
    store.seed(bucket, 'uploads/cat.jpg', Buffer.from('jpeg'), 'image/jpeg');
    const result = await ingestFor().ingest([event('uploads/cat.jpg', { bucket })]);
    assert.equal(store.calls.head, 0, 'a rule that filters by name only needs no HEAD');
    assert.deepEqual(
      { ...result, workflowIds: undefined },
      { events: 1, started: 1, duplicates: 0, unmatched: 0, skipped: 0, invalid: 0, workflowIds: undefined },
    );
    const [run] = orchestrator.startedGraphRuns();
    assert.equal(run!.workflowId, `s3/default/${bucket}/uploads/cat.jpg/00A1/${rule.id}`);
    assert.deepEqual(result.workflowIds, [run!.workflowId]);
    assert.equal(run!.accountId, accountId);
    assert.equal(run!.trigger, 's3');
    assert.equal(run!.triggerId, rule.id);
    assert.equal(run!.skipGeneratedSource, true, 'the run checks that its source is no output');
    assert.deepEqual(run!.graph.transformUnits[0], {
      type: 'StorageSource',
      storage: 'default',
      bucket,
      key: 'uploads/cat.jpg',
    });
    assert.deepEqual(run!.graph.transformUnits[3], {
      type: 'StorageSink',
      storage: 'default',
      bucket,
      key: 'thumbs/cat.webp',
    });
  });

  it('when the same event is ingested twice, then one run exists and the second counts as a duplicate', async () => {
    const { bucket } = await ruleOn('photos', accountId);
    store.seed(bucket, 'uploads/cat.jpg', Buffer.from('jpeg'));
    const ingest = ingestFor();
    await ingest.ingest([event('uploads/cat.jpg', { bucket })]);
    const again = await ingest.ingest([event('uploads/cat.jpg', { bucket })]);
    assert.equal(again.started, 0);
    assert.equal(again.duplicates, 1);
    assert.equal(orchestrator.startedGraphRuns().length, 1);
  });

  it('when the same key is uploaded again (new sequencer), then a second run starts', async () => {
    const { bucket } = await ruleOn('photos', accountId);
    store.seed(bucket, 'uploads/cat.jpg', Buffer.from('jpeg'));
    const ingest = ingestFor();
    await ingest.ingest([event('uploads/cat.jpg', { bucket, sequencer: '00A1' })]);
    await ingest.ingest([event('uploads/cat.jpg', { bucket, sequencer: '00A2' })]);
    assert.equal(orchestrator.startedGraphRuns().length, 2);
  });

  it('when one body carries the same upload twice, then it starts once', async () => {
    const { bucket } = await ruleOn('photos', accountId);
    store.seed(bucket, 'uploads/cat.jpg', Buffer.from('jpeg'));
    const result = await ingestFor().ingest([
      event('uploads/cat.jpg', { bucket }),
      event('uploads/cat.jpg', { bucket }),
    ]);
    assert.equal(result.started, 1);
    assert.equal(result.duplicates, 1);
  });

  it('when one record’s HEAD is slow, then the other records start meanwhile, each listed before its start', async () => {
    // A rule on content types, which S3 records do not carry: each record is HEADed.
    const { bucket } = await ruleOn('photos', accountId, { contentTypes: ['image/jpeg'] });
    const names = ['slow', ...Array.from({ length: 9 }, (_, index) => `quick-${index}`)];
    for (const name of names) store.seed(bucket, `uploads/${name}.jpg`, Buffer.from(name), 'image/jpeg');
    let releaseSlowHead!: () => void;
    const slowHeadReleased = new Promise<void>((resolve) => (releaseSlowHead = resolve));
    let releasedBy: 'the quick starts' | 'the fallback timer' | undefined;
    // Without the overlap the quick records would wait for the slow HEAD: this timer ends the wait, and the test fails.
    const fallback = setTimeout(() => {
      releasedBy ??= 'the fallback timer';
      releaseSlowHead();
    }, 5_000);
    const head = store.head.bind(store);
    store.head = async (headBucket, key, options) => {
      if (key === 'uploads/slow.jpg') await slowHeadReleased;
      return head(headBucket, key, options);
    };
    const listedAtStart: boolean[] = [];
    const checkingOrchestrator = {
      async startGraphRun(input: Parameters<FakeOrchestrator['startGraphRun']>[0]) {
        const states = await graphRunStates(database.db, [input.workflowId]);
        listedAtStart.push(states.get(input.workflowId) === 'queued');
        const started = await orchestrator.startGraphRun(input);
        // The nine quick records have all started while the slow HEAD is still out.
        if (orchestrator.startedGraphRuns().length === names.length - 1) {
          releasedBy ??= 'the quick starts';
          releaseSlowHead();
        }
        return started;
      },
    };

    const result = await ingestFor({ orchestrator: checkingOrchestrator, concurrency: 4 }).ingest(
      names.map((name) => event(`uploads/${name}.jpg`, { bucket })),
    );

    clearTimeout(fallback);

    assert.equal(releasedBy, 'the quick starts');
    assert.equal(result.started, names.length);
    assert.deepEqual(
      listedAtStart,
      names.map(() => true),
    );
    assert.equal(orchestrator.startedGraphRuns().at(-1)!.graph.transformUnits[0]!.type, 'StorageSource');
    assert.match(JSON.stringify(orchestrator.startedGraphRuns().at(-1)!.graph), /uploads\/slow\.jpg/);
  });

  it('when a body’s records each need a HEAD, then their rows share a few inserts: one per 16 records, and the last when no HEAD is left', async () => {
    const { bucket } = await ruleOn('photos', accountId, { contentTypes: ['image/jpeg'] });
    const names = Array.from({ length: 40 }, (_, index) => `r${index}`);
    for (const name of names) store.seed(bucket, `uploads/${name}.jpg`, Buffer.from(name), 'image/jpeg');
    // Every HEAD waits until the test answers it; they are answered one at a time, in the order asked.
    const waitingHeads: (() => void)[] = [];
    const head = store.head.bind(store);
    store.head = async (headBucket, key, options) => {
      await new Promise<void>((resolve) => waitingHeads.push(resolve));
      return head(headBucket, key, options);
    };
    const answerHeadsOneByOne = async () => {
      for (let answered = 0; answered < names.length; answered++) {
        while (waitingHeads.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
        waitingHeads.shift()!();
        // The answered record goes on to its row before the next HEAD is answered.
        await new Promise((resolve) => setImmediate(resolve));
      }
    };

    // No time limit on the gathering here, so that only the count and the end of the HEADs decide.
    const [result] = await Promise.all([
      ingestFor({ headedRowsWaitMs: 60_000 }).ingest(
        names.map((name) => event(`uploads/${name}.jpg`, { bucket })),
      ),
      answerHeadsOneByOne(),
    ]);

    assert.equal(result.started, names.length);
    // One insert statement gives its rows one creation time (the transaction's).
    const inserts = await database.db.execute(
      sql`select count(distinct created_at)::int as n from graph_runs where workflow_id like ${`s3/default/${bucket}/%`}`,
    );
    assert.equal(Number((inserts as { rows: { n: number }[] }).rows[0]?.n), 3);
  });

  it('when a start of a HEADed record fails, then no start begins after it, ingest rejects, and a retry starts the rest once', async () => {
    const { bucket } = await ruleOn('photos', accountId, { contentTypes: ['image/jpeg'] });
    const names = Array.from({ length: 10 }, (_, index) => `f${index}`);
    for (const name of names) store.seed(bucket, `uploads/${name}.jpg`, Buffer.from(name), 'image/jpeg');
    const batch = names.map((name) => event(`uploads/${name}.jpg`, { bucket }));
    orchestrator.failNextStarts = 1;
    await assert.rejects(ingestFor({ concurrency: 2 }).ingest(batch));
    // The failed start, and at most the one beside it in the other lane.
    assert.ok(
      orchestrator.startedGraphRuns().length <= 1,
      `${orchestrator.startedGraphRuns().length} started`,
    );
    const retry = await ingestFor().ingest(batch);
    assert.equal(orchestrator.startedGraphRuns().length, names.length);
    assert.equal(retry.started + retry.duplicates, names.length);
  });

  it('when many one-record calls arrive together (SNS, SQS), then they share rule reads and inserts, and every run is listed before it starts', async () => {
    const { bucket } = await ruleOn('photos', accountId);
    const names = Array.from({ length: 24 }, (_, index) => `one-${index}`);
    let ruleReads = 0;
    // Counts the statements that read rules; everything else goes to the real database.
    const countingDb = new Proxy(database.db, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (property !== 'select' || typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const query = (value as (...a: unknown[]) => { from: (table: unknown) => unknown }).apply(
            target,
            args,
          );
          return new Proxy(query, {
            get(inner, name, innerReceiver) {
              const member: unknown = Reflect.get(inner, name, innerReceiver);
              if (name !== 'from' || typeof member !== 'function') return member;
              return (table: unknown) => {
                if (table === rules) ruleReads += 1;
                return (member as (t: unknown) => unknown).call(inner, table);
              };
            },
          });
        };
      },
    });
    const listedAtStart: boolean[] = [];
    const checkingOrchestrator = {
      async startGraphRun(input: Parameters<FakeOrchestrator['startGraphRun']>[0]) {
        const states = await graphRunStates(database.db, [input.workflowId]);
        listedAtStart.push(states.get(input.workflowId) === 'queued');
        return orchestrator.startGraphRun(input);
      },
    };
    const ingest = ingestFor({ db: countingDb, orchestrator: checkingOrchestrator });

    const results = await Promise.all(
      names.map((name) => ingest.ingest([event(`uploads/${name}.jpg`, { bucket })])),
    );

    assert.equal(
      results.reduce((sum, result) => sum + result.started, 0),
      names.length,
    );
    assert.deepEqual(
      listedAtStart,
      names.map(() => true),
    );
    assert.ok(
      ruleReads >= 1 && ruleReads < names.length / 4,
      `${ruleReads} rule reads for ${names.length} calls`,
    );
    const inserts = await database.db.execute(
      sql`select count(distinct created_at)::int as n from graph_runs where workflow_id like ${`s3/default/${bucket}/%`}`,
    );
    const insertCount = Number((inserts as { rows: { n: number }[] }).rows[0]?.n);
    assert.ok(
      insertCount >= 1 && insertCount < names.length / 4,
      `${insertCount} inserts for ${names.length} calls`,
    );

    // One call naming the bucket five times reads its rules once.
    const readsBefore = ruleReads;
    const many = await ingest.ingest(
      ['a', 'b', 'c', 'd', 'e'].map((name) => event(`uploads/many-${name}.jpg`, { bucket })),
    );
    assert.equal(many.started, 5);
    assert.equal(ruleReads - readsBefore, 1);
  });

  it('when a rule is enabled while no call reads rules, then the next call sees it: nothing is cached beyond a read', async () => {
    const { rule, bucket } = await ruleOn('photos', accountId, { enabled: false });
    const ingest = ingestFor();
    const before = await ingest.ingest([event('uploads/a.jpg', { bucket })]);
    assert.equal(before.started, 0);
    await updateRule(database.db, accountId, rule.id, fields({ bucket }));
    const after = await ingest.ingest([event('uploads/b.jpg', { bucket })]);
    assert.equal(after.started, 1);
  });

  it('when there is no sequencer, then the ETag identifies the upload; without both, the event time', async () => {
    const { rule, bucket } = await ruleOn('photos', accountId);
    store.seed(bucket, 'uploads/a.jpg', Buffer.from('a'));
    const ingest = ingestFor();
    await ingest.ingest([event('uploads/a.jpg', { bucket, sequencer: undefined, etag: 'e1' })]);
    await ingest.ingest([
      event('uploads/a.jpg', {
        bucket,
        sequencer: undefined,
        etag: undefined,
        eventTime: '2026-01-01T00:00:00Z',
      }),
    ]);
    assert.deepEqual(
      orchestrator.startedGraphRuns().map((run) => run.workflowId),
      [
        `s3/default/${bucket}/uploads/a.jpg/e1/${rule.id}`,
        `s3/default/${bucket}/uploads/a.jpg/2026-01-01T00:00:00Z/${rule.id}`,
      ],
    );
  });

  it('when nothing identifies the upload, then it is skipped and counted as invalid', async () => {
    const { bucket } = await ruleOn('photos', accountId);
    store.seed(bucket, 'uploads/a.jpg', Buffer.from('a'));
    const result = await ingestFor().ingest([
      event('uploads/a.jpg', { bucket, sequencer: undefined, etag: undefined }),
    ]);
    assert.equal(result.invalid, 1);
    assert.equal(orchestrator.startedGraphRuns().length, 0);
  });

  it('when two rules match one upload, then each starts its own run', async () => {
    const first = await ruleOn('photos', accountId);
    const second = await ruleOn('photos', accountId, { prefix: 'uploads/cats/' });
    store.seed(first.bucket, 'uploads/cats/tom.jpg', Buffer.from('x'));
    const result = await ingestFor().ingest([event('uploads/cats/tom.jpg', { bucket: first.bucket })]);
    assert.equal(result.started, 2);
    assert.deepEqual(
      orchestrator
        .startedGraphRuns()
        .map((run) => run.triggerId)
        .sort(),
      [first.rule.id, second.rule.id].sort(),
    );
  });

  it('when the object is a pixelshift output and the HEAD is made (a content-type rule), then no rule triggers on it', async () => {
    const { bucket } = await ruleOn('photos', accountId, { contentTypes: ['image/jpeg'] });
    await store.put(bucket, 'uploads/out.jpg', Buffer.from('x'), {
      contentType: 'image/jpeg',
      metadata: generatedMetadata({ sourceBucket: bucket, sourceKey: 'uploads/in.jpg' }),
    });
    const result = await ingestFor().ingest([event('uploads/out.jpg', { bucket })]);
    assert.equal(store.calls.head, 1);
    assert.equal(result.unmatched, 1);
    assert.equal(orchestrator.startedGraphRuns().length, 0);
  });

  it('when a record that cannot tell (AWS) names a pixelshift output and its rule filters by name, then no HEAD is made, and its run refuses the output', async () => {
    const { bucket } = await ruleOn('photos', accountId);
    await store.put(bucket, 'uploads/out.jpg', readFileSync(fixturePath('jpeg-progressive-srgb-icc.jpg')), {
      contentType: 'image/jpeg',
      metadata: generatedMetadata({
        graphId: 'graph/a/b/0',
        sourceBucket: bucket,
        sourceKey: 'uploads/in.jpg',
      }),
    });
    const result = await ingestFor().ingest([event('uploads/out.jpg', { bucket, size: 1 })]);
    assert.equal(store.calls.head, 0);
    assert.equal(result.started, 1);
    const [run] = orchestrator.startedGraphRuns();
    const putsBefore = store.calls.put;
    const error = await refusalOfOutput(run!);
    assert.equal(error.writtenBy, 'graph/a/b/0');
    assert.equal(store.calls.put, putsBefore, 'nothing was written');
  });

  it('when the object is already gone and the HEAD is made, then it is skipped and counted', async () => {
    const { bucket } = await ruleOn('photos', accountId, { contentTypes: ['image/jpeg'] });
    const result = await ingestFor().ingest([event('uploads/deleted.jpg', { bucket })]);
    assert.equal(result.skipped, 1);
    assert.equal(orchestrator.startedGraphRuns().length, 0);
  });

  it('when records carry their size but no content type (AWS), then rules on name and size start their runs without a HEAD, all listed before the first starts', async () => {
    const { rule, bucket } = await ruleOn('photos', accountId, { minSize: 3, maxSize: 10 });
    const body = [4, 2, 11, 10].map((size, index) =>
      event(`uploads/${index}.jpg`, { bucket, sequencer: `00${index}`, size }),
    );
    const matching = [0, 3].map((index) => `s3/default/${bucket}/uploads/${index}.jpg/00${index}/${rule.id}`);
    let checked = false;
    let listedAtFirstStart: (string | undefined)[] = [];
    const checkingOrchestrator = {
      async startGraphRun(input: Parameters<FakeOrchestrator['startGraphRun']>[0]) {
        // Only the first start looks (set before its read, since the starts begin together).
        if (!checked) {
          checked = true;
          const states = await graphRunStates(database.db, matching);
          listedAtFirstStart = matching.map((id) => states.get(id));
        }
        return orchestrator.startGraphRun(input);
      },
    };
    const result = await ingestFor({ orchestrator: checkingOrchestrator }).ingest(body);
    assert.equal(store.calls.head, 0);
    assert.equal(result.started, 2);
    assert.equal(result.unmatched, 2, 'the sizes below and above the rule’s bounds');
    assert.deepEqual(listedAtFirstStart, ['queued', 'queued']);
    assert.deepEqual(
      orchestrator
        .startedGraphRuns()
        .map((run) => [run.workflowId, run.skipGeneratedSource])
        .sort(),
      matching.map((id) => [id, true]),
    );
  });

  it('when two rules match by name and one filters on a content type the record lacks, then one HEAD decides both', async () => {
    const byName = await ruleOn('photos', accountId);
    const byType = await ruleOn('photos', accountId, { contentTypes: ['image/png'] });
    store.seed(byName.bucket, 'uploads/a.jpg', Buffer.from('jpeg'), 'image/jpeg');
    store.seed(byName.bucket, 'uploads/b.png', Buffer.from('png'), 'image/png');
    const result = await ingestFor().ingest([
      event('uploads/a.jpg', { bucket: byName.bucket, sequencer: '00A1' }),
      event('uploads/b.png', { bucket: byName.bucket, sequencer: '00A2' }),
    ]);
    assert.equal(store.calls.head, 2, 'one HEAD per record');
    assert.deepEqual(
      orchestrator
        .startedGraphRuns()
        .map(
          (run) =>
            `${run.workflowId.split('/').at(-3)} ${run.triggerId === byType.rule.id ? 'type' : 'name'}`,
        )
        .sort(),
      ['a.jpg name', 'b.png name', 'b.png type'],
    );
    assert.equal(result.started, 3);
  });

  it('when no rule matches by name, then no HEAD is made and the event is unmatched', async () => {
    const { bucket } = await ruleOn('photos', accountId);
    const result = await ingestFor().ingest([event('elsewhere/cat.jpg', { bucket })]);
    assert.equal(result.unmatched, 1);
    assert.equal(store.calls.head, 0);
  });

  it('when a rule is disabled, then it does not trigger', async () => {
    const { bucket } = await ruleOn('photos', accountId, { enabled: false });
    store.seed(bucket, 'uploads/cat.jpg', Buffer.from('x'));
    assert.equal((await ingestFor().ingest([event('uploads/cat.jpg', { bucket })])).unmatched, 1);
  });

  it('when the rule account is not granted the bucket (another account’s bucket), then it never triggers', async () => {
    // The rule was saved for a bucket its account does not hold (say, a grant was removed since).
    const { bucket } = await ruleOn('theirs', accountId);
    store.seed(bucket, 'uploads/cat.jpg', Buffer.from('x'));
    const result = await ingestFor().ingest([event('uploads/cat.jpg', { bucket })]);
    assert.equal(result.unmatched, 1);
    assert.equal(orchestrator.startedGraphRuns().length, 0);
  });

  it('when the template writes to a bucket no longer granted, then the match is skipped', async () => {
    const { bucket } = await ruleOn('photos', accountId, {
      template: {
        ...thumbTemplate,
        transformUnits: [
          thumbTemplate.transformUnits[0]!,
          thumbTemplate.transformUnits[1]!,
          { type: 'StorageSink', bucket: 'nobodys', key: '{key}' },
        ],
      },
    });
    store.seed(bucket, 'uploads/cat.jpg', Buffer.from('x'));
    const result = await ingestFor().ingest([event('uploads/cat.jpg', { bucket })]);
    assert.equal(result.skipped, 1);
    assert.equal(orchestrator.startedGraphRuns().length, 0);
  });

  it('when the event lacks size and type, then the HEAD supplies them for the filter', async () => {
    const { bucket } = await ruleOn('photos', accountId, { contentTypes: ['image/png'], minSize: 3 });
    store.seed(bucket, 'uploads/a.png', Buffer.from('png!'), 'image/png; charset=binary');
    store.seed(bucket, 'uploads/b.png', Buffer.from('pn'), 'image/png');
    store.seed(bucket, 'uploads/c.png', Buffer.from('jpeg'), 'image/jpeg');
    const result = await ingestFor().ingest([
      event('uploads/a.png', { bucket }),
      event('uploads/b.png', { bucket }),
      event('uploads/c.png', { bucket }),
    ]);
    assert.equal(result.started, 1);
    assert.equal(result.unmatched, 2);
  });

  /** What a MinIO record tells of its object beyond AWS's: its user metadata (here: generated or not) and content type. */
  const reported = (contentType: string, size: number, generated = false) => ({
    contentType,
    size,
    generated,
  });

  it('when the event reports user metadata, size and type (MinIO), then the rules are matched and the run starts without a HEAD', async () => {
    const { bucket } = await ruleOn('photos', accountId, { contentTypes: ['image/png'], minSize: 3 });
    const result = await ingestFor().ingest([
      event('uploads/a.png', { bucket, sequencer: '00A1', ...reported('image/png', 4) }),
      event('uploads/b.png', { bucket, sequencer: '00A2', ...reported('image/png', 2) }),
      event('uploads/c.png', { bucket, sequencer: '00A3', ...reported('image/jpeg', 4) }),
    ]);
    assert.equal(store.calls.head, 0);
    assert.equal(result.started, 1);
    assert.equal(result.unmatched, 2);
    const [run] = orchestrator.startedGraphRuns();
    assert.equal(run!.workflowId.split('/').at(-3), 'a.png');
    assert.equal(run!.sourceRevision, 'etag1', 'the run still checks the revision its event named');
    const states = await graphRunStates(database.db, [run!.workflowId]);
    assert.equal(states.get(run!.workflowId), 'queued', 'listed before it started');
  });

  it('when a body of records that report their metadata arrives, then every run is listed before the first starts, and all start once', async () => {
    const { rule, bucket } = await ruleOn('photos', accountId);
    const keys = Array.from({ length: 40 }, (_, index) => `uploads/${index}.png`);
    const runIds = keys.map((key, index) => `s3/default/${bucket}/${key}/00${index}/${rule.id}`);
    let listedAtFirstStart: string[] = [];
    let checked = false;
    const checkingOrchestrator = {
      async startGraphRun(input: Parameters<FakeOrchestrator['startGraphRun']>[0]) {
        // Only the first start looks (set before its read, since 16 starts begin at once).
        if (!checked) {
          checked = true;
          const states = await graphRunStates(database.db, runIds);
          listedAtFirstStart = runIds.map((id) => states.get(id) ?? 'not listed');
        }
        return orchestrator.startGraphRun(input);
      },
    };
    const body = keys.map((key, index) =>
      event(key, { bucket, sequencer: `00${index}`, ...reported('image/png', 4) }),
    );
    // Delivered twice: the second delivery finds every run started, and starts none again.
    const first = await ingestFor({ orchestrator: checkingOrchestrator }).ingest(body);
    const again = await ingestFor().ingest(body);

    assert.equal(store.calls.head, 0);
    assert.equal(first.started, keys.length);
    assert.deepEqual(
      listedAtFirstStart,
      keys.map(() => 'queued'),
    );
    assert.equal(again.started, 0);
    assert.equal(again.duplicates, keys.length);
    assert.equal(orchestrator.startedGraphRuns().length, keys.length);
  });

  it('when the event reports pixelshift’s generated mark (MinIO), then no rule triggers and no HEAD is made', async () => {
    const { bucket } = await ruleOn('photos', accountId);
    const result = await ingestFor().ingest([
      event('uploads/out.webp', { bucket, ...reported('image/webp', 10, true) }),
    ]);
    assert.equal(result.unmatched, 1);
    assert.equal(store.calls.head, 0);
    assert.equal(orchestrator.startedGraphRuns().length, 0);
  });

  it('when a record hides an output’s mark (posted by a holder of the events token), then the run it starts still refuses the output', async () => {
    const { bucket } = await ruleOn('photos', accountId);
    await store.put(bucket, 'uploads/out.jpg', Buffer.from('x'), {
      contentType: 'image/jpeg',
      metadata: generatedMetadata({ sourceBucket: bucket, sourceKey: 'uploads/in.jpg' }),
    });
    const result = await ingestFor().ingest([
      event('uploads/out.jpg', { bucket, ...reported('image/jpeg', 1, false) }),
    ]);
    assert.equal(result.started, 1);
    const [run] = orchestrator.startedGraphRuns();
    await refusalOfOutput(run!);
  });

  it('when the event reports metadata but lacks the content type its rule filters on, or names a version, then the HEAD still decides', async () => {
    const { bucket } = await ruleOn('photos', accountId, { contentTypes: ['image/jpeg'] });
    // Generated by the store's own account: the HEAD, not the event, is believed here.
    await store.put(bucket, 'uploads/out.jpg', Buffer.from('x'), {
      contentType: 'image/jpeg',
      metadata: generatedMetadata({ sourceBucket: bucket, sourceKey: 'uploads/in.jpg' }),
    });
    const result = await ingestFor().ingest([
      event('uploads/out.jpg', { bucket, size: 1, generated: false }),
      event('uploads/out.jpg', {
        bucket,
        sequencer: '00B2',
        versionId: 'v1',
        ...reported('image/jpeg', 1),
      }),
    ]);
    assert.equal(store.calls.head, 2, 'one HEAD for each event');
    assert.equal(result.unmatched, 2);
    assert.equal(orchestrator.startedGraphRuns().length, 0);
  });

  it('when the key is very long, then the workflow ID stays under the limit with a hash of the key', async () => {
    const { rule, bucket } = await ruleOn('photos', accountId);
    const key = `uploads/${'é'.repeat(500)}.jpg`;
    store.seed(bucket, key, Buffer.from('x'));
    await ingestFor().ingest([event(key, { bucket })]);
    const [run] = orchestrator.startedGraphRuns();
    const digest = createHash('sha256').update(key).digest('hex');
    assert.equal(run!.workflowId, `s3/default/${bucket}/sha256:${digest}/00A1/${rule.id}`);
    assert.ok(Buffer.byteLength(run!.workflowId) <= MAX_S3_RUN_ID_BYTES);
  });

  it('when a start fails (engine down), then ingest rejects so the sender retries, and a retry starts what is missing only', async () => {
    const { bucket } = await ruleOn('photos', accountId);
    for (const name of ['a', 'b', 'c']) store.seed(bucket, `uploads/${name}.jpg`, Buffer.from(name));
    const batch = ['a', 'b', 'c'].map((name) => event(`uploads/${name}.jpg`, { bucket }));
    orchestrator.failNextStarts = 1;
    await assert.rejects(ingestFor({ concurrency: 1 }).ingest(batch));
    assert.ok(orchestrator.startedGraphRuns().length < 3);
    const retry = await ingestFor().ingest(batch);
    assert.equal(orchestrator.startedGraphRuns().length, 3);
    assert.equal(retry.started + retry.duplicates, 3);
  });

  it('when the HEAD fails transiently, then ingest rejects and nothing starts', async () => {
    const { bucket } = await ruleOn('photos', accountId, { contentTypes: ['image/jpeg'] });
    const failing = new MemoryStore();
    failing.head = () => Promise.reject(new Error('socket hang up'));
    await assert.rejects(
      ingestFor({ stores: storesOf(failing) }).ingest([event('uploads/a.jpg', { bucket })]),
    );
    assert.equal(orchestrator.startedGraphRuns().length, 0);
  });

  it('when onResult is given, then it receives every result', async () => {
    const seen: number[] = [];
    await ingestFor({ onResult: (result) => seen.push(result.events) }).ingest([
      event('nothing.jpg', { bucket: 'none' }),
    ]);
    assert.deepEqual(seen, [1]);
  });
});

describe('isBucketGrantedToAnyone', () => {
  it('when an account or * holds a matching pattern, then the bucket is granted to someone', () => {
    const policy: StorageGrants = {
      a: [{ connection: 'default', buckets: ['in-*'] }],
      '*': [{ connection: 'archive', buckets: ['pub'] }],
    };
    assert.equal(isBucketGrantedToAnyone(policy, 'default', 'in-1'), true);
    assert.equal(isBucketGrantedToAnyone(policy, 'archive', 'pub'), true);
    assert.equal(isBucketGrantedToAnyone(policy, 'default', 'pub'), false);
    assert.equal(isBucketGrantedToAnyone(policy, 'archive', 'in-1'), false);
  });
});

describe('createEventIngest on a real S3 server', () => {
  let endpoint: string;
  let s3: S3Client;
  let s3Store: S3ObjectStore;
  const s3Stores = { get: () => s3Store };

  before(async () => {
    endpoint = await s3Endpoint();
    s3 = testS3Client(endpoint);
    s3Store = new S3ObjectStore({
      endpoint,
      region: testS3Region,
      forcePathStyle: true,
      credentials: testS3Credentials,
    });
  });
  after(() => {
    s3.destroy();
    s3Store.destroy();
  });

  /** The version id (empty on a bucket that keeps none) and the ETag, unquoted as notifications carry it. */
  async function upload(
    bucket: string,
    key: string,
    file: string,
    contentType: string,
  ): Promise<{ versionId: string; etag: string }> {
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: readFileSync(fixturePath(file)),
        ContentType: contentType,
      }),
    );
    return { versionId: put.VersionId ?? '', etag: (put.ETag ?? '').replace(/"/g, '') };
  }

  /**
   * Ingests one event on `bucket` with a PNG-only rule, and runs the graph it started as the imaging
   * activity does: checking the source revision the run carries.
   */
  async function ingestAndRun(bucket: string, named: { versionId?: string; etag: string }) {
    grants[accountId] = [{ connection: 'default', buckets: [bucket] }];
    await insertRule(database.db, {
      id: newRuleId(),
      accountId,
      ...fields({ bucket, contentTypes: ['image/png'] }),
    });
    // Like S3's own notifications: the event names the version and its ETag but carries no content type.
    const result = await ingestFor({ stores: s3Stores }).ingest([
      event('uploads/pic.png', {
        bucket,
        ...(named.versionId === undefined ? {} : { versionId: named.versionId }),
        sequencer: undefined,
        etag: named.etag,
        eventTime: '2026-01-01T00:00:00Z',
      }),
    ]);
    const [run] = orchestrator.startedGraphRuns();
    const output =
      run &&
      (await executeGraph(run.graph, {
        stores: s3Stores,
        ...(run.sourceRevision === undefined ? {} : { expectedSourceRevision: run.sourceRevision }),
      }).catch((error: unknown) => {
        if (error instanceof SourceSupersededError) return error;
        throw error;
      }));
    return { result, run, output };
  }

  function ran(output: Awaited<ReturnType<typeof ingestAndRun>>['output']) {
    assert.ok(output, 'a run was started');
    if (output instanceof SourceSupersededError) assert.fail(`the run was superseded: ${output.message}`);
    return output;
  }

  it('when an event names a version that was overwritten since, then the rule and the run see that version', async () => {
    const bucket = await createTestBucket(endpoint, 'versioned');
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
    );
    // 68×68 PNG, then overwritten by a 290×442 JPEG before the event is handled.
    const first = await upload(bucket, 'uploads/pic.png', 'png-palette-8bit.png', 'image/png');
    await upload(bucket, 'uploads/pic.png', 'jpeg-icc-adobe-rgb.jpg', 'image/jpeg');
    const { result, run, output } = await ingestAndRun(bucket, first);
    assert.equal(result.started, 1, 'the rule for PNGs matched the named version');
    assert.deepEqual(run!.graph.transformUnits[0], {
      type: 'StorageSource',
      storage: 'default',
      bucket,
      key: 'uploads/pic.png',
      versionId: first.versionId,
    });
    // The pinned version still has the ETag its event named: it is processed, not superseded.
    assert.equal(run!.sourceRevision, first.etag);
    assert.deepEqual(ran(output).failures, []);
    assert.deepEqual(
      ran(output).sinks.map((sink) => [sink.width, sink.height]),
      [[64, 64]],
      'made from the square PNG, not the JPEG that replaced it',
    );
  });

  it('when an event names a version on a bucket that keeps none, then the version is ignored and the run succeeds', async () => {
    const bucket = await createTestBucket(endpoint, 'unversioned');
    const { etag } = await upload(bucket, 'uploads/pic.png', 'png-palette-8bit.png', 'image/png');
    const { result, run, output } = await ingestAndRun(bucket, {
      versionId: '3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY',
      etag,
    });
    assert.equal(result.started, 1);
    assert.deepEqual(run!.graph.transformUnits[0], {
      type: 'StorageSource',
      storage: 'default',
      bucket,
      key: 'uploads/pic.png',
    });
    assert.deepEqual(ran(output).failures, []);
    assert.equal(ran(output).sinks.length, 1);
  });

  it('when an event that needed no HEAD (MinIO’s, or AWS’s for a rule on names) names an object deleted since, then its run starts and ends superseded, writing nothing', async () => {
    const bucket = await createTestBucket(endpoint, 'deleted');
    grants[accountId] = [{ connection: 'default', buckets: [bucket] }];
    await insertRule(database.db, { id: newRuleId(), accountId, ...fields({ bucket }) });
    const shapes = {
      minio: { size: 1, contentType: 'image/png', generated: false },
      aws: { size: 1 },
    };
    for (const [shape, reports] of Object.entries(shapes)) {
      const key = `uploads/${shape}.png`;
      const { etag } = await upload(bucket, key, 'png-palette-8bit.png', 'image/png');
      await s3Store.delete(bucket, key);
      const result = await ingestFor({ stores: s3Stores }).ingest([
        event(key, { bucket, sequencer: '00C1', etag, ...reports }),
      ]);
      assert.equal(result.started, 1, shape);
      const run = orchestrator.startedGraphRuns().at(-1)!;
      const error = await executeGraph(run.graph, {
        stores: s3Stores,
        expectedSourceRevision: run.sourceRevision!,
        skipGeneratedSource: run.skipGeneratedSource!,
      }).then(
        () => assert.fail(`expected the ${shape} run to be superseded`),
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof SourceSupersededError, String(error));
      assert.equal(error.found, undefined);
    }
    assert.deepEqual(await s3Store.list(bucket, 'thumbs/'), [], 'nothing was written');
  });

  it('when an unversioned object is overwritten between its event and its run, then the run is superseded and writes nothing', async () => {
    const bucket = await createTestBucket(endpoint, 'overwritten');
    const first = await upload(bucket, 'uploads/pic.png', 'png-palette-8bit.png', 'image/png');
    grants[accountId] = [{ connection: 'default', buckets: [bucket] }];
    await insertRule(database.db, {
      id: newRuleId(),
      accountId,
      ...fields({ bucket, contentTypes: ['image/png'] }),
    });
    const result = await ingestFor({ stores: s3Stores }).ingest([
      event('uploads/pic.png', { bucket, sequencer: '00B1', etag: first.etag }),
    ]);
    assert.equal(result.started, 1);
    const [run] = orchestrator.startedGraphRuns();
    assert.equal(run!.sourceRevision, first.etag, 'on S3 the ETag is the revision the run must find');
    // Another upload of the same key lands before the run reads it (its own event starts its own run).
    const second = await upload(bucket, 'uploads/pic.png', 'png-16bit-rgb.png', 'image/png');
    assert.notEqual(second.etag, first.etag);
    const error = await executeGraph(run!.graph, {
      stores: s3Stores,
      expectedSourceRevision: first.etag,
    }).then(
      () => assert.fail('expected the run to be superseded'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof SourceSupersededError, String(error));
    assert.equal(error.expected, first.etag);
    assert.equal(error.found, second.etag);
    const written = await s3Store.list(bucket, 'thumbs/');
    assert.deepEqual(written, [], 'nothing was written');
  });
});
