import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { openApiDocumentOf } from '../../../src/app/http-app.js';
import type { TransformGraph } from '../../../src/core/graph/graph.js';
import { advanceGraphRun, insertTriggeredRuns } from '../../../src/db/graph-runs.js';
import { pageTokenPattern as runPageTokenPattern } from '../../../src/api/page-token.js';
import {
  createTestAccount,
  createTestApi,
  TEST_UI_URL,
  type TestAccount,
  type TestApi,
} from '../../support/api-harness.js';

let api: TestApi;
let alice: TestAccount;
let bob: TestAccount;

const graph = (key: string): TransformGraph => ({
  transformUnits: [
    { type: 'StorageSource', storage: 'lake', bucket: 'in', key },
    { type: 'Resize', width: 10 },
    { type: 'ImageFormat', format: 'webp' },
    { type: 'StorageSink', storage: 'lake', bucket: 'out', key: 'x.webp' },
  ],
});

/** Starts a triggered run as ingress does: its read-model row, then the (fake) engine's workflow. */
async function startRun(
  account: TestAccount,
  workflowId: string,
  triggerId: string,
  key = 'a b.jpg',
  trigger: 's3' | 'webhook' = 's3',
) {
  const start = { accountId: account.accountId, workflowId, trigger, triggerId, graph: graph(key) };
  await insertTriggeredRuns(api.db, [start]);
  await api.orchestrator.startGraphRun(start);
}

before(async () => {
  api = await createTestApi();
  alice = await createTestAccount(api, 'alice');
  bob = await createTestAccount(api, 'bob');
  await startRun(alice, 's3/lake/in/photos/a b.jpg/00A1/rule_one', 'rule_one');
  await startRun(alice, 's3/lake/in/photos/c%d.jpg/00A2/rule_two', 'rule_two', 'c%d.jpg');
  await startRun(alice, 's3/lake/in/photos/e.jpg/00A3/rule_one', 'rule_one', 'e.jpg');
  await startRun(bob, 's3/lake/in/bob.jpg/00B1/rule_bob', 'rule_bob', 'bob.jpg');
  await startRun(alice, 'webhook/alice/hook_one/msg_1', 'hook_one', 'h.jpg', 'webhook');
  await advanceGraphRun(api.db, 's3/lake/in/photos/e.jpg/00A3/rule_one', {
    state: 'succeeded',
    sinks: [],
    failures: [],
  });
});
after(() => api.close());

