import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { batches } from '../../../src/db/index.js';
import {
  createTestAccount,
  createTestApi,
  validGraph,
  type TestAccount,
  type TestApi,
} from '../../support/api-harness.js';

let api: TestApi;
let account: TestAccount;
before(async () => {
  api = await createTestApi();
  account = await createTestAccount(api);
});
after(() => api.close());

const validate = () => request(api.app).post('/v1/graphs:validate').set(account.auth);

async function assertNothingHappened(): Promise<void> {
  assert.deepEqual(api.orchestrator.calls, []);
  assert.equal(await api.db.$count(batches, eq(batches.accountId, account.accountId)), 0);
}

describe('POST /v1/graphs:validate', () => {
  test('when the graph is valid, then 200 with one compiled chain per leaf, and nothing is stored or started', async () => {
    const graph = {
      transformUnits: [
        { type: 'StorageSource', bucket: 'photos', key: 'in/cat.jpg' },
        { type: 'Resize', width: 1600, fit: 'inside' },
      ],
      outputs: [
        {
          transformUnits: [
            { type: 'ImageFormat', format: 'webp', quality: 80 },
            { type: 'StorageSink', bucket: 'photos', key: 'out/cat-1600.webp' },
          ],
        },
        {
          transformUnits: [
            { type: 'Resize', width: 320, height: 320, fit: 'cover', position: 'attention' },
            { type: 'ImageFormat', format: 'jpeg', quality: 82 },
            { type: 'StorageSink', bucket: 'photos', key: 'out/cat-thumb.jpg' },
          ],
        },
      ],
    };
    const res = await validate().send(graph).expect(200);
    assert.deepEqual(res.body, {
      valid: true,
      chains: [
        { leaf: '/outputs/0', units: ['StorageSource', 'Resize', 'ImageFormat', 'StorageSink'] },
        { leaf: '/outputs/1', units: ['StorageSource', 'Resize', 'Resize', 'ImageFormat', 'StorageSink'] },
      ],
    });
    await assertNothingHappened();
  });

  test('when the graph is invalid, then 422 invalid_graph with issues by pointer, as a submission would get', async () => {
    const graph = validGraph();
    (graph.transformUnits as unknown[]).splice(2, 1); // drop the ImageFormat
    const res = await validate().send(graph).expect(422);
    assert.equal(res.body.error.code, 'invalid_graph');
    assert.deepEqual(
      res.body.error.issues.map((issue: { path: string; code: string }) => [issue.path, issue.code]),
      [['/transformUnits/2', 'missing_format']],
    );
    await assertNothingHappened();
  });

  test('when the graph uses an ungranted bucket, then 403 access_denied, as a submission would get', async () => {
    const graph = validGraph();
    (graph.transformUnits as Record<string, unknown>[])[0] = {
      type: 'StorageSource',
      bucket: 'private',
      key: 'a.jpg',
    };
    const res = await validate().send(graph).expect(403);
    assert.deepEqual(res.body.error.issues[0].path, '/transformUnits/0/bucket');
    await assertNothingHappened();
  });

  test('when the path has no colon (graphsXvalidate), then it is not the validate endpoint', async () => {
    await request(api.app).post('/v1/graphsXvalidate').set(account.auth).send(validGraph()).expect(404);
  });
});
