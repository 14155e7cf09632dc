import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { batches } from '../../../src/db/index.js';
import { createTestAccount, createTestApi, validGraph, type TestApi } from '../../support/api-harness.js';
import { databaseTargets } from '../../support/test-databases.js';

// Concurrency is where PGlite (one connection, serialised) and PostgreSQL (a pool, real row locks) differ
// most, so this runs on both.
for (const target of databaseTargets()) {
  describe(`concurrent submissions on ${target.name}`, () => {
    let api: TestApi;
    before(async () => {
      api = await createTestApi({ target });
      api.orchestrator.startDelayMs = 20; // keep the requests overlapping
    });
    after(() => api.close());

    test('when the same Idempotency-Key arrives several times at once, then one batch exists and every answer names it', async () => {
      const account = await createTestAccount(api);
      const body = { graphs: [validGraph(), validGraph('in/b.jpg', 'out/b.webp')] };
      const responses = await Promise.all(
        Array.from({ length: 6 }, () =>
          request(api.app).post('/v1/batches').set(account.auth).set('Idempotency-Key', 'burst').send(body),
        ),
      );
      for (const res of responses) assert.equal(res.status, 201, JSON.stringify(res.body));
      const batchIds = new Set(responses.map((res) => res.body.batchId as string));
      assert.equal(batchIds.size, 1);
      assert.equal(await api.db.$count(batches, eq(batches.accountId, account.accountId)), 1);
      const started = [...api.orchestrator.started.values()].filter(
        (input) => input.accountId === account.accountId,
      );
      assert.equal(started.length, 1, 'one workflow, however many start calls raced');
      assert.equal(started[0]?.batchId, [...batchIds][0]);
    });

    test('when different keys arrive at once, then each gets its own batch', async () => {
      const account = await createTestAccount(api);
      const responses = await Promise.all(
        ['a', 'b', 'c'].map((key) =>
          request(api.app)
            .post('/v1/batches')
            .set(account.auth)
            .set('Idempotency-Key', key)
            .send({ graphs: [validGraph()] }),
        ),
      );
      assert.equal(new Set(responses.map((res) => res.body.batchId as string)).size, 3);
      assert.equal(await api.db.$count(batches, eq(batches.accountId, account.accountId)), 3);
    });
  });
}
