import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { usageRangeOf } from '../../../src/features/account/account-usage.js';
import type { SinkFailureOutcome, SinkOutcome } from '../../../src/core/jobs/job-status.js';
import { advanceGraphRun, insertGraphRuns } from '../../../src/db/graph-runs.js';
import { reserveSlot } from '../../../src/db/throttle-reservations.js';
import { createTestAccount, createTestApi, type TestApi } from '../../support/api-harness.js';

const sink = (bytes: number): SinkOutcome => ({
  storage: 'default',
  bucket: 'photos',
  key: 'out/cat.webp',
  bytes,
  format: 'webp',
  width: 1000,
  height: 1000,
  etag: '"e"',
});

const failedSink: SinkFailureOutcome = {
  storage: 'default',
  bucket: 'photos',
  key: 'out/cat.avif',
  error: { code: 'budget_unreachable', message: 'over budget' },
};

const zero = { graphs: { succeeded: 0, partial: 0, failed: 0, cancelled: 0 }, transforms: 0 };
const empty = { ...zero, megapixelsRead: 0, bytesWritten: 0 };

describe('GET /v1/account/usage', () => {
  let api: TestApi;
  before(async () => {
    api = await createTestApi();
  });
  after(() => api.close());

  /** A triggered run accepted for the account, as event ingest records it. */
  async function accept(accountId: string, name: string): Promise<string> {
    const workflowId = `s3/${accountId}/${name}`;
    await insertGraphRuns(api.db, [{ workflowId, accountId, trigger: 's3', source: `photos/${name}` }]);
    return workflowId;
  }

  /** The throttle admits the run at `at` (the worker's reservation, which records `running`). */
  async function admit(accountId: string, workflowId: string, at: string): Promise<void> {
    const slot = await reserveSlot(api.db, {
      accountId,
      graphKey: workflowId,
      windowMs: 3_600_000,
      now: new Date(at),
      recordOnRun: true,
    });
    assert.equal(slot.slotAt.getTime(), slot.now.getTime(), 'the run starts at once');
  }

  /**
   * One account's work around midnight of 2026-03-09/10 (UTC), written through the read model's writers:
   * - 22:10 a run cancelled before it started (a cancelled batch): cancelled, no transform;
   * - 23:10 a run admitted, which succeeds at 00:20 (1.5 MP read, 1000 bytes written);
   * - 00:40 a run admitted, which fails at 00:50 (0.5 MP read);
   * - 04:59 a run admitted, which ends partial at 05:00 (2 MP read, 300 bytes written);
   * - 05:30 a run superseded by a newer event for its object before it started: counts nowhere.
   */
  async function recordNight(accountId: string): Promise<void> {
    const cancelled = await accept(accountId, 'cancelled.jpg');
    await advanceGraphRun(api.db, cancelled, {
      state: 'cancelled',
      at: new Date('2026-03-09T22:10:00Z'),
      error: { code: 'cancelled', message: 'The batch was cancelled before this graph ran' },
    });

    const succeeded = await accept(accountId, 'succeeded.jpg');
    await admit(accountId, succeeded, '2026-03-09T23:10:00Z');
    await advanceGraphRun(api.db, succeeded, {
      state: 'succeeded',
      at: new Date('2026-03-10T00:20:00Z'),
      sinks: [sink(1000)],
      sourcePixels: 1_500_000,
    });

    const failed = await accept(accountId, 'failed.jpg');
    await admit(accountId, failed, '2026-03-10T00:40:00Z');
    await advanceGraphRun(api.db, failed, {
      state: 'failed',
      at: new Date('2026-03-10T00:50:00Z'),
      error: { code: 'corrupt_input', message: 'truncated' },
      sourcePixels: 500_000,
    });

    const partial = await accept(accountId, 'partial.jpg');
    await admit(accountId, partial, '2026-03-10T04:59:00Z');
    await advanceGraphRun(api.db, partial, {
      state: 'partial',
      at: new Date('2026-03-10T05:00:00Z'),
      sinks: [sink(300)],
      failures: [failedSink],
      sourcePixels: 2_000_000,
    });

    const superseded = await accept(accountId, 'superseded.jpg');
    await advanceGraphRun(api.db, superseded, { state: 'superseded', at: new Date('2026-03-10T05:30:00Z') });
  }

  const night = { from: '2026-03-09T22:00:00Z', to: '2026-03-10T06:00:00Z' };

  test('when usage is asked per hour, then every hour of the range is listed in order, zeros where nothing happened, with totals', async () => {
    const account = await createTestAccount(api);
    await recordNight(account.accountId);

    const res = await request(api.app)
      .get('/v1/account/usage')
      .query({ granularity: 'hour', ...night })
      .set(account.auth)
      .expect(200)
      .expect('Content-Type', /^application\/json/);

    const hour = (start: string, figures: Partial<typeof empty> = {}) => ({ start, ...empty, ...figures });
    assert.deepEqual(res.body, {
      granularity: 'hour',
      from: '2026-03-09T22:00:00.000Z',
      to: '2026-03-10T06:00:00.000Z',
      buckets: [
        hour('2026-03-09T22:00:00.000Z', { graphs: { ...zero.graphs, cancelled: 1 } }),
        hour('2026-03-09T23:00:00.000Z', { transforms: 1 }),
        hour('2026-03-10T00:00:00.000Z', {
          graphs: { ...zero.graphs, succeeded: 1, failed: 1 },
          transforms: 1,
          megapixelsRead: 2,
          bytesWritten: 1000,
        }),
        hour('2026-03-10T01:00:00.000Z'),
        hour('2026-03-10T02:00:00.000Z'),
        hour('2026-03-10T03:00:00.000Z'),
        hour('2026-03-10T04:00:00.000Z', { transforms: 1 }),
        hour('2026-03-10T05:00:00.000Z', {
          graphs: { ...zero.graphs, partial: 1 },
          megapixelsRead: 2,
          bytesWritten: 300,
        }),
      ],
      totals: {
        graphs: { succeeded: 1, partial: 1, failed: 1, cancelled: 1 },
        transforms: 3,
        megapixelsRead: 4,
        bytesWritten: 1300,
      },
    });
  });

  test('when usage is asked per day, then the hours on each side of midnight add up to their own UTC day', async () => {
    const account = await createTestAccount(api);
    await recordNight(account.accountId);

    const res = await request(api.app)
      .get('/v1/account/usage')
      .query({ granularity: 'day', from: '2026-03-09T00:00:00Z', to: '2026-03-11T00:00:00Z' })
      .set(account.auth)
      .expect(200);

    assert.deepEqual(res.body.buckets, [
      {
        start: '2026-03-09T00:00:00.000Z',
        ...empty,
        graphs: { ...zero.graphs, cancelled: 1 },
        transforms: 1,
      },
      {
        start: '2026-03-10T00:00:00.000Z',
        graphs: { succeeded: 1, partial: 1, failed: 1, cancelled: 0 },
        transforms: 2,
        megapixelsRead: 4,
        bytesWritten: 1300,
      },
    ]);
  });

  test('when CSV is accepted, then the answer is a header line and one CRLF line per bucket, empty ones as zeros', async () => {
    const account = await createTestAccount(api);
    await recordNight(account.accountId);

    const res = await request(api.app)
      .get('/v1/account/usage')
      .query({ granularity: 'day', from: '2026-03-08T00:00:00Z', to: '2026-03-11T00:00:00Z' })
      .set(account.auth)
      .set('Accept', 'text/csv')
      .expect(200)
      .expect('Content-Type', 'text/csv; charset=utf-8')
      .expect('Vary', /Accept/);

    assert.equal(
      res.text,
      'start,graphsSucceeded,graphsPartial,graphsFailed,graphsCancelled,transforms,megapixelsRead,bytesWritten\r\n' +
        '2026-03-08T00:00:00.000Z,0,0,0,0,0,0,0\r\n' +
        '2026-03-09T00:00:00.000Z,0,0,0,1,1,0,0\r\n' +
        '2026-03-10T00:00:00.000Z,1,1,1,0,2,4,1300\r\n',
    );
  });

  test('when megapixels are fractional, then they are given to the pixel (six decimals) in JSON and CSV alike', async () => {
    const account = await createTestAccount(api);
    const run = await accept(account.accountId, 'odd.jpg');
    await admit(account.accountId, run, '2026-04-01T10:00:00Z');
    await advanceGraphRun(api.db, run, {
      state: 'succeeded',
      at: new Date('2026-04-01T10:01:00Z'),
      sinks: [sink(7)],
      sourcePixels: 640 * 427,
    });
    const range = { granularity: 'hour', from: '2026-04-01T10:00:00Z', to: '2026-04-01T11:00:00Z' };

    const json = await request(api.app).get('/v1/account/usage').query(range).set(account.auth).expect(200);
    assert.equal(json.body.buckets[0].megapixelsRead, 0.27328);
    const csv = await request(api.app)
      .get('/v1/account/usage')
      .query(range)
      .set(account.auth)
      .set('Accept', 'text/csv')
      .expect(200);
    assert.equal(csv.text.split('\r\n')[1], '2026-04-01T10:00:00.000Z,1,0,0,0,1,0.27328,7');
  });

  test('when two accounts work in the same hours, then each sees only its own usage', async () => {
    const alice = await createTestAccount(api, 'alice');
    const bob = await createTestAccount(api, 'bob');
    await recordNight(alice.accountId);
    const bobs = await accept(bob.accountId, 'bob.jpg');
    await admit(bob.accountId, bobs, '2026-03-10T00:05:00Z');
    await advanceGraphRun(api.db, bobs, {
      state: 'succeeded',
      at: new Date('2026-03-10T00:10:00Z'),
      sinks: [sink(42)],
      sourcePixels: 1_000_000,
    });

    const query = { granularity: 'day', from: '2026-03-10T00:00:00Z', to: '2026-03-11T00:00:00Z' };
    const forBob = await request(api.app).get('/v1/account/usage').query(query).set(bob.auth).expect(200);
    assert.deepEqual(forBob.body.totals, {
      graphs: { ...zero.graphs, succeeded: 1 },
      transforms: 1,
      megapixelsRead: 1,
      bytesWritten: 42,
    });
    const forAlice = await request(api.app).get('/v1/account/usage').query(query).set(alice.auth).expect(200);
    assert.equal(forAlice.body.totals.bytesWritten, 1300);
    assert.equal(forAlice.body.totals.transforms, 2);
  });

  test('when from and to fall inside buckets, then the range widens to whole buckets and says so', async () => {
    const account = await createTestAccount(api);
    await recordNight(account.accountId);

    const res = await request(api.app)
      .get('/v1/account/usage')
      // 23:30 UTC, written with an offset; to is 00:10 UTC.
      .query({ from: '2026-03-10T00:30:00+01:00', to: '2026-03-10T00:10:00Z' })
      .set(account.auth)
      .expect(200);

    assert.equal(res.body.granularity, 'hour');
    assert.equal(res.body.from, '2026-03-09T23:00:00.000Z');
    assert.equal(res.body.to, '2026-03-10T01:00:00.000Z');
    assert.deepEqual(
      res.body.buckets.map((bucket: { start: string }) => bucket.start),
      ['2026-03-09T23:00:00.000Z', '2026-03-10T00:00:00.000Z'],
    );
  });

  test('when no range is given, then the last 24 hours (or 30 days) are listed, ending with the current bucket', async () => {
    const account = await createTestAccount(api);
    for (const [granularity, count, size] of [
      ['hour', 24, 3_600_000],
      ['day', 30, 86_400_000],
    ] as const) {
      const res = await request(api.app)
        .get('/v1/account/usage')
        .query({ granularity })
        .set(account.auth)
        .expect(200);
      const from = Date.parse(res.body.from);
      const to = Date.parse(res.body.to);
      assert.equal(res.body.buckets.length, count);
      assert.equal(to - from, count * size);
      assert.equal(from % size, 0, 'buckets start on whole UTC hours or days');
      assert.deepEqual(
        res.body.buckets.map((bucket: { start: string }) => Date.parse(bucket.start)),
        Array.from({ length: count }, (_, i) => from + i * size),
      );
    }
    const byDefault = await request(api.app).get('/v1/account/usage').set(account.auth).expect(200);
    assert.equal(byDefault.body.granularity, 'hour');
  });

  test('when only one bound is given, then the other is the default that goes with it', () => {
    const now = new Date('2026-03-10T05:42:10Z');
    assert.deepEqual(usageRangeOf({ granularity: 'hour' }, now), {
      granularity: 'hour',
      from: new Date('2026-03-09T06:00:00Z'),
      to: new Date('2026-03-10T06:00:00Z'),
    });
    assert.deepEqual(usageRangeOf({ granularity: 'day', to: '2026-03-10T05:00:00Z' }, now), {
      granularity: 'day',
      from: new Date('2026-02-09T00:00:00Z'),
      to: new Date('2026-03-11T00:00:00Z'),
    });
    // From a time on, up to now: the current hour included.
    assert.deepEqual(usageRangeOf({ granularity: 'hour', from: '2026-03-08T00:00:00Z' }, now), {
      granularity: 'hour',
      from: new Date('2026-03-08T00:00:00Z'),
      to: new Date('2026-03-10T06:00:00Z'),
    });
  });

  test('when the range is the longest allowed, then it is answered: 744 hours, 366 days', async () => {
    const account = await createTestAccount(api);
    const hours = await request(api.app)
      .get('/v1/account/usage')
      .query({ from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:00Z' })
      .set(account.auth)
      .expect(200);
    assert.equal(hours.body.buckets.length, 744);
    const days = await request(api.app)
      .get('/v1/account/usage')
      .query({ granularity: 'day', from: '2028-01-01T00:00:00Z', to: '2029-01-01T00:00:00Z' })
      .set(account.auth)
      .expect(200);
    assert.equal(days.body.buckets.length, 366);
  });

  test('when the range lies where no usage can be stored, then its buckets are zeros, not an error', async () => {
    const account = await createTestAccount(api);
    const res = await request(api.app)
      .get('/v1/account/usage')
      .query({ granularity: 'day', from: '0000-01-01T00:00:00Z', to: '0000-01-03T00:00:00Z' })
      .set(account.auth)
      .expect(200);
    assert.equal(res.body.buckets.length, 2);
    assert.deepEqual(res.body.totals, empty);
    await request(api.app)
      .get('/v1/account/usage')
      .query({ granularity: 'day', from: '9999-12-30T00:00:00Z', to: '9999-12-31T23:59:59-23:59' })
      .set(account.auth)
      .expect(200);
  });

  describe('when the query is malformed, hostile or too large, then 400 invalid_request names the parameter and why', () => {
    const cases: [string, string, [string, string][]][] = [
      ['an unknown granularity', 'granularity=minute', [['/granularity', 'invalid_value']]],
      ['a granularity in another case', 'granularity=HOUR', [['/granularity', 'invalid_value']]],
      ['a date without time', 'from=2026-03-09', [['/from', 'invalid_value']]],
      ['a time without offset', 'to=2026-03-09T10:00:00', [['/to', 'invalid_value']]],
      ['an impossible date', 'from=2026-02-30T00:00:00Z', [['/from', 'invalid_value']]],
      ['an empty value', 'from=', [['/from', 'invalid_value']]],
      [
        'a repeated parameter',
        'from=2026-03-09T00:00:00Z&from=2026-03-10T00:00:00Z',
        [['/from', 'invalid_type']],
      ],
      ['an unknown parameter', 'since=2026-03-09T00:00:00Z', [['/since', 'unknown_field']]],
      ['a bracketed parameter', 'from[gte]=2026-03-09T00:00:00Z', [['/from[gte]', 'unknown_field']]],
      ['from after to', 'from=2026-03-10T00:00:00Z&to=2026-03-09T00:00:00Z', [['/from', 'inverted_range']]],
      [
        'from equal to to',
        'from=2026-03-10T00:00:00Z&to=2026-03-10T00:00:00Z',
        [['/from', 'inverted_range']],
      ],
      [
        'from after to inside one bucket',
        'from=2026-03-10T00:40:00Z&to=2026-03-10T00:20:00Z',
        [['/from', 'inverted_range']],
      ],
      ['from after the current hour and no to', 'from=2999-01-01T00:00:00Z', [['/from', 'inverted_range']]],
      [
        'one hour more than 31 days',
        'from=2026-01-01T00:00:00Z&to=2026-02-01T01:00:00Z',
        [['/from', 'range_too_long']],
      ],
      [
        'a range that widens past 31 days',
        'from=2026-01-01T00:30:00Z&to=2026-02-01T00:30:00Z',
        [['/from', 'range_too_long']],
      ],
      [
        'one day more than 366',
        'granularity=day&from=2028-01-01T00:00:00Z&to=2029-01-02T00:00:00Z',
        [['/from', 'range_too_long']],
      ],
      [
        'centuries hourly from a given to',
        'to=2026-01-01T00:00:00Z&from=1970-01-01T00:00:00Z',
        [['/from', 'range_too_long']],
      ],
    ];
    for (const [what, query, issues] of cases) {
      test(`${what} (${query.slice(0, 60)})`, async () => {
        const account = await createTestAccount(api);
        const res = await request(api.app)
          .get(`/v1/account/usage?${query}`)
          .set(account.auth)
          .expect(400)
          .expect('Content-Type', /^application\/json/);
        assert.equal(res.body.error.code, 'invalid_request');
        assert.deepEqual(
          res.body.error.issues.map((issue: { path: string; code: string }) => [issue.path, issue.code]),
          issues,
        );
      });
    }

    test('a very long value is refused without being echoed whole', async () => {
      const account = await createTestAccount(api);
      const res = await request(api.app)
        .get('/v1/account/usage')
        .query({ from: `2026-03-09T00:00:00Z${'9'.repeat(5000)}` })
        .set(account.auth)
        .expect(400);
      assert.equal(res.body.error.issues[0].code, 'invalid_value');
      assert.ok(JSON.stringify(res.body).length < 1000);
    });

    test('a valid instant with a very long fraction, refused for its order, is not echoed whole', async () => {
      const account = await createTestAccount(api);
      const res = await request(api.app)
        .get('/v1/account/usage')
        .query({ from: `2026-03-10T00:00:00.${'5'.repeat(5000)}Z`, to: '2026-03-09T00:00:00Z' })
        .set(account.auth)
        .expect(400);
      assert.equal(res.body.error.issues[0].code, 'inverted_range');
      assert.ok(JSON.stringify(res.body).length < 1000);
    });

    test('a range refused states the bound', async () => {
      const account = await createTestAccount(api);
      const res = await request(api.app)
        .get('/v1/account/usage')
        .query({ granularity: 'day', from: '2020-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' })
        .set(account.auth)
        .expect(400);
      assert.match(res.body.error.issues[0].message, /at most 366 days .* received 2192/);
    });

    test('an instant that is not one says what form is expected, naming the parameter once', async () => {
      const account = await createTestAccount(api);
      const res = await request(api.app).get('/v1/account/usage?from=soon').set(account.auth).expect(400);
      assert.equal(
        res.body.error.issues[0].message,
        'Expected a date and time in ISO 8601, such as 2026-01-31T09:00:00Z for from but received "soon"',
      );
    });

    test('a refusal is JSON even when CSV was asked for', async () => {
      const account = await createTestAccount(api);
      const res = await request(api.app)
        .get('/v1/account/usage?granularity=week')
        .set(account.auth)
        .set('Accept', 'text/csv')
        .expect(400)
        .expect('Content-Type', /^application\/json/);
      assert.equal(res.body.error.code, 'invalid_request');
    });
  });

  describe('when the client states what it accepts, then the representation follows its preference', () => {
    const range = { granularity: 'day', from: '2026-03-09T00:00:00Z', to: '2026-03-10T00:00:00Z' };
    const cases: [string, RegExp][] = [
      ['application/json', /^application\/json/],
      ['*/*', /^application\/json/],
      ['application/*', /^application\/json/],
      ['text/*', /^text\/csv; charset=utf-8$/],
      ['text/csv;q=0.5, application/json', /^application\/json/],
      ['application/json;q=0.1, text/csv', /^text\/csv/],
      ['image/png, text/csv;q=0.2', /^text\/csv/],
    ];
    for (const [accept, contentType] of cases) {
      test(`Accept: ${accept}`, async () => {
        const account = await createTestAccount(api);
        await request(api.app)
          .get('/v1/account/usage')
          .query(range)
          .set(account.auth)
          .set('Accept', accept)
          .expect(200)
          .expect('Content-Type', contentType)
          .expect('Vary', /Accept/);
      });
    }

    for (const accept of ['image/png', 'text/plain', 'application/xml, text/html', 'text/csv;q=0']) {
      test(`Accept: ${accept} is refused with 406 not_acceptable, in the JSON error format`, async () => {
        const account = await createTestAccount(api);
        const res = await request(api.app)
          .get('/v1/account/usage')
          .query(range)
          .set(account.auth)
          .set('Accept', accept)
          .expect(406)
          .expect('Content-Type', /^application\/json/);
        assert.equal(res.body.error.code, 'not_acceptable');
        assert.match(res.body.error.message, /application\/json or text\/csv/);
      });
    }
  });

  test('when the document is read, then the operation offers JSON and CSV and documents the 406', () => {
    const document = api.app.locals.openApiDocument as {
      paths: Record<string, Record<string, { responses: Record<string, { content?: object }> }>>;
    };
    const responses = document.paths['/v1/account/usage']!.get!.responses;
    assert.deepEqual(Object.keys(responses['200']!.content ?? {}), ['application/json', 'text/csv']);
    assert.deepEqual(Object.keys(responses['406']!.content ?? {}), ['application/json']);
  });

  test('when no token is sent, then 401', async () => {
    await request(api.app).get('/v1/account/usage').expect(401);
  });
});
