import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { parseExposition } from '../../support/prometheus-text.js';
import { describeValue } from '../../../src/core/graph/issues.js';
import { findHookMessage, newHookId, updateHook } from '../../../src/db/inbound-hooks.js';
import { createApp } from '../../../src/app/http-app.js';
import { HOOK_MAX_BODY_BYTES } from '../../../src/features/inbound-hooks/inbound-hooks.schemas.js';
import {
  createTestAccount,
  createTestApi,
  TEST_UI_URL,
  type TestAccount,
  type TestApi,
} from '../../support/api-harness.js';
import { FakeOrchestrator } from '../../support/fake-orchestrator.js';

let api: TestApi;
before(async () => {
  api = await createTestApi();
});
after(() => api.close());

const template = {
  transformUnits: [
    { type: 'Resize', width: 320 },
    { type: 'ImageFormat', format: 'webp' },
    { type: 'StorageSink', bucket: '{bucket}', key: 'thumbs/{dir}/{name}.webp' },
  ],
};
const mapping = { bucket: { pointer: '/data/bucket' }, key: { pointer: '/data/object/key' } };

interface CreatedHook {
  hookId: string;
  secret: string;
  triggerUrl: string;
}

async function createHook(
  account: TestAccount,
  overrides: Record<string, unknown> = {},
): Promise<CreatedHook> {
  const res = await request(api.app)
    .post('/v1/hooks')
    .set(account.auth)
    .send({ name: 'CMS uploads', mapping, template, ...overrides })
    .expect(201);
  return res.body as CreatedHook;
}