describe('GET /v1/runs/{runId}', () => {
  test('when the run id is the encoded workflow ID (slashes as %2F), then the one run is returned with links', async () => {
    const workflowId = 's3/lake/in/photos/a b.jpg/00A1/rule_one';
    const res = await request(api.app)
      .get(`/v1/runs/${encodeURIComponent(workflowId)}`)
      .set(alice.auth)
      .expect(200);
    assert.equal(res.body.workflowId, workflowId);
    assert.equal(res.body.runId, encodeURIComponent(workflowId));
    assert.equal(res.body.state, 'queued');
    assert.equal(res.body.statusUrl, `/v1/runs/${encodeURIComponent(workflowId)}`);
    assert.equal(
      res.body.temporalUiUrl,
      `${TEST_UI_URL}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`,
    );
    assert.deepEqual(res.body.sinks, []);
  });

  test('when the key had a % sign, then its encoded id still finds the run', async () => {
    const workflowId = 's3/lake/in/photos/c%d.jpg/00A2/rule_two';
    await request(api.app)
      .get(`/v1/runs/${encodeURIComponent(workflowId)}`)
      .set(alice.auth)
      .expect(200);
  });

  test('when another account asks for the run, then 404 run_not_found', async () => {
    const res = await request(api.app)
      .get(`/v1/runs/${encodeURIComponent('s3/lake/in/photos/a b.jpg/00A1/rule_one')}`)
      .set(bob.auth)
      .expect(404);
    assert.equal(res.body.error.code, 'run_not_found');
  });

  test('when the run does not exist, is malformed or too long, then 404 run_not_found', async () => {
    for (const runId of ['nothing', encodeURIComponent('s3/x/y'), 'x'.repeat(3000)]) {
      const res = await request(api.app).get(`/v1/runs/${runId}`).set(alice.auth).expect(404);
      assert.equal(res.body.error.code, 'run_not_found');
    }
  });

  test('when the path segment is badly encoded, then 400 and not a 500', async () => {
    const res = await request(api.app).get('/v1/runs/%E0%A4%A').set(alice.auth);
    assert.ok(res.status === 400 || res.status === 404, String(res.status));
  });

  test('when no token is sent, then 401', async () => {
    await request(api.app)
      .get(`/v1/runs/${encodeURIComponent('s3/lake/in/photos/a b.jpg/00A1/rule_one')}`)
      .expect(401);
  });

  test('when the engine is down, then the run still answers from the read model', async () => {
    api.orchestrator.down = true;
    try {
      const res = await request(api.app)
        .get(`/v1/runs/${encodeURIComponent('s3/lake/in/photos/e.jpg/00A3/rule_one')}`)
        .set(alice.auth)
        .expect(200);
      assert.equal(res.body.state, 'succeeded');
      assert.ok(res.body.finishedAt);
    } finally {
      api.orchestrator.down = false;
    }
  });

  test('when the id is a batch graph’s workflow ID, then 404 run_not_found (batch graphs are read through their batch)', async () => {
    const res = await request(api.app)
      .get(`/v1/runs/${encodeURIComponent(`graph/${alice.accountId}/b_x/0`)}`)
      .set(alice.auth)
      .expect(404);
    assert.equal(res.body.error.code, 'run_not_found');
  });
});

describe('GET /v1/runs', () => {
  test('when listed without filters, then rule and hook runs of the account come together, newest first', async () => {
    const res = await request(api.app).get('/v1/runs').set(alice.auth).expect(200);
    assert.deepEqual(
      res.body.runs.map((run: { trigger: string; ruleId?: string; hookId?: string }) => [
        run.trigger,
        run.ruleId ?? run.hookId,
      ]),
      [
        ['webhook', 'hook_one'],
        ['s3', 'rule_one'],
        ['s3', 'rule_two'],
        ['s3', 'rule_one'],
      ],
    );
  });

  test('when filtered by hook, then only that hook’s runs; a rule and a hook together find nothing', async () => {
    const byHook = await request(api.app).get('/v1/runs?hook=hook_one').set(alice.auth).expect(200);
    assert.deepEqual(
      byHook.body.runs.map((run: { workflowId: string }) => run.workflowId),
      ['webhook/alice/hook_one/msg_1'],
    );
    const both = await request(api.app)
      .get('/v1/runs?hook=hook_one&rule=rule_one')
      .set(alice.auth)
      .expect(200);
    assert.deepEqual(both.body.runs, []);
  });

  test('when the trigger is not one of s3 or webhook, then 400 invalid_request at /trigger', async () => {
    const res = await request(api.app).get('/v1/runs?trigger=api').set(alice.auth).expect(400);
    assert.equal(res.body.error.issues[0].path, '/trigger');
  });
});

