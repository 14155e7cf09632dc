import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { toApiError } from '../../src/api/error-handler.js';
import { createTestAccount, createTestApi, type TestAccount, type TestApi } from '../support/api-harness.js';

let api: TestApi;
let account: TestAccount;
before(async () => {
  api = await createTestApi();
  account = await createTestAccount(api);
});
after(() => api.close());

const refusal = {
  error: {
    code: 'invalid_request',
    message: 'The request contains a NUL character (U+0000), which no field accepts',
  },
};

describe('NUL characters, which the database cannot hold', () => {
  test('when a text field of a JSON body holds a NUL, then its schema refuses it (422 at that field) and nothing is stored', async () => {
    const res = await request(api.app)
      .post('/v1/keys')
      .set(account.auth)
      .send({ label: 'a\u0000b' })
      .expect(422);
    assert.deepEqual(res.body.error.issues, [
      {
        path: '/label',
        code: 'invalid_value',
        message: 'Expected a label without control characters for label but received "a\\u0000b"',
      },
    ]);
    const keys = await request(api.app).get('/v1/keys').set(account.auth).expect(200);
    assert.deepEqual(
      (keys.body as { keys: { keyId: string }[] }).keys.map((key) => key.keyId),
      [account.keyId],
    );
  });

  test('when a NUL would land in a jsonb document (a rule template), then the template schema refuses it (422 at that value)', async () => {
    const res = await request(api.app)
      .post('/v1/rules')
      .set(account.auth)
      .send({
        bucket: 'photos',
        prefix: 'in/',
        template: {
          transformUnits: [
            { type: 'Resize', width: 320 },
            { type: 'ImageFormat', format: 'webp' },
            { type: 'StorageSink', bucket: 'photos', key: 'out/{name}.webp', metadata: { note: 'a\u0000b' } },
          ],
        },
      })
      .expect(422);
    assert.deepEqual(
      res.body.error.issues.map((issue: { path: string; code: string }) => [issue.path, issue.code]),
      [['/template/transformUnits/2/metadata/note', 'invalid_value']],
    );
    const rules = await request(api.app).get('/v1/rules').set(account.auth).expect(200);
    assert.deepEqual(rules.body, { rules: [] });
  });

  test('when a path id holds %00 and reaches a lookup, then 400 invalid_request instead of a 500', async () => {
    for (const [method, path] of [
      ['get', '/v1/rules/rule%00x'],
      ['delete', '/v1/keys/pk_%00'],
    ] as const) {
      const res = await request(api.app)[method](path).set(account.auth).expect(400);
      assert.deepEqual(res.body, refusal, `${method} ${path}`);
    }
  });

  test('when any other database error reaches the handler, then it stays a 500 internal_error', () => {
    const uniqueViolation = Object.assign(new Error('Failed query'), {
      cause: Object.assign(new Error('duplicate key'), { code: '23505' }),
    });
    assert.equal(toApiError(uniqueViolation).status, 500);
    assert.equal(toApiError(uniqueViolation).code, 'internal_error');
  });
});
