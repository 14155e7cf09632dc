import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { openApiDocumentOf } from '../../../src/app/http-app.js';
import { listRules } from '../../../src/db/index.js';
import {
  createTestAccount,
  createTestApi,
  type TestAccount,
  type TestApi,
} from '../../support/api-harness.js';
import { documentAllowsBody } from '../../support/request-contract.js';

let api: TestApi;
before(async () => {
  api = await createTestApi();
});
after(() => api.close());

/** A thumbnail rule on the granted `photos` bucket that writes outside its own prefix. */
function ruleBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'thumbnails',
    bucket: 'photos',
    prefix: 'uploads/',
    suffix: '.jpg',
    contentTypes: ['image/jpeg'],
    minSize: 1,
    maxSize: 50_000_000,
    template: {
      transformUnits: [
        { type: 'Resize', width: 320 },
        { type: 'ImageFormat', format: 'webp' },
        { type: 'StorageSink', bucket: '{bucket}', key: 'thumbnails/{dir}/{name}.webp' },
      ],
    },
    ...overrides,
  };
}

async function create(account: TestAccount, body: unknown): Promise<request.Response> {
  return request(api.app)
    .post('/v1/rules')
    .set(account.auth)
    .send(body as object);
}

async function ruleCount(account: TestAccount): Promise<number> {
  return (await listRules(api.db, account.accountId)).length;
}

describe('/v1/rules', () => {
  test('when a valid rule is created, then 201 with its id, defaults filled and a Location', async () => {
    const account = await createTestAccount(api);
    const res = await create(account, ruleBody()).then((r) => (assert.equal(r.status, 201, r.text), r));
    assert.match(res.body.ruleId, /^rule_[0-9a-z]{26}$/);
    assert.equal(res.headers.location, `/v1/rules/${res.body.ruleId}`);
    assert.equal(res.body.connection, 'default');
    assert.equal(res.body.enabled, true);
    assert.deepEqual(res.body.contentTypes, ['image/jpeg']);
    assert.equal(res.body.template.transformUnits.length, 3);
  });

  test('when rules are listed and read, then only the account’s own rules exist for it', async () => {
    const owner = await createTestAccount(api);
    const other = await createTestAccount(api);
    const created = (await create(owner, ruleBody())).body as { ruleId: string };
    const list = await request(api.app).get('/v1/rules').set(owner.auth).expect(200);
    assert.deepEqual(
      list.body.rules.map((rule: { ruleId: string }) => rule.ruleId),
      [created.ruleId],
    );
    await request(api.app).get(`/v1/rules/${created.ruleId}`).set(owner.auth).expect(200);
    const foreign = await request(api.app).get(`/v1/rules/${created.ruleId}`).set(other.auth).expect(404);
    assert.equal(foreign.body.error.code, 'not_found');
    assert.deepEqual((await request(api.app).get('/v1/rules').set(other.auth).expect(200)).body, {
      rules: [],
    });
    await request(api.app).put(`/v1/rules/${created.ruleId}`).set(other.auth).send(ruleBody()).expect(404);
    await request(api.app).delete(`/v1/rules/${created.ruleId}`).set(other.auth).expect(404);
    assert.equal(await ruleCount(owner), 1);
  });

  test('when a rule is replaced with PUT, then every field is the new body’s and omitted ones return to defaults', async () => {
    const account = await createTestAccount(api);
    const created = (await create(account, ruleBody())).body as { ruleId: string; createdAt: string };
    const res = await request(api.app)
      .put(`/v1/rules/${created.ruleId}`)
      .set(account.auth)
      .send(ruleBody({ enabled: false, contentTypes: undefined, name: undefined, prefix: 'incoming/' }))
      .expect(200);
    assert.equal(res.body.enabled, false);
    assert.equal(res.body.prefix, 'incoming/');
    assert.deepEqual(res.body.contentTypes, []);
    assert.equal(res.body.name, null);
    assert.equal(res.body.createdAt, created.createdAt);
  });

  test('when a rule is deleted, then 204 and it is gone; a second delete is 404', async () => {
    const account = await createTestAccount(api);
    const created = (await create(account, ruleBody())).body as { ruleId: string };
    await request(api.app).delete(`/v1/rules/${created.ruleId}`).set(account.auth).expect(204);
    await request(api.app).get(`/v1/rules/${created.ruleId}`).set(account.auth).expect(404);
    await request(api.app).delete(`/v1/rules/${created.ruleId}`).set(account.auth).expect(404);
  });

  test('when no token is sent, then 401', async () => {
    await request(api.app).get('/v1/rules').expect(401);
    await request(api.app).post('/v1/rules').send(ruleBody()).expect(401);
  });

  test('when a very long rule id is asked for, then 404 without echoing it whole', async () => {
    const account = await createTestAccount(api);
    const res = await request(api.app)
      .get(`/v1/rules/${'x'.repeat(5000)}`)
      .set(account.auth)
      .expect(404);
    assert.ok(res.body.error.message.length < 200);
  });
});

