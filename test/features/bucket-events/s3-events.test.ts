import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, beforeEach, describe, test } from 'node:test';
import request from 'supertest';
import { parseExposition } from '../../support/prometheus-text.js';
import { openApiDocumentOf } from '../../../src/app/http-app.js';
import { MAX_RECORDS_PER_BODY } from '../../../src/core/triggers/s3-event-records.js';
import {
  createTestAccount,
  createTestApi,
  type TestAccount,
  type TestApi,
} from '../../support/api-harness.js';
import { MemoryStore, storesOf } from '../../support/memory-store.js';
import { documentAllowsBody } from '../../support/request-contract.js';

const lakeToken = 'lake-token-0123456789abcdef0123456789abcdef';
const pondToken = 'pond-token-0123456789abcdef0123456789abcdef';

let api: TestApi;
let store: MemoryStore;
let alice: TestAccount;
let bob: TestAccount;
let ruleId: string;

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(
    readFileSync(new URL(`../../core/triggers/fixtures/${name}`, import.meta.url), 'utf8'),
  ) as Record<string, unknown>;
}

/** An AWS notification for one object of bucket `alice-in`, its key encoded as S3 encodes it. */
function awsBody(encodedKey: string, sequencer = '00AA01', bucket = 'alice-in'): Record<string, unknown> {
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        eventTime: '2026-03-02T10:15:30.123Z',
        eventName: 'ObjectCreated:Put',
        s3: {
          s3SchemaVersion: '1.0',
          bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` },
          object: { key: encodedKey, size: 4, eTag: 'etag-1', sequencer },
        },
      },
    ],
  };
}

function post(body: unknown, token = lakeToken) {
  return request(api.app)
    .post('/v1/events/s3')
    .set('Authorization', `Bearer ${token}`)
    .send(body as object);
}

before(async () => {
  store = new MemoryStore();
  api = await createTestApi({ stores: storesOf(store) });
  api.config.storage.connections.lake = { kind: 's3', region: 'us-east-1', events: { token: lakeToken } };
  api.config.storage.connections.pond = { kind: 's3', region: 'us-east-1', events: { token: pondToken } };
  alice = await createTestAccount(api, 'alice');
  bob = await createTestAccount(api, 'bob');
  api.config.storage.grants[alice.accountId] = [{ connection: 'lake', buckets: ['alice-in', 'alice-out'] }];
  api.config.storage.grants[bob.accountId] = [{ connection: 'lake', buckets: ['bob-in'] }];
  const created = await request(api.app)
    .post('/v1/rules')
    .set(alice.auth)
    .send({
      connection: 'lake',
      bucket: 'alice-in',
      prefix: 'uploads/',
      template: {
        transformUnits: [
          { type: 'Resize', width: 64 },
          { type: 'ImageFormat', format: 'webp' },
          { type: 'StorageSink', bucket: 'alice-out', key: '{dir}/{name}.webp' },
        ],
      },
    });
  assert.equal(created.status, 201, created.text);
  ruleId = (created.body as { ruleId: string }).ruleId;
});
after(() => api.close());

beforeEach(() => {
  api.orchestrator.down = false;
  api.orchestrator.failNextStarts = 0;
});

function runsFor(key: string) {
  return api.orchestrator
    .startedGraphRuns()
    .filter(
      (run) =>
        run.graph.transformUnits[0]?.type === 'StorageSource' &&
        (run.graph.transformUnits[0] as { key: string }).key === key,
    );
}

describe('POST /v1/events/s3: accepted bodies', () => {
  test('when S3 sends its TestEvent, then 200 {test: true} and nothing starts', async () => {
    const before = api.orchestrator.startedGraphRuns().length;
    const res = await post(fixture('s3-test-event.json')).expect(200);
    assert.deepEqual(res.body, { test: true });
    assert.equal(api.orchestrator.startedGraphRuns().length, before);
  });

  test('when an upload matches a rule, then 200 after the run started, with the s3 trigger, the rule and a status URL', async () => {
    store.seed('alice-in', 'uploads/cat.jpg', Buffer.from('jpeg'));
    const res = await post(awsBody('uploads/cat.jpg')).expect(200);
    assert.equal(res.body.started, 1);
    assert.equal(res.body.events, 1);
    const [run] = runsFor('uploads/cat.jpg');
    assert.equal(run!.trigger, 's3');
    assert.equal(run!.triggerId, ruleId);
    assert.equal(run!.accountId, alice.accountId);
    assert.equal(run!.workflowId, `s3/lake/alice-in/uploads/cat.jpg/00AA01/${ruleId}`);
    assert.deepEqual(res.body.runs, [
      { workflowId: run!.workflowId, statusUrl: `/v1/runs/${encodeURIComponent(run!.workflowId)}` },
    ]);
  });

  test('when the same event is delivered twice, then one run; a new upload of the key starts a second', async () => {
    store.seed('alice-in', 'uploads/dog.jpg', Buffer.from('jpeg'));
    await post(awsBody('uploads/dog.jpg', '00BB01')).expect(200);
    const again = await post(awsBody('uploads/dog.jpg', '00BB01')).expect(200);
    assert.equal(again.body.started, 0);
    assert.equal(again.body.duplicates, 1);
    assert.equal(runsFor('uploads/dog.jpg').length, 1);
    await post(awsBody('uploads/dog.jpg', '00BB02')).expect(200);
    assert.equal(runsFor('uploads/dog.jpg').length, 2);
  });

  test('when the same event arrives twice at the same moment, then exactly one run starts', async () => {
    store.seed('alice-in', 'uploads/race.jpg', Buffer.from('jpeg'));
    api.orchestrator.startDelayMs = 20;
    try {
      const answers = await Promise.all([
        post(awsBody('uploads/race.jpg', '00RA01')),
        post(awsBody('uploads/race.jpg', '00RA01')),
      ]);
      assert.deepEqual(
        answers.map((res) => res.status),
        [200, 200],
      );
      assert.equal(answers[0].body.started + answers[1].body.started, 1);
      assert.equal(runsFor('uploads/race.jpg').length, 1);
    } finally {
      api.orchestrator.startDelayMs = 0;
    }
  });

  for (const [encoded, decoded] of [
    ['uploads/summer+holiday.jpg', 'uploads/summer holiday.jpg'],
    ['uploads/a%2Bb.jpg', 'uploads/a+b.jpg'],
    ['uploads%2Fnested%2Fdeep.jpg', 'uploads/nested/deep.jpg'],
    ['uploads/%E5%86%99%E7%9C%9F+%F0%9F%90%88.jpg', 'uploads/写真 🐈.jpg'],
  ] as const) {
    test(`when the key arrives as ${encoded}, then the run reads ${decoded}`, async () => {
      store.seed('alice-in', decoded, Buffer.from('jpeg'));
      const res = await post(awsBody(encoded, '00CC01')).expect(200);
      assert.equal(res.body.started, 1, JSON.stringify(res.body));
      assert.equal(runsFor(decoded).length, 1);
    });
  }

  test('when the body is sent as text/plain, then it is read as JSON all the same', async () => {
    store.seed('alice-in', 'uploads/text.jpg', Buffer.from('jpeg'));
    const res = await request(api.app)
      .post('/v1/events/s3')
      .set('Authorization', `Bearer ${lakeToken}`)
      .set('Content-Type', 'text/plain; charset=utf-8')
      .send(JSON.stringify(awsBody('uploads/text.jpg')))
      .expect(200);
    assert.equal(res.body.started, 1);
  });

  test('when MinIO posts its webhook body, then its record starts a run', async () => {
    const body = fixture('minio-webhook.json');
    const record = (body.Records as { s3: { bucket: { name: string }; object: { key: string } } }[])[0]!;
    record.s3.bucket.name = 'alice-in';
    record.s3.object.key = 'uploads%2Fminio+shot.jpg';
    store.seed('alice-in', 'uploads/minio shot.jpg', Buffer.from('jpeg'), 'image/jpeg');
    const res = await post(body).expect(200);
    assert.equal(res.body.started, 1, JSON.stringify(res.body));
  });

  /** MinIO's webhook body for one object of `alice-in`, with the user metadata MinIO reports for it. */
  function minioBody(encodedKey: string, userMetadata: unknown, sequencer: string): Record<string, unknown> {
    const body = fixture('minio-webhook.json');
    const record = (
      body.Records as { s3: { bucket: { name: string }; object: Record<string, unknown> } }[]
    )[0]!;
    record.s3.bucket.name = 'alice-in';
    Object.assign(record.s3.object, { key: encodedKey, userMetadata, sequencer });
    return body;
  }

  test('when MinIO reports the object’s metadata, then the run starts without a HEAD of the object', async () => {
    const heads = store.calls.head;
    const res = await post(
      minioBody('uploads/not-yet-seen.jpg', { 'content-type': 'image/jpeg' }, '00AB01'),
    ).expect(200);
    assert.equal(res.body.started, 1, JSON.stringify(res.body));
    assert.equal(store.calls.head, heads);
    assert.equal(runsFor('uploads/not-yet-seen.jpg').length, 1);
  });

  test('when MinIO reports pixelshift’s generated mark, then the output triggers nothing and is not HEADed', async () => {
    const heads = store.calls.head;
    const res = await post(
      minioBody('uploads/thumb.webp', { 'X-Amz-Meta-Pixelshift-Generated': 'true' }, '00AB02'),
    ).expect(200);
    assert.equal(res.body.unmatched, 1);
    assert.equal(store.calls.head, heads);
    assert.equal(runsFor('uploads/thumb.webp').length, 0);
  });

  test('when EventBridge posts Object Created, then its plain key starts a run', async () => {
    const body = fixture('eventbridge-object-created.json');
    const detail = body.detail as { bucket: { name: string }; object: { key: string } };
    detail.bucket.name = 'alice-in';
    detail.object.key = 'uploads/bridge+plus.jpg';
    store.seed('alice-in', 'uploads/bridge+plus.jpg', Buffer.from('jpeg'));
    const res = await post(body).expect(200);
    assert.equal(res.body.started, 1, JSON.stringify(res.body));
  });

  test('when an event matches no rule, then 200 with the event counted as unmatched and in the metrics', async () => {
    const res = await post(awsBody('elsewhere/x.jpg')).expect(200);
    assert.equal(res.body.unmatched, 1);
    assert.equal(res.body.started, 0);
    const metrics = await request(api.app).get('/metrics').expect(200);
    assert.match(metrics.text, /pixelshift_s3_events_total\{result="unmatched"\} [1-9]/);
    assert.match(metrics.text, /pixelshift_s3_events_total\{result="started"\} [1-9]/);
  });

  test('when ObjectRemoved records arrive, then 200 with them ignored', async () => {
    const body = awsBody('uploads/gone.jpg');
    (body.Records as { eventName: string }[])[0]!.eventName = 'ObjectRemoved:Delete';
    const ok = await post(body).expect(200);
    assert.equal(ok.body.ignored, 1);
    assert.equal(ok.body.events, 0);
  });

  test('when an AWS record names a pixelshift output in a watched bucket, then no HEAD is made and its run starts with the check that refuses an output', async () => {
    await store.put('alice-in', 'uploads/made-by-us.jpg', Buffer.from('x'), {
      metadata: { 'pixelshift-generated': 'true' },
    });
    const heads = store.calls.head;
    // An AWS record cannot say whether its object is an output; the run reads the object and ends
    // `superseded` (test/temporal/workflows/graph-runs.test.ts).
    const res = await post(awsBody('uploads/made-by-us.jpg')).expect(200);
    assert.equal(res.body.started, 1);
    assert.equal(store.calls.head, heads);
    assert.deepEqual(
      runsFor('uploads/made-by-us.jpg').map((run) => run.skipGeneratedSource),
      [true],
    );
  });
});

describe('POST /v1/events/s3: hostile and failing requests start nothing', () => {
  function refused(res: request.Response, status: number, code: string) {
    assert.equal(res.status, status, res.text);
    assert.equal(res.body.error.code, code);
  }

  test('when no token is sent, then 401 invalid_event_token with WWW-Authenticate', async () => {
    const res = await request(api.app).post('/v1/events/s3').send(awsBody('uploads/cat.jpg'));
    refused(res, 401, 'invalid_event_token');
    assert.match(res.headers['www-authenticate']!, /^Bearer/);
  });

  test('when a wrong token, a near-miss token or an account token is sent, then 401', async () => {
    const count = api.orchestrator.startedGraphRuns().length;
    store.seed('alice-in', 'uploads/t.jpg', Buffer.from('x'));
    const wrong = await post(awsBody('uploads/t.jpg'), 'wrong');
    refused(wrong, 401, 'invalid_event_token');
    assert.match(wrong.headers['www-authenticate']!, /error="invalid_token"/);
    refused(await post(awsBody('uploads/t.jpg'), `${lakeToken}x`), 401, 'invalid_event_token');
    refused(await post(awsBody('uploads/t.jpg'), alice.token), 401, 'invalid_event_token');
    refused(
      await request(api.app).post('/v1/events/s3').set('Authorization', `Basic ${lakeToken}`).send({}),
      401,
      'invalid_event_token',
    );
    assert.equal(api.orchestrator.startedGraphRuns().length, count);
  });

  test('when the token belongs to another connection, then that connection’s buckets are meant and an unknown one is 403', async () => {
    const count = api.orchestrator.startedGraphRuns().length;
    store.seed('alice-in', 'uploads/p.jpg', Buffer.from('x'));
    const res = await post(awsBody('uploads/p.jpg'), pondToken);
    refused(res, 403, 'access_denied');
    assert.equal(res.body.error.issues[0].code, 'bucket_not_granted');
    assert.equal(api.orchestrator.startedGraphRuns().length, count);
  });

  test('when one MinIO record’s user metadata is malformed, then 400 invalid_event naming it and the good record does not start either', async () => {
    const count = api.orchestrator.startedGraphRuns().length;
    const body = fixture('minio-webhook.json');
    const records = body.Records as { s3: { bucket: { name: string }; object: Record<string, unknown> } }[];
    const good = records[0]!;
    good.s3.bucket.name = 'alice-in';
    Object.assign(good.s3.object, {
      key: 'uploads/good.jpg',
      userMetadata: { 'content-type': 'image/jpeg' },
    });
    const bad = structuredClone(good);
    Object.assign(bad.s3.object, {
      key: 'uploads/bad.jpg',
      userMetadata: { 'X-Amz-Meta-Huge': 'x'.repeat(9000) },
    });
    records.push(bad);
    const res = await post(body);
    refused(res, 400, 'invalid_event');
    assert.equal(res.body.error.issues[0].path, '/Records/1/s3/object/userMetadata');
    assert.equal(api.orchestrator.startedGraphRuns().length, count);
  });

  test('when the body names a bucket no account holds, then 403 before anything starts, even for the good records', async () => {
    const count = api.orchestrator.startedGraphRuns().length;
    store.seed('alice-in', 'uploads/mixed.jpg', Buffer.from('x'));
    const body = awsBody('uploads/mixed.jpg', '00DD01');
    const stranger = (awsBody('uploads/x.jpg', '00DD02', 'strangers').Records as unknown[])[0];
    (body.Records as unknown[]).push(stranger);
    refused(await post(body), 403, 'access_denied');
    assert.equal(api.orchestrator.startedGraphRuns().length, count);
  });

  test('when an event comes from another account’s bucket, then the rule does not trigger and the rule cannot be made', async () => {
    store.seed('bob-in', 'uploads/bob.jpg', Buffer.from('x'));
    const res = await post(awsBody('uploads/bob.jpg', '00EE01', 'bob-in')).expect(200);
    assert.equal(res.body.unmatched, 1);
    assert.equal(runsFor('uploads/bob.jpg').length, 0);
    const rule = await request(api.app)
      .post('/v1/rules')
      .set(alice.auth)
      .send({
        connection: 'lake',
        bucket: 'bob-in',
        template: {
          transformUnits: [
            { type: 'Resize', width: 64 },
            { type: 'ImageFormat', format: 'webp' },
            { type: 'StorageSink', bucket: 'alice-out', key: '{name}.webp' },
          ],
        },
      });
    assert.equal(rule.status, 403);
    assert.equal(rule.body.error.code, 'access_denied');
  });

  const bodies: [string, () => request.Test, number, string][] = [
    ['malformed JSON', () => post('{"Records": [').type('json'), 400, 'invalid_json'],
    ['a JSON string', () => post('"Records"').type('json'), 400, 'invalid_json'],
    [
      'an empty body',
      () => request(api.app).post('/v1/events/s3').set('Authorization', `Bearer ${lakeToken}`),
      400,
      'invalid_event',
    ],
    ['a JSON array', () => post([awsBody('uploads/a.jpg')]), 400, 'invalid_event'],
    ['null records', () => post({ Records: null }), 400, 'invalid_event'],
    [
      'a record without s3',
      () => post({ Records: [{ eventVersion: '2.1', eventName: 'ObjectCreated:Put' }] }),
      400,
      'invalid_event',
    ],
    ['a malformed percent escape', () => post(awsBody('uploads/%E5%zz.jpg')), 400, 'invalid_event'],
    [
      'event version 3.0',
      () =>
        post({ Records: [{ ...(awsBody('uploads/a.jpg').Records as object[])[0], eventVersion: '3.0' }] }),
      400,
      'invalid_event',
    ],
    [
      'too many records',
      () =>
        post({
          Records: Array.from(
            { length: MAX_RECORDS_PER_BODY + 1 },
            () => (awsBody('uploads/a.jpg').Records as object[])[0],
          ),
        }),
      400,
      'too_many_records',
    ],
    [
      'a body over 1 MiB',
      () => post(JSON.stringify({ Records: [], padding: 'x'.repeat(1024 * 1024 + 10) })).type('json'),
      413,
      'payload_too_large',
    ],
    ['an XML body', () => post('<Event/>').type('application/xml'), 415, 'unsupported_media_type'],
    [
      'deep nesting',
      () => post(`{"Records":[${'['.repeat(5000)}${']'.repeat(5000)}]}`).type('json'),
      400,
      'invalid_event',
    ],
  ];
  for (const [name, send, status, code] of bodies) {
    test(`when the body is ${name}, then ${status} ${code} and nothing starts`, async () => {
      const count = api.orchestrator.startedGraphRuns().length;
      const calls = api.orchestrator.calls.length;
      refused(await send(), status, code);
      assert.equal(api.orchestrator.startedGraphRuns().length, count);
      assert.equal(api.orchestrator.calls.length, calls);
    });
  }

  test('when events start runs, repeat, match nothing or cannot be ingested, then pixelshift_trigger_events_total counts them under source s3 by outcome', async () => {
    const counts = async () => {
      const metrics = parseExposition((await request(api.app).get('/metrics').expect(200)).text);
      const outcomes = ['started', 'duplicate', 'unmatched', 'failed'] as const;
      return Object.fromEntries(
        outcomes.map((outcome) => [
          outcome,
          metrics.sum('pixelshift_trigger_events_total', { source: 's3', outcome }),
        ]),
      );
    };
    const before = await counts();
    store.seed('alice-in', 'uploads/counted.jpg', Buffer.from('x'));
    await post(awsBody('uploads/counted.jpg', '00CC01')).expect(200);
    await post(awsBody('uploads/counted.jpg', '00CC01')).expect(200);
    await post(awsBody('elsewhere/counted.jpg', '00CC02')).expect(200);
    store.seed('alice-in', 'uploads/counted-down.jpg', Buffer.from('x'));
    api.orchestrator.down = true;
    try {
      refused(await post(awsBody('uploads/counted-down.jpg', '00CC03')), 503, 'orchestrator_unavailable');
    } finally {
      api.orchestrator.down = false;
    }
    const after = await counts();
    assert.deepEqual(
      Object.fromEntries(Object.entries(after).map(([outcome, n]) => [outcome, n - before[outcome]!])),
      { started: 1, duplicate: 1, unmatched: 1, failed: 1 },
    );
  });

  test('when the engine is down, then 503 orchestrator_unavailable with Retry-After, and the redelivery then starts the run once', async () => {
    store.seed('alice-in', 'uploads/retry.jpg', Buffer.from('x'));
    api.orchestrator.down = true;
    const res = await post(awsBody('uploads/retry.jpg', '00FF01'));
    refused(res, 503, 'orchestrator_unavailable');
    assert.equal(res.headers['retry-after'], '1');
    assert.equal(runsFor('uploads/retry.jpg').length, 0);
    api.orchestrator.down = false;
    await post(awsBody('uploads/retry.jpg', '00FF01')).expect(200);
    await post(awsBody('uploads/retry.jpg', '00FF01')).expect(200);
    assert.equal(runsFor('uploads/retry.jpg').length, 1);
    const metrics = await request(api.app).get('/metrics').expect(200);
    assert.match(metrics.text, /pixelshift_s3_events_total\{result="failed"\} [1-9]/);
    assert.match(metrics.text, /pixelshift_s3_events_total\{result="refused"\} [1-9]/);
  });
});

describe('POST /v1/events/s3: the document is as strict as the server', () => {
  const allowed = (body: unknown, mediaType = 'application/json') =>
    documentAllowsBody(openApiDocumentOf(api.app), 'post', '/v1/events/s3', body, mediaType);

  /** The fixtures as senders write them, pointed at a granted bucket and a key no rule watches. */
  function senderBodies(): [string, Record<string, unknown>][] {
    const minio = fixture('minio-webhook.json');
    const record = (minio.Records as { s3: { bucket: { name: string }; object: { key: string } } }[])[0]!;
    record.s3.bucket.name = 'alice-in';
    record.s3.object.key = 'elsewhere%2Fminio.jpg';
    const bridge = fixture('eventbridge-object-created.json');
    const detail = bridge.detail as { bucket: { name: string }; object: { key: string } };
    detail.bucket.name = 'alice-in';
    detail.object.key = 'elsewhere/bridge.jpg';
    const removed = awsBody('elsewhere/gone.jpg');
    (removed.Records as { eventName: string }[])[0]!.eventName = 'ObjectRemoved:Delete';
    return [
      ['S3’s TestEvent', fixture('s3-test-event.json')],
      ['an S3 notification', awsBody('elsewhere/aws.jpg')],
      ['an S3 notification of a removal', removed],
      ['a MinIO webhook body', minio],
      ['an EventBridge Object Created event', bridge],
      ['an EventBridge event of another kind', { ...bridge, 'detail-type': 'Object Deleted' }],
      ['an empty list of records', { Records: [] }],
    ];
  }

  test('when senders post their bodies, then the document allows each one, as JSON and as text, and the server accepts it', async () => {
    for (const [name, body] of senderBodies()) {
      assert.ok(allowed(body), `the document forbids ${name}`);
      assert.ok(allowed(body, 'text/plain'), `the document forbids ${name} as text/plain`);
      const res = await post(body);
      assert.equal(res.status, 200, `${name}: ${res.text}`);
    }
  });

  test('when the document forbids a body, then the server refuses it and nothing starts', async () => {
    const record = (awsBody('uploads/a.jpg').Records as Record<string, unknown>[])[0]!;
    const bridge = fixture('eventbridge-object-created.json');
    const cases: [string, unknown, string][] = [
      ['a JSON array', [awsBody('uploads/a.jpg')], 'invalid_event'],
      ['an object of no known shape', { Hello: 'world' }, 'invalid_event'],
      ['null records', { Records: null }, 'invalid_event'],
      ['a record that is not an object', { Records: ['record'] }, 'invalid_event'],
      [
        'a record without eventVersion',
        { Records: [{ ...record, eventVersion: undefined }] },
        'invalid_event',
      ],
      ['a record without eventName', { Records: [{ ...record, eventName: undefined }] }, 'invalid_event'],
      ['an empty eventName', { Records: [{ ...record, eventName: '' }] }, 'invalid_event'],
      ['event version 3.0', { Records: [{ ...record, eventVersion: '3.0' }] }, 'invalid_event'],
      [
        'too many records',
        { Records: Array.from({ length: MAX_RECORDS_PER_BODY + 1 }, () => record) },
        'too_many_records',
      ],
      ['an EventBridge event from another source', { ...bridge, source: 'aws.ec2' }, 'invalid_event'],
      ['an EventBridge event without detail', { ...bridge, detail: undefined }, 'invalid_event'],
      ['an EventBridge event without detail-type', { ...bridge, 'detail-type': undefined }, 'invalid_event'],
      ['another S3 test event name', { Event: 's3:SomethingElse' }, 'invalid_event'],
    ];
    const count = api.orchestrator.startedGraphRuns().length;
    for (const [name, body, code] of cases) {
      assert.equal(allowed(body), false, `the document allows ${name}`);
      const res = await post(body);
      assert.equal(res.status, 400, `${name}: ${res.text}`);
      assert.equal(res.body.error.code, code, name);
    }
    assert.equal(api.orchestrator.startedGraphRuns().length, count);
  });
});