/** Standard Webhooks headers, signed by hand: HMAC-SHA256 over `<id>.<timestamp>.<body>`. */
function sign(
  secret: string,
  body: string | Buffer,
  options: { id?: string; timestamp?: number } = {},
): Record<string, string> {
  const id = options.id ?? `msg_${randomBytes(8).toString('hex')}`;
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const mac = createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64'))
    .update(Buffer.concat([Buffer.from(`${id}.${timestamp}.`), Buffer.from(body)]))
    .digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${mac}` };
}

const uploadEvent = (key = 'in/2024/cat.jpg', bucket = 'photos') =>
  JSON.stringify({ type: 'object.created', data: { bucket, object: { key } } });

function trigger(hookId: string, body: string | Buffer, headers: Record<string, string>) {
  return (
    request(api.app)
      .post(`/v1/hooks/${hookId}`)
      // superagent would re-encode a Buffer sent as JSON; the route reads raw bytes of any media type.
      .set('Content-Type', Buffer.isBuffer(body) ? 'application/octet-stream' : 'application/json')
      .set(headers)
      .send(body)
  );
}

function runsOf(hookId: string) {
  return api.orchestrator.startedGraphRuns().filter((run) => run.triggerId === hookId);
}

/** The promise every refused trigger keeps: nothing started (for that message, if named), nothing recorded. */
async function assertNothingStarted(hookId: string, webhookId?: string): Promise<void> {
  const runs = runsOf(hookId).filter((run) => !webhookId || run.workflowId.endsWith(`/${webhookId}`));
  assert.deepEqual(runs, [], 'no run was started');
  if (webhookId)
    assert.equal(await findHookMessage(api.db, hookId, webhookId), undefined, 'nothing recorded');
}

function assertError(res: request.Response, status: number, code: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.error.code, code);
}

describe('inbound hooks: management', () => {
  test('when a hook is created, then it answers 201 with the secret once and the trigger URL, and lists without it', async () => {
    const account = await createTestAccount(api);
    const res = await request(api.app)
      .post('/v1/hooks')
      .set(account.auth)
      .send({ name: 'CMS uploads', mapping, template })
      .expect(201)
      .expect('Cache-Control', 'no-store');
    assert.match(res.body.hookId, /^hook_[0-9a-z]{32}$/);
    assert.match(res.body.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(res.body.triggerUrl, `/v1/hooks/${res.body.hookId}`);
    assert.equal(res.headers.location, res.body.triggerUrl);
    assert.deepEqual(
      { ...res.body, createdAt: undefined, updatedAt: undefined, secret: undefined },
      {
        hookId: res.body.hookId,
        name: 'CMS uploads',
        enabled: true,
        mapping,
        template,
        triggerUrl: res.body.triggerUrl,
        previousSecretExpiresAt: null,
        createdAt: undefined,
        updatedAt: undefined,
        secret: undefined,
      },
    );

    const list = await request(api.app).get('/v1/hooks').set(account.auth).expect(200);
    assert.equal(list.body.hooks.length, 1);
    assert.equal(list.body.hooks[0].secret, undefined);
    assert.doesNotMatch(JSON.stringify(list.body), /whsec_|v1\./);
    const one = await request(api.app).get(`/v1/hooks/${res.body.hookId}`).set(account.auth).expect(200);
    assert.deepEqual(one.body, list.body.hooks[0]);
  });

  test('when the template or mapping is invalid, then it is refused with a precise code and nothing is stored', async () => {
    const account = await createTestAccount(api);
    const post = (body: Record<string, unknown>) =>
      request(api.app).post('/v1/hooks').set(account.auth).send(body);

    const withSource = await post({
      name: 'x',
      mapping,
      template: { transformUnits: [{ type: 'StorageSource', bucket: 'photos', key: 'a.jpg' }] },
    });
    assertError(withSource, 422, 'invalid_graph');
    assert.equal(withSource.body.error.issues[0].path, '/template/transformUnits/0');

    const badUnit = await post({
      name: 'x',
      mapping,
      template: { transformUnits: [{ type: 'Resize', width: -1 }] },
    });
    assertError(badUnit, 422, 'invalid_graph');
    assert.match(badUnit.body.error.issues[0].path, /^\/template\/transformUnits\/0/);

    assertError(await post({ name: 'x', mapping }), 422, 'invalid_body');
    assertError(
      await post({ name: 'x', mapping: { bucket: { pointer: 'nope' }, key: { pointer: '/k' } }, template }),
      422,
      'invalid_body',
    );
    for (const pointer of ['nope', '/a~2b', `/${'a/'.repeat(32)}b`]) {
      const badPointer = await post({ name: 'x', mapping: { ...mapping, key: { pointer } }, template });
      assertError(badPointer, 422, 'invalid_body');
      assert.deepEqual(badPointer.body.error.issues, [
        {
          path: '/mapping/key/pointer',
          code: 'invalid_value',
          message: `Expected a JSON pointer: empty, or up to 32 "/"-separated segments where "~" is only ~0 or ~1 for pointer but received ${describeValue(pointer)}`,
        },
      ]);
    }
    const controlName = await post({ name: 'CMS\u0007uploads', mapping, template });
    assertError(controlName, 422, 'invalid_body');
    assert.deepEqual(
      controlName.body.error.issues.map((issue: { path: string; code: string }) => [issue.path, issue.code]),
      [['/name', 'invalid_value']],
    );
    assertError(await post({ name: 'x', mapping, template, secret: 'whsec_mine' }), 422, 'invalid_body');
    assertError(await post({ name: '', mapping, template }), 422, 'invalid_body');

    const unknownConnection = await post({
      name: 'x',
      mapping: { ...mapping, connection: 'elsewhere' },
      template,
    });
    assertError(unknownConnection, 422, 'invalid_body');
    assert.equal(unknownConnection.body.error.issues[0].path, '/mapping/connection');

    const notGranted = await post({
      name: 'x',
      mapping: { bucket: { value: 'secret-bucket' }, key: { pointer: '/k' } },
      template,
    });
    assertError(notGranted, 403, 'access_denied');

    const notJson = await request(api.app)
      .post('/v1/hooks')
      .set(account.auth)
      .set('Content-Type', 'text/plain')
      .send('x');
    assertError(notJson, 415, 'unsupported_media_type');

    const list = await request(api.app).get('/v1/hooks').set(account.auth).expect(200);
    assert.deepEqual(list.body.hooks, []);
  });

  test('when a template or a change breaks the documented schema, then 422 points into the body and nothing changes', async () => {
    const account = await createTestAccount(api);
    const post = (body: Record<string, unknown>) =>
      request(api.app).post('/v1/hooks').set(account.auth).send(body);

    // The documented TransformGraph: no unknown fields, transformUnits an array of units.
    const unknownField = await post({ name: 'x', mapping, template: { ...template, colour: 'red' } });
    assertError(unknownField, 422, 'invalid_graph');
    assert.deepEqual(
      unknownField.body.error.issues.map((issue: { path: string }) => issue.path),
      ['/template/colour'],
    );
    const notUnits = await post({ name: 'x', mapping, template: { transformUnits: 'Resize' } });
    assertError(notUnits, 422, 'invalid_graph');
    assert.equal(notUnits.body.error.issues[0].path, '/template/transformUnits');
    // A template is required on creation; its absence is a field of the body, not a graph problem.
    const noTemplate = await post({ name: 'x', mapping });
    assert.deepEqual(
      noTemplate.body.error.issues.map((issue: { path: string; code: string }) => [issue.path, issue.code]),
      [['/template', 'missing_field']],
    );
    assert.deepEqual((await request(api.app).get('/v1/hooks').set(account.auth).expect(200)).body.hooks, []);

    const hook = await createHook(account);
    const empty = await request(api.app).patch(`/v1/hooks/${hook.hookId}`).set(account.auth).send({});
    assertError(empty, 422, 'invalid_body');
    assert.equal(
      empty.body.error.issues[0].message,
      'Expected at least one field to change for the hook but received an object',
    );
  });

  test('when no access token is sent, then management answers 401', async () => {
    assertError(await request(api.app).get('/v1/hooks'), 401, 'unauthorized');
    assertError(
      await request(api.app).post('/v1/hooks').send({ name: 'x', mapping, template }),
      401,
      'unauthorized',
    );
    assertError(await request(api.app).post(`/v1/hooks/${newHookId()}/rotate-secret`), 401, 'unauthorized');
  });

  test('when a hook is changed, then name, mapping, template and enabled change and invalid changes are refused', async () => {
    const account = await createTestAccount(api);
    const hook = await createHook(account);
    const patch = (body: unknown) =>
      request(api.app)
        .patch(`/v1/hooks/${hook.hookId}`)
        .set(account.auth)
        .send(body as object);

    const changed = await patch({
      name: 'Renamed',
      enabled: false,
      mapping: { bucket: { value: 'photos' }, key: { pointer: '/key' } },
    }).expect(200);
    assert.equal(changed.body.name, 'Renamed');
    assert.equal(changed.body.enabled, false);
    assert.deepEqual(changed.body.mapping, { bucket: { value: 'photos' }, key: { pointer: '/key' } });

    assertError(await patch({}), 422, 'invalid_body');
    assertError(
      await patch({ mapping: { bucket: { value: 'not-granted' }, key: { pointer: '/k' } } }),
      403,
      'access_denied',
    );
    assertError(await patch({ template: { transformUnits: [] } }), 422, 'invalid_graph');
    assertError(await patch({ enabled: 'yes' }), 422, 'invalid_body');
    assertError(await patch({ hookId: 'hook_other' }), 422, 'invalid_body');
    const after = await request(api.app).get(`/v1/hooks/${hook.hookId}`).set(account.auth).expect(200);
    assert.equal(after.body.name, 'Renamed');
    assert.deepEqual(after.body.template, template);
  });

  test('when another account names a hook, then every management call answers 404 and changes nothing', async () => {
    const owner = await createTestAccount(api);
    const other = await createTestAccount(api);
    const hook = await createHook(owner);
    const path = `/v1/hooks/${hook.hookId}`;
    assertError(await request(api.app).get(path).set(other.auth), 404, 'not_found');
    assertError(
      await request(api.app).patch(path).set(other.auth).send({ enabled: false }),
      404,
      'not_found',
    );
    assertError(await request(api.app).delete(path).set(other.auth), 404, 'not_found');
    assertError(await request(api.app).post(`${path}/rotate-secret`).set(other.auth), 404, 'not_found');
    assert.deepEqual((await request(api.app).get('/v1/hooks').set(other.auth).expect(200)).body.hooks, []);
    const still = await request(api.app).get(path).set(owner.auth).expect(200);
    assert.equal(still.body.enabled, true);
    assertError(await request(api.app).get('/v1/hooks/not-a-hook-id').set(owner.auth), 404, 'not_found');
  });

  test('when a hook is deleted, then it answers 204 and its trigger URL answers 404', async () => {
    const account = await createTestAccount(api);
    const hook = await createHook(account);
    await request(api.app).delete(`/v1/hooks/${hook.hookId}`).set(account.auth).expect(204);
    assertError(await request(api.app).get(`/v1/hooks/${hook.hookId}`).set(account.auth), 404, 'not_found');
    const body = uploadEvent();
    assertError(await trigger(hook.hookId, body, sign(hook.secret, body)), 404, 'hook_not_found');
    await assertNothingStarted(hook.hookId);
  });

  test('when the secret is rotated, then the new and the old secret both work for 24 hours, then only the new one', async () => {
    const account = await createTestAccount(api);
    const hook = await createHook(account);
    const rotated = await request(api.app)
      .post(`/v1/hooks/${hook.hookId}/rotate-secret`)
      .set(account.auth)
      .expect(200)
      .expect('Cache-Control', 'no-store');
    assert.notEqual(rotated.body.secret, hook.secret);
    const grace = Date.parse(rotated.body.previousSecretExpiresAt) - Date.now();
    assert.ok(grace > 23 * 3600_000 && grace <= 24 * 3600_000, `grace ${grace}`);

    const body = uploadEvent();
    await trigger(hook.hookId, body, sign(rotated.body.secret, body)).expect(202);
    await trigger(hook.hookId, body, sign(hook.secret, body)).expect(202);
    assert.equal(runsOf(hook.hookId).length, 2);

    await updateHook(api.db, account.accountId, hook.hookId, {
      previousSecretExpiresAt: new Date(Date.now() - 1000),
    });
    const expired = sign(hook.secret, body);
    assertError(await trigger(hook.hookId, body, expired), 401, 'invalid_signature');
    assert.equal(runsOf(hook.hookId).length, 2);
  });
});

describe('inbound hooks: POST /v1/hooks/{hookId}', () => {
  let account: TestAccount;
  let hook: CreatedHook;
  before(async () => {
    account = await createTestAccount(api);
    hook = await createHook(account);
  });

  test('when the request is signed with the hook secret, then it answers 202 with the run and starts one graph from the body', async () => {
    const body = uploadEvent('in/2024/cat.jpg');
    const headers = sign(hook.secret, body, { id: 'msg_first' });
    const res = await trigger(hook.hookId, body, headers).expect(202);

    const workflowId = `hook/${account.accountId}/${hook.hookId}/msg_first`;
    const runId = encodeURIComponent(workflowId);
    assert.deepEqual(res.body, {
      runId,
      workflowId,
      statusUrl: `/v1/runs/${runId}`,
      duplicate: false,
      temporalUiUrl: `${TEST_UI_URL}/namespaces/default/workflows/${runId}`,
    });
    assert.equal(res.headers.location, `/v1/runs/${runId}`);
    const runs = runsOf(hook.hookId);
    assert.equal(runs.length, 1);
    assert.deepEqual(runs[0], {
      accountId: account.accountId,
      workflowId,
      trigger: 'webhook',
      triggerId: hook.hookId,
      graph: {
        transformUnits: [
          { type: 'StorageSource', storage: 'default', bucket: 'photos', key: 'in/2024/cat.jpg' },
          { type: 'Resize', width: 320 },
          { type: 'ImageFormat', format: 'webp' },
          { type: 'StorageSink', storage: 'default', bucket: 'photos', key: 'thumbs/in/2024/cat.webp' },
        ],
      },
    });
    assert.equal((await findHookMessage(api.db, hook.hookId, 'msg_first'))?.workflowId, workflowId);
  });

  test('when the same webhook-id arrives again, re-signed later, then it answers 202 duplicate with the same run and starts nothing', async () => {
    const body = uploadEvent('in/dup.jpg');
    const first = await trigger(hook.hookId, body, sign(hook.secret, body, { id: 'msg_dup' })).expect(202);
    const retried = sign(hook.secret, body, { id: 'msg_dup', timestamp: Math.floor(Date.now() / 1000) + 30 });
    const second = await trigger(hook.hookId, body, retried).expect(202);
    assert.equal(first.body.duplicate, false);
    assert.equal(second.body.duplicate, true);
    assert.equal(second.body.runId, first.body.runId);
    assert.equal(runsOf(hook.hookId).filter((run) => run.workflowId.endsWith('/msg_dup')).length, 1);
  });

  test('when the same webhook-id arrives after a restart with an engine that forgot the run, then the database answers duplicate and nothing starts', async () => {
    const body = uploadEvent('in/restart.jpg');
    const first = await trigger(hook.hookId, body, sign(hook.secret, body, { id: 'msg_restart' })).expect(
      202,
    );
    // A new API process over the same database; its engine has no record of the workflow ID.
    const freshEngine = new FakeOrchestrator(api.config.temporal.uiUrl);
    const restarted = createApp({
      db: api.db,
      orchestrator: freshEngine,
      config: api.config,
      jwtSecret: api.jwtSecret,
    });
    const again = await request(restarted)
      .post(`/v1/hooks/${hook.hookId}`)
      .set('Content-Type', 'application/json')
      .set(sign(hook.secret, body, { id: 'msg_restart' }))
      .send(body)
      .expect(202);
    assert.equal(again.body.duplicate, true);
    assert.equal(again.body.runId, first.body.runId);
    assert.deepEqual(freshEngine.startedGraphRuns(), []);
    assert.equal(freshEngine.calls.filter((call) => call.method === 'startGraphRun').length, 0);
  });

  test('when two copies of one message race, then both answer the same run and one run starts', async () => {
    const body = uploadEvent('in/race.jpg');
    api.orchestrator.startDelayMs = 30;
    try {
      const [a, b] = await Promise.all([
        trigger(hook.hookId, body, sign(hook.secret, body, { id: 'msg_race' })),
        trigger(hook.hookId, body, sign(hook.secret, body, { id: 'msg_race' })),
      ]);
      assert.equal(a.status, 202);
      assert.equal(b.status, 202);
      assert.equal(a.body.runId, b.body.runId);
      assert.deepEqual([a.body.duplicate, b.body.duplicate].sort(), [false, true]);
    } finally {
      api.orchestrator.startDelayMs = 0;
    }
    assert.equal(runsOf(hook.hookId).filter((run) => run.workflowId.endsWith('/msg_race')).length, 1);
  });

  describe('when the signature does not hold', () => {
    const now = () => Math.floor(Date.now() / 1000);
    const cases: [string, (secret: string, body: string) => Record<string, string>][] = [
      [
        'a signature made with another secret',
        (_secret, body) => sign(`whsec_${randomBytes(32).toString('base64')}`, body, { id: 'msg_bad' }),
      ],
      [
        'a signature over another body',
        (secret) => sign(secret, uploadEvent('in/other.jpg'), { id: 'msg_bad' }),
      ],
      [
        'a timestamp six minutes old',
        (secret, body) => sign(secret, body, { id: 'msg_bad', timestamp: now() - 360 }),
      ],
      [
        'a timestamp six minutes ahead',
        (secret, body) => sign(secret, body, { id: 'msg_bad', timestamp: now() + 360 }),
      ],
      [
        'no webhook-signature',
        (secret, body) => omit(sign(secret, body, { id: 'msg_bad' }), 'webhook-signature'),
      ],
      ['no webhook-id', (secret, body) => omit(sign(secret, body, { id: 'msg_bad' }), 'webhook-id')],
      [
        'no webhook-timestamp',
        (secret, body) => omit(sign(secret, body, { id: 'msg_bad' }), 'webhook-timestamp'),
      ],
      [
        'a timestamp that is not a number',
        (secret, body) => ({ ...sign(secret, body, { id: 'msg_bad' }), 'webhook-timestamp': 'soon' }),
      ],
    ];
    for (const [what, headersFor] of cases) {
      test(`when the request has ${what}, then it answers 401 invalid_signature and starts and records nothing`, async () => {
        const fresh = await createHook(account);
        const body = uploadEvent();
        const res = await trigger(fresh.hookId, body, headersFor(fresh.secret, body));
        assertError(res, 401, 'invalid_signature');
        await assertNothingStarted(fresh.hookId, 'msg_bad');
      });
    }

    test('when each cause fails, then the message says which, under the same code', async () => {
      const body = uploadEvent();
      const messages = new Set<string>();
      for (const headers of [
        sign(`whsec_${randomBytes(32).toString('base64')}`, body),
        sign(hook.secret, body, { timestamp: now() - 360 }),
        sign(hook.secret, body, { timestamp: now() + 360 }),
        omit(sign(hook.secret, body), 'webhook-id'),
      ]) {
        const res = await trigger(hook.hookId, body, headers);
        assertError(res, 401, 'invalid_signature');
        messages.add(res.body.error.message as string);
      }
      assert.equal(messages.size, 4);
    });
  });

  test('when a request carries no signature headers, then it answers 401 before its hook is looked up or its body read', async () => {
    const fresh = await createHook(account);
    const body = uploadEvent();
    assertError(await trigger(newHookId(), body, {}), 401, 'invalid_signature');
    const unsigned = await trigger(fresh.hookId, 'x'.repeat(HOOK_MAX_BODY_BYTES + 1), {});
    assertError(unsigned, 401, 'invalid_signature');
    const stale = sign(fresh.secret, body, { timestamp: Math.floor(Date.now() / 1000) - 360 });
    assertError(await trigger(newHookId(), body, stale), 401, 'invalid_signature');
    await assertNothingStarted(fresh.hookId);
  });

  test('when the webhook-id is not 1 to 256 visible ASCII characters, then 400 names the header before any signature is checked', async () => {
    const body = uploadEvent();
    const headers = { ...sign(hook.secret, uploadEvent('in/other.jpg')), 'webhook-id': 'msg with space' };
    const res = await trigger(hook.hookId, body, headers);
    assertError(res, 400, 'invalid_request');
    assert.deepEqual(
      res.body.error.issues.map((issue: { path: string }) => issue.path),
      ['/webhook-id'],
    );
    await assertNothingStarted(hook.hookId, 'msg with space');
  });

  test('when the body comes without a Content-Type, then it is verified and run like any other', async () => {
    const body = uploadEvent('in/untyped.jpg');
    // A Buffer with no type set goes out without a Content-Type header.
    const res = await request(api.app)
      .post(`/v1/hooks/${hook.hookId}`)
      .set(sign(hook.secret, body, { id: 'msg_untyped' }))
      .send(Buffer.from(body));
    assert.equal(res.request.getHeader('Content-Type'), undefined);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(runsOf(hook.hookId).filter((run) => run.workflowId.endsWith('/msg_untyped')).length, 1);
  });

  test('when the hook is unknown, malformed, disabled or deleted, then it answers 404 hook_not_found alike', async () => {
    const disabled = await createHook(account, { enabled: false });
    const body = uploadEvent();
    const answers = [];
    for (const [hookId, secret] of [
      [newHookId(), hook.secret],
      ['hook_short', hook.secret],
      ['..%2F..%2Fadmin', hook.secret],
      [disabled.hookId, disabled.secret],
    ] as const) {
      const res = await trigger(hookId, body, sign(secret, body));
      assertError(res, 404, 'hook_not_found');
      answers.push(res.body);
    }
    assert.equal(new Set(answers.map((answer) => JSON.stringify(answer))).size, 1);
    await assertNothingStarted(disabled.hookId);
  });

  test('when a request for one hook is signed with another account’s hook secret, then it answers 401', async () => {
    const stranger = await createTestAccount(api);
    const theirs = await createHook(stranger);
    const body = uploadEvent();
    const headers = sign(theirs.secret, body, { id: 'msg_cross' });
    assertError(await trigger(hook.hookId, body, headers), 401, 'invalid_signature');
    await assertNothingStarted(hook.hookId, 'msg_cross');
    await assertNothingStarted(theirs.hookId, 'msg_cross');
  });

  describe('when the body is hostile but signed', () => {
    const hostile: [string, string | Buffer, number, string, string?][] = [
      ['invalid JSON', '{"data": {', 400, 'invalid_json'],
      ['an empty body', '', 400, 'invalid_json'],
      ['bytes that are not UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 400, 'invalid_json'],
      [
        'a JSON array',
        '[{"data":{"bucket":"photos","object":{"key":"a.jpg"}}}]',
        422,
        'invalid_hook_payload',
        '',
      ],
      ['a JSON number', '42', 422, 'invalid_hook_payload', ''],
      ['a JSON string', '"in/cat.jpg"', 422, 'invalid_hook_payload', ''],
      [
        'a missing key',
        JSON.stringify({ data: { bucket: 'photos' } }),
        422,
        'invalid_hook_payload',
        '/data/object/key',
      ],
      [
        'a key that is a number',
        JSON.stringify({ data: { bucket: 'photos', object: { key: 7 } } }),
        422,
        'invalid_hook_payload',
        '/data/object/key',
      ],
      [
        'a key that is an object',
        JSON.stringify({ data: { bucket: 'photos', object: { key: { a: 1 } } } }),
        422,
        'invalid_hook_payload',
        '/data/object/key',
      ],
      [
        'a bucket that is an array',
        JSON.stringify({ data: { bucket: ['photos'], object: { key: 'a.jpg' } } }),
        422,
        'invalid_hook_payload',
        '/data/bucket',
      ],
      [
        'a key with ".."',
        uploadEvent('in/../../etc/passwd'),
        422,
        'invalid_hook_payload',
        '/data/object/key',
      ],
      [
        'a key with control characters',
        uploadEvent('in/cat\r\n.jpg'),
        422,
        'invalid_hook_payload',
        '/data/object/key',
      ],
      [
        'a bucket name that is not one',
        uploadEvent('in/cat.jpg', 'Photos/../x'),
        422,
        'invalid_hook_payload',
        '/data/bucket',
      ],
      [
        'a key too long once the sinks are filled',
        uploadEvent(`in/${'k'.repeat(1015)}.jpg`),
        422,
        'invalid_hook_payload',
      ],
      ['a bucket not granted to the account', uploadEvent('in/cat.jpg', 'private'), 403, 'access_denied'],
      [
        'prototype pollution through __proto__',
        '{"__proto__":{"bucket":"photos"},"data":{"__proto__":{"key":"x.jpg"}}}',
        422,
        'invalid_hook_payload',
        '/data/bucket',
      ],
      [
        'prototype pollution through constructor',
        '{"constructor":{"prototype":{"data":{}}},"data":{"constructor":{"prototype":{"bucket":"photos"}}}}',
        422,
        'invalid_hook_payload',
        '/data/bucket',
      ],
    ];
    for (const [what, body, status, code, pointer] of hostile) {
      test(`when the body is ${what}, then it answers ${status} ${code} and starts nothing`, async () => {
        const fresh = await createHook(account);
        const res = await trigger(fresh.hookId, body, sign(fresh.secret, body, { id: 'msg_hostile' }));
        assertError(res, status, code);
        if (pointer !== undefined) assert.equal(res.body.error.issues?.[0]?.path, pointer);
        await assertNothingStarted(fresh.hookId, 'msg_hostile');
        assert.equal(({} as Record<string, unknown>).bucket, undefined, 'Object.prototype untouched');
        assert.equal(({} as Record<string, unknown>).data, undefined, 'Object.prototype untouched');
      });
    }

    test('when the body is larger than 256 KiB, then it answers 413 payload_too_large and starts nothing', async () => {
      const fresh = await createHook(account);
      const body = JSON.stringify({
        data: { bucket: 'photos', object: { key: 'a.jpg' } },
        pad: 'x'.repeat(HOOK_MAX_BODY_BYTES),
      });
      const res = await trigger(fresh.hookId, body, sign(fresh.secret, body, { id: 'msg_huge' }));
      assertError(res, 413, 'payload_too_large');
      assert.match(res.body.error.message, /262144 bytes/);
      await assertNothingStarted(fresh.hookId, 'msg_huge');
    });

    test('when the webhook-id is over 256 characters or has spaces or control characters, then it answers 400 and starts nothing', async () => {
      const fresh = await createHook(account);
      const body = uploadEvent();
      for (const id of ['m'.repeat(257), 'msg with space', 'msg\ttab']) {
        const res = await trigger(fresh.hookId, body, sign(fresh.secret, body, { id }));
        assertError(res, 400, 'invalid_request');
      }
      await assertNothingStarted(fresh.hookId);
      await trigger(fresh.hookId, body, sign(fresh.secret, body, { id: 'm'.repeat(256) })).expect(202);
    });
  });

  test('when the job engine is down, then it answers 503 and records nothing, so the sender’s retry starts the run', async () => {
    const fresh = await createHook(account);
    const body = uploadEvent();
    api.orchestrator.down = true;
    try {
      const res = await trigger(fresh.hookId, body, sign(fresh.secret, body, { id: 'msg_retry' }));
      assertError(res, 503, 'orchestrator_unavailable');
    } finally {
      api.orchestrator.down = false;
    }
    await assertNothingStarted(fresh.hookId, 'msg_retry');
    const retry = await trigger(fresh.hookId, body, sign(fresh.secret, body, { id: 'msg_retry' })).expect(
      202,
    );
    assert.equal(retry.body.duplicate, false);
    assert.equal(runsOf(fresh.hookId).length, 1);
  });

  test('when hook requests start, repeat, are refused or fail, then pixelshift_trigger_events_total counts each under source hook by outcome', async () => {
    const counts = async () => {
      const metrics = parseExposition((await request(api.app).get('/metrics').expect(200)).text);
      const outcomes = ['started', 'duplicate', 'refused', 'failed'] as const;
      return Object.fromEntries(
        outcomes.map((outcome) => [
          outcome,
          metrics.sum('pixelshift_trigger_events_total', { source: 'hook', outcome }),
        ]),
      );
    };
    const before = await counts();
    const fresh = await createHook(account);
    const body = uploadEvent('in/counted.jpg');
    await trigger(fresh.hookId, body, sign(fresh.secret, body, { id: 'msg_counted' })).expect(202);
    await trigger(fresh.hookId, body, sign(fresh.secret, body, { id: 'msg_counted' })).expect(202);
    assertError(await trigger(fresh.hookId, body, sign(hook.secret, body)), 401, 'invalid_signature');
    api.orchestrator.down = true;
    try {
      const res = await trigger(fresh.hookId, body, sign(fresh.secret, body, { id: 'msg_engine_down' }));
      assertError(res, 503, 'orchestrator_unavailable');
    } finally {
      api.orchestrator.down = false;
    }
    const after = await counts();
    assert.deepEqual(
      Object.fromEntries(Object.entries(after).map(([outcome, n]) => [outcome, n - before[outcome]!])),
      { started: 1, duplicate: 1, refused: 1, failed: 1 },
    );
  });

  test('when the run started but recording failed earlier, then the retry answers duplicate without a second run', async () => {
    const fresh = await createHook(account);
    const body = uploadEvent();
    // As if the first attempt started the workflow and then lost its database write.
    await api.orchestrator.startGraphRun({
      accountId: account.accountId,
      workflowId: `hook/${account.accountId}/${fresh.hookId}/msg_half`,
      trigger: 'webhook',
      triggerId: fresh.hookId,
      graph: { transformUnits: [] },
    });
    const res = await trigger(fresh.hookId, body, sign(fresh.secret, body, { id: 'msg_half' })).expect(202);
    assert.equal(res.body.duplicate, true);
    assert.equal(runsOf(fresh.hookId).length, 1);
    assert.ok(await findHookMessage(api.db, fresh.hookId, 'msg_half'));
  });

  test('when a hook has a fixed bucket and another connection, then the source and unnamed sinks use them', async () => {
    const fresh = await createHook(account, {
      mapping: { connection: 'default', bucket: { value: 'shared-in' }, key: { pointer: '/path' } },
    });
    const body = JSON.stringify({ path: 'a/b.png' });
    await trigger(fresh.hookId, body, sign(fresh.secret, body)).expect(202);
    const [run] = runsOf(fresh.hookId);
    assert.deepEqual(run?.graph.transformUnits[0], {
      type: 'StorageSource',
      storage: 'default',
      bucket: 'shared-in',
      key: 'a/b.png',
    });
  });
});

function omit(headers: Record<string, string>, name: string): Record<string, string> {
  const copy = { ...headers };
  delete copy[name];
  return copy;
}