describe('/v1/rules refusals (nothing is saved)', () => {
  const cases: [string, unknown, number, string, string?][] = [
    ['an unknown field', ruleBody({ admin: true }), 422, 'invalid_body', '/admin'],
    ['no bucket', ruleBody({ bucket: undefined }), 422, 'invalid_body', '/bucket'],
    ['a bucket pattern instead of a name', ruleBody({ bucket: 'photos*' }), 422, 'invalid_body', '/bucket'],
    ['no template', ruleBody({ template: undefined }), 422, 'invalid_body', '/template'],
    ['a negative minSize', ruleBody({ minSize: -1 }), 422, 'invalid_body', '/minSize'],
    ['minSize above maxSize', ruleBody({ minSize: 10, maxSize: 5 }), 422, 'invalid_body', '/minSize'],
    ['a bad media type', ruleBody({ contentTypes: ['jpeg'] }), 422, 'invalid_body', '/contentTypes/0'],
    ['an unknown connection', ruleBody({ connection: 'nope' }), 422, 'invalid_body', '/connection'],
    ['an array body', [ruleBody()], 422, 'invalid_body'],
    [
      'a template with a source',
      ruleBody({
        template: {
          transformUnits: [
            { type: 'StorageSource', bucket: 'photos', key: 'a.jpg' },
            { type: 'ImageFormat', format: 'webp' },
            { type: 'StorageSink', bucket: 'photos', key: 'out/{name}.webp' },
          ],
        },
      }),
      422,
      'invalid_graph',
      '/template/transformUnits/0',
    ],
    [
      'a template without a sink',
      ruleBody({ template: { transformUnits: [{ type: 'Resize', width: 10 }] } }),
      422,
      'invalid_graph',
    ],
    [
      'an unknown placeholder',
      ruleBody({
        template: {
          transformUnits: [
            { type: 'Resize', width: 10 },
            { type: 'ImageFormat', format: 'webp' },
            { type: 'StorageSink', bucket: 'photos', key: 'out/{file}.webp' },
          ],
        },
      }),
      422,
      'invalid_graph',
      '/template/transformUnits/2/key',
    ],
    [
      'a key placeholder in a sink bucket',
      ruleBody({
        template: {
          transformUnits: [
            { type: 'Resize', width: 10 },
            { type: 'ImageFormat', format: 'webp' },
            { type: 'StorageSink', bucket: 'shared-{name}', key: 'out/{name}.webp' },
          ],
        },
      }),
      422,
      'invalid_graph',
      '/template/transformUnits/2/bucket',
    ],
    ['an ungranted watched bucket', ruleBody({ bucket: 'secret' }), 403, 'access_denied', '/bucket'],
    [
      'an ungranted sink bucket',
      ruleBody({
        template: {
          transformUnits: [
            { type: 'Resize', width: 10 },
            { type: 'ImageFormat', format: 'webp' },
            { type: 'StorageSink', bucket: 'secret', key: 'out/{name}.webp' },
          ],
        },
      }),
      403,
      'access_denied',
      '/template/transformUnits/2/bucket',
    ],
    [
      'a sink on an unknown connection',
      ruleBody({
        template: {
          transformUnits: [
            { type: 'Resize', width: 10 },
            { type: 'ImageFormat', format: 'webp' },
            { type: 'StorageSink', storage: 'nope', bucket: 'photos', key: 'out/{name}.webp' },
          ],
        },
      }),
      422,
      'invalid_graph',
      '/template/transformUnits/2/storage',
    ],
    [
      'outputs under its own prefix',
      ruleBody({
        suffix: '',
        contentTypes: [],
        template: {
          transformUnits: [
            { type: 'Resize', width: 10 },
            { type: 'ImageFormat', format: 'jpeg' },
            { type: 'StorageSink', bucket: 'photos', key: 'uploads/thumbs/{name}.jpg' },
          ],
        },
      }),
      422,
      'rule_would_loop',
      '/template/transformUnits/2',
    ],
    [
      'outputs at {key} in its own bucket',
      ruleBody({
        template: {
          transformUnits: [
            { type: 'Resize', width: 10 },
            { type: 'ImageFormat', format: 'jpeg' },
            { type: 'StorageSink', bucket: '{bucket}', key: '{key}.small.jpg' },
          ],
        },
      }),
      422,
      'rule_would_loop',
      '/template/transformUnits/2',
    ],
  ];
  for (const [name, body, status, code, path] of cases) {
    test(`when the rule has ${name}, then ${status} ${code}${path ? ` at ${path}` : ''}`, async () => {
      const account = await createTestAccount(api);
      const res = await create(account, body);
      assert.equal(res.status, status, res.text);
      assert.equal(res.body.error.code, code);
      if (path) {
        assert.ok(
          res.body.error.issues.some((issue: { path: string }) => issue.path === path),
          JSON.stringify(res.body.error.issues),
        );
      }
      assert.equal(await ruleCount(account), 0);
    });
  }

  test('when a PUT would make a rule loop, then 422 rule_would_loop and the stored rule is unchanged', async () => {
    const account = await createTestAccount(api);
    const created = (await create(account, ruleBody())).body as { ruleId: string; prefix: string };
    const res = await request(api.app)
      .put(`/v1/rules/${created.ruleId}`)
      .set(account.auth)
      .send(ruleBody({ prefix: 'thumbnails/', suffix: '', contentTypes: [] }))
      .expect(422);
    assert.equal(res.body.error.code, 'rule_would_loop');
    const stored = await request(api.app).get(`/v1/rules/${created.ruleId}`).set(account.auth).expect(200);
    assert.equal(stored.body.prefix, 'uploads/');
  });

  test('when the template is missing, then the issue says so once', async () => {
    const account = await createTestAccount(api);
    const res = await create(account, ruleBody({ template: undefined }));
    assert.equal(res.status, 422, res.text);
    assert.deepEqual(res.body.error.issues, [
      {
        path: '/template',
        code: 'invalid_value',
        message: 'Expected a graph template for template but received nothing',
      },
    ]);
  });

  test('when the body is not JSON or too large, then 400/415/413 with the usual codes', async () => {
    const account = await createTestAccount(api);
    const bad = await request(api.app)
      .post('/v1/rules')
      .set(account.auth)
      .type('json')
      .send('{"bucket":')
      .expect(400);
    assert.equal(bad.body.error.code, 'invalid_json');
    const text = await request(api.app)
      .post('/v1/rules')
      .set(account.auth)
      .type('text')
      .send('hi')
      .expect(415);
    assert.equal(text.body.error.code, 'unsupported_media_type');
    const huge = await request(api.app)
      .post('/v1/rules')
      .set(account.auth)
      .type('json')
      .send(JSON.stringify(ruleBody({ name: 'x'.repeat(2 * 1024 * 1024) })))
      .expect(413);
    assert.equal(huge.body.error.code, 'payload_too_large');
    assert.equal(await ruleCount(account), 0);
  });
});