describe('GET /v1/events/s3/runs', () => {
  test('when listed, then only the account’s s3 runs, newest first, with status URLs and rule ids', async () => {
    const res = await request(api.app).get('/v1/events/s3/runs').set(alice.auth).expect(200);
    assert.deepEqual(
      res.body.runs.map((run: { ruleId: string }) => run.ruleId),
      ['rule_one', 'rule_two', 'rule_one'],
    );
    const [first] = res.body.runs as {
      workflowId: string;
      statusUrl: string;
      runId: string;
      source: string;
    }[];
    assert.equal(first!.statusUrl, `/v1/runs/${encodeURIComponent(first!.workflowId)}`);
    assert.equal(first!.runId, encodeURIComponent(first!.workflowId));
    assert.equal(first!.source, 'in/e.jpg');
    assert.equal(res.body.nextPageToken, undefined);
  });

  test('when filtered by rule and state, then only those runs', async () => {
    const byRule = await request(api.app).get('/v1/events/s3/runs?rule=rule_two').set(alice.auth).expect(200);
    assert.deepEqual(
      byRule.body.runs.map((run: { workflowId: string }) => run.workflowId),
      ['s3/lake/in/photos/c%d.jpg/00A2/rule_two'],
    );
    const byState = await request(api.app)
      .get('/v1/events/s3/runs?state=succeeded')
      .set(alice.auth)
      .expect(200);
    assert.equal(byState.body.runs.length, 1);
    assert.equal(byState.body.runs[0].state, 'succeeded');
  });

  test('when filtered by time, then runs outside the window are left out', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const none = await request(api.app)
      .get(`/v1/events/s3/runs?since=${encodeURIComponent(future)}`)
      .set(alice.auth)
      .expect(200);
    assert.deepEqual(none.body.runs, []);
    const all = await request(api.app)
      .get(`/v1/events/s3/runs?until=${encodeURIComponent(future)}`)
      .set(alice.auth)
      .expect(200);
    assert.equal(all.body.runs.length, 3);
  });

  test('when paged, then pageSize bounds each page and nextPageToken continues', async () => {
    const first = await request(api.app).get('/v1/events/s3/runs?pageSize=2').set(alice.auth).expect(200);
    assert.equal(first.body.runs.length, 2);
    assert.ok(first.body.nextPageToken);
    const second = await request(api.app)
      .get(`/v1/events/s3/runs?pageSize=2&pageToken=${encodeURIComponent(first.body.nextPageToken)}`)
      .set(alice.auth)
      .expect(200);
    assert.equal(second.body.runs.length, 1);
    assert.equal(second.body.nextPageToken, undefined);
  });

  for (const [query, path] of [
    ['pageSize=0', '/pageSize'],
    ['pageSize=101', '/pageSize'],
    ['pageSize=ten', '/pageSize'],
    ['state=exploded', '/state'],
    ['since=yesterday', '/since'],
    ['until=2026-13-45T00:00:00Z', '/until'],
    ['color=blue', '/color'],
    ['rule=a&rule=b', '/rule'],
    ['pageSize=', '/pageSize'],
    ['pageSize=0x10', '/pageSize'],
    ['pageSize=1e1', '/pageSize'],
    ['pageToken=garbage', '/pageToken'],
  ] as const) {
    test(`when the query has ${query}, then 400 invalid_request at ${path}`, async () => {
      const res = await request(api.app).get(`/v1/events/s3/runs?${query}`).set(alice.auth).expect(400);
      assert.equal(res.body.error.code, 'invalid_request');
      assert.ok(
        res.body.error.issues.some((issue: { path: string }) => issue.path === path),
        JSON.stringify(res.body.error.issues),
      );
    });
  }

  test('when pageSize is out of range or not an integer, then the message says what was received', async () => {
    for (const [value, message] of [
      ['101', 'Expected a number <= 100 for pageSize but received 101'],
      ['0', 'Expected a number >= 1 for pageSize but received 0'],
      ['ten', 'Expected a number for pageSize but received "ten"'],
      ['', 'Expected a number for pageSize but received ""'],
      ['1.5', 'Expected an integer for pageSize but received 1.5'],
    ] as const) {
      const res = await request(api.app)
        .get(`/v1/events/s3/runs?pageSize=${value}`)
        .set(alice.auth)
        .expect(400);
      assert.equal(res.body.error.message, 'The query is invalid');
      assert.deepEqual(
        res.body.error.issues.map((issue: { message: string }) => issue.message),
        [message],
      );
    }
  });

  test('when the pageToken is not one this API handed out, then 400 invalid_request at once, without asking the engine', async () => {
    const first = await request(api.app).get('/v1/events/s3/runs?pageSize=2').set(alice.auth).expect(200);
    const token = first.body.nextPageToken as string;
    const altered = `${token.slice(0, 5)}${token[5] === 'A' ? 'B' : 'A'}${token.slice(6)}`;
    const madeUp = [
      'garbage',
      'garbagegarbagegarbage',
      token.slice(0, -2),
      altered,
      `${token}A`,
      `${token}==`,
      '%E2%9C%93'.repeat(8),
      'A'.repeat(9000),
    ];
    // An engine that is down answers 503: a 400 shows the token was refused before it was asked.
    api.orchestrator.down = true;
    try {
      for (const pageToken of madeUp) {
        const res = await request(api.app)
          .get(`/v1/events/s3/runs?pageToken=${pageToken}`)
          .set(alice.auth)
          .expect(400);
        assert.equal(res.body.error.code, 'invalid_request', pageToken);
        assert.deepEqual(
          res.body.error.issues.map((issue: { path: string; message: string }) => [
            issue.path,
            issue.message.replace(/ but received .*$/, ''),
          ]),
          [['/pageToken', 'Expected a nextPageToken this API returned for pageToken']],
          pageToken,
        );
      }
    } finally {
      api.orchestrator.down = false;
    }
    await request(api.app)
      .get(`/v1/events/s3/runs?pageSize=2&pageToken=${token}`)
      .set(alice.auth)
      .expect(200);
  });

  test('when no token is sent, then 401 (the list is not part of the token-free ingress)', async () => {
    await request(api.app).get('/v1/events/s3/runs').expect(401);
  });
});