describe('/v1/rules: the document is as strict as the server', () => {
  const allowed = (body: unknown) =>
    documentAllowsBody(openApiDocumentOf(api.app), 'post', '/v1/rules', body);

  test('when a rule body is valid, then the document allows it and the server saves it, on POST and PUT', async () => {
    const account = await createTestAccount(api);
    const template = {
      transformUnits: [
        { type: 'Resize', width: 320 },
        { type: 'ImageFormat', format: 'webp' },
        { type: 'StorageSink', bucket: 'shared-thumbnails', key: '{dir}/{name}.webp' },
      ],
    };
    for (const body of [ruleBody({ template }), { bucket: 'photos', template }]) {
      assert.ok(allowed(body), JSON.stringify(body));
      assert.ok(documentAllowsBody(openApiDocumentOf(api.app), 'put', '/v1/rules/{ruleId}', body));
      const created = await create(account, body);
      assert.equal(created.status, 201, created.text);
      await request(api.app)
        .put(`/v1/rules/${(created.body as { ruleId: string }).ruleId}`)
        .set(account.auth)
        .send(body)
        .expect(200);
    }
  });

  test('when the document forbids a rule body, then the server refuses it with invalid_body at the same field', async () => {
    const account = await createTestAccount(api);
    const cases: [string, unknown, string][] = [
      ['an unknown field', ruleBody({ admin: true }), '/admin'],
      ['no bucket', ruleBody({ bucket: undefined }), '/bucket'],
      ['a bucket pattern', ruleBody({ bucket: 'photos*' }), '/bucket'],
      ['no template', ruleBody({ template: undefined }), '/template'],
      ['an empty name', ruleBody({ name: '' }), '/name'],
      ['a name of 201 characters', ruleBody({ name: 'n'.repeat(201) }), '/name'],
      ['a connection name with spaces', ruleBody({ connection: 'my lake' }), '/connection'],
      ['a prefix of 1025 characters', ruleBody({ prefix: 'p'.repeat(1025) }), '/prefix'],
      [
        '33 media types',
        ruleBody({ contentTypes: Array.from({ length: 33 }, () => 'image/png') }),
        '/contentTypes',
      ],
      ['a bad media type', ruleBody({ contentTypes: ['jpeg'] }), '/contentTypes/0'],
      ['a negative minSize', ruleBody({ minSize: -1 }), '/minSize'],
      ['a fractional maxSize', ruleBody({ maxSize: 1.5 }), '/maxSize'],
      ['enabled as a string', ruleBody({ enabled: 'yes' }), '/enabled'],
      ['an array body', [ruleBody()], ''],
    ];
    for (const [name, body, path] of cases) {
      assert.equal(allowed(body), false, `the document allows ${name}`);
      const res = await create(account, body);
      assert.equal(res.status, 422, `${name}: ${res.text}`);
      assert.equal(res.body.error.code, 'invalid_body', name);
      assert.ok(
        res.body.error.issues.some((issue: { path: string }) => issue.path === path),
        `${name}: ${JSON.stringify(res.body.error.issues)}`,
      );
    }
    assert.equal(await ruleCount(account), 0);
  });
});