describe('OpenAPI document: triggered runs', () => {
  interface Parameter {
    name: string;
    description?: string;
    schema: { type?: string; minimum?: number; maximum?: number; pattern?: string };
  }
  const listParameters = () =>
    (openApiDocumentOf(api.app).paths?.['/v1/events/s3/runs']?.get?.parameters ?? []) as Parameter[];

  test('when fetched, then the run list and the run are documented', () => {
    const paths = openApiDocumentOf(api.app).paths ?? {};
    assert.ok(paths['/v1/events/s3/runs']?.get, 'get /v1/events/s3/runs');
    assert.ok(paths['/v1/runs/{runId}']?.get, 'get /v1/runs/{runId}');
  });

  test('when the run list query is documented, then its parameters are there with their bounds', () => {
    const parameters = listParameters();
    assert.deepEqual(parameters.map((p) => p.name).sort(), [
      'pageSize',
      'pageToken',
      'rule',
      'since',
      'state',
      'until',
    ]);
    const pageSize = parameters.find((p) => p.name === 'pageSize')!;
    assert.equal(pageSize.schema.maximum, 100);
  });

  test('when pageSize is at either documented bound, then the server accepts it, and one past either bound is refused', async () => {
    const { minimum, maximum, type } = listParameters().find((p) => p.name === 'pageSize')!.schema;
    assert.equal(type, 'integer');
    for (const pageSize of [minimum!, maximum!]) {
      await request(api.app).get(`/v1/events/s3/runs?pageSize=${pageSize}`).set(alice.auth).expect(200);
    }
    for (const pageSize of [minimum! - 1, maximum! + 1]) {
      await request(api.app).get(`/v1/events/s3/runs?pageSize=${pageSize}`).set(alice.auth).expect(400);
    }
  });

  test('when the page token is documented, then its form is the one the server checks first', () => {
    const pageToken = listParameters().find((p) => p.name === 'pageToken')!;
    assert.equal(pageToken.schema.pattern, runPageTokenPattern.source);
    assert.match(pageToken.description ?? '', /refused with 400/);
  });
});
