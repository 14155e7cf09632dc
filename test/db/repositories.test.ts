import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  batchIdPattern,
  claimIdempotencyKey,
  createAccount,
  ensureAccount,
  findApiKey,
  getAccount,
  getBatch,
  getBatchGraph,
  getIdempotencyRecord,
  insertApiKey,
  insertBatch,
  listApiKeys,
  listBatchGraphs,
  newBatchId,
  revokeApiKey,
  saveIdempotentResponse,
  touchApiKey,
} from '../../src/db/index.js';
import type { TransformGraph } from '../../src/core/graph/index.js';
import { databaseTargets, openMigrated, type TestDatabase } from '../support/test-databases.js';

const hash = (char: string) => char.repeat(64);
const graph = (key: string): TransformGraph => ({
  transformUnits: [
    { type: 'StorageSource', bucket: 'photos', key },
    { type: 'Resize', width: 100 },
    { type: 'ImageFormat', format: 'png' },
    { type: 'StorageSink', bucket: 'photos', key: `out/${key}.png` },
  ],
});

for (const target of databaseTargets()) {
  describe(`repositories on ${target.name}`, () => {
    let database: TestDatabase;
    before(async () => {
      database = await openMigrated(target);
      await createAccount(database.db, { id: 'acme', name: 'Acme' });
      await createAccount(database.db, { id: 'globex', name: 'Globex' });
    });
    after(() => database.close());

    describe('accounts', () => {
      test('when an account is ensured twice, then it exists once with its first name', async () => {
        const first = await ensureAccount(database.db, { id: 'initech', name: 'Initech' });
        const second = await ensureAccount(database.db, { id: 'initech', name: 'Renamed' });
        assert.deepEqual(second, first);
        assert.equal((await getAccount(database.db, 'initech'))?.name, 'Initech');
      });

      test('when an account id is taken or not a slug, then creating it fails', async () => {
        await assert.rejects(createAccount(database.db, { id: 'acme', name: 'Again' }));
        await assert.rejects(createAccount(database.db, { id: 'Has/Slash', name: 'Bad' }));
        assert.equal(await getAccount(database.db, 'nobody'), undefined);
      });
    });

    describe('api keys', () => {
      test('when keys are listed, then only the account’s own come back, without hashes', async () => {
        await insertApiKey(database.db, {
          id: 'pk_list1',
          accountId: 'acme',
          secretHash: hash('a'),
          label: 'one',
        });
        await insertApiKey(database.db, { id: 'pk_list2', accountId: 'globex', secretHash: hash('b') });
        const keys = await listApiKeys(database.db, 'acme');
        assert.ok(keys.some((key) => key.id === 'pk_list1'));
        assert.ok(!keys.some((key) => key.id === 'pk_list2'));
        for (const key of keys) assert.equal('secretHash' in key, false);
      });

      test('when a key is revoked by another account, then nothing changes; by its own, then it is revoked once', async () => {
        await insertApiKey(database.db, { id: 'pk_rev', accountId: 'acme', secretHash: hash('c') });
        assert.equal(await revokeApiKey(database.db, 'globex', 'pk_rev'), false);
        assert.equal((await findApiKey(database.db, 'pk_rev'))?.revokedAt, null);
        const at = new Date('2030-01-01T00:00:00Z');
        assert.equal(await revokeApiKey(database.db, 'acme', 'pk_rev', at), true);
        assert.equal(await revokeApiKey(database.db, 'acme', 'pk_rev', new Date()), true);
        assert.deepEqual((await findApiKey(database.db, 'pk_rev'))?.revokedAt, at);
      });

      test('when a key is used, then last_used_at is recorded', async () => {
        await insertApiKey(database.db, { id: 'pk_use', accountId: 'acme', secretHash: hash('d') });
        const at = new Date('2031-02-03T04:05:06Z');
        await touchApiKey(database.db, 'pk_use', at);
        assert.deepEqual((await findApiKey(database.db, 'pk_use'))?.lastUsedAt, at);
      });
    });

    describe('batches', () => {
      test('when a batch of 1000 graphs is inserted, then every graph is stored in order', async () => {
        const batchId = newBatchId();
        assert.match(batchId, batchIdPattern);
        const graphs = Array.from({ length: 1000 }, (_, i) => graph(`in/${i}.jpg`));
        const row = await insertBatch(database.db, { batchId, accountId: 'acme', graphs });
        assert.equal(row.graphCount, 1000);
        assert.deepEqual(await getBatchGraph(database.db, 'acme', batchId, 999), graphs[999]);
        assert.deepEqual(await listBatchGraphs(database.db, 'acme', batchId), graphs);
      });

      test('when another account asks for a batch or its graphs, then they do not exist for it', async () => {
        const batchId = newBatchId();
        await insertBatch(database.db, {
          batchId,
          accountId: 'acme',
          graphs: [graph('a')],
          callbackUrl: 'https://x.test/cb',
        });
        assert.equal((await getBatch(database.db, 'acme', batchId))?.callbackUrl, 'https://x.test/cb');
        assert.equal(await getBatch(database.db, 'globex', batchId), undefined);
        assert.equal(await getBatchGraph(database.db, 'globex', batchId, 0), undefined);
        assert.deepEqual(await listBatchGraphs(database.db, 'globex', batchId), []);
        assert.equal(await getBatchGraph(database.db, 'acme', batchId, 1), undefined);
      });

      test('when a batch insert fails half-way, then nothing of it is stored', async () => {
        const batchId = newBatchId();
        const bad = [graph('ok'), { transformUnits: [] as never[], poison: 1n } as unknown as TransformGraph];
        await assert.rejects(insertBatch(database.db, { batchId, accountId: 'acme', graphs: bad }));
        assert.equal(await getBatch(database.db, 'acme', batchId), undefined);
        assert.equal(await getBatchGraph(database.db, 'acme', batchId, 0), undefined);
      });
    });

    describe('idempotency keys', () => {
      test('when a key is claimed twice, then only the first claim wins and the record keeps its batch', async () => {
        const batchId = newBatchId();
        const claim = { accountId: 'acme', key: 'claim-1', requestHash: hash('e'), batchId };
        await database.db.transaction(async (tx) => {
          assert.equal(await claimIdempotencyKey(tx, claim), true);
          await insertBatch(tx, { batchId, accountId: 'acme', graphs: [graph('a')] });
        });
        assert.equal(await claimIdempotencyKey(database.db, { ...claim, batchId: newBatchId() }), false);
        const record = await getIdempotencyRecord(database.db, 'acme', 'claim-1');
        assert.equal(record?.batchId, batchId);
        assert.equal(record?.response, null);
        await saveIdempotentResponse(database.db, 'acme', 'claim-1', { batchId, graphsAccepted: 1 });
        assert.deepEqual((await getIdempotencyRecord(database.db, 'acme', 'claim-1'))?.response, {
          batchId,
          graphsAccepted: 1,
        });
        assert.equal(await getIdempotencyRecord(database.db, 'globex', 'claim-1'), undefined);
      });

      test('when a key is claimed but its batch never arrives, then the claim does not commit', async () => {
        // The foreign key is checked at commit (deferred): a claim without its batch cannot persist.
        await assert.rejects(
          database.db.transaction(async (tx) => {
            await claimIdempotencyKey(tx, {
              accountId: 'acme',
              key: 'orphan',
              requestHash: hash('f'),
              batchId: newBatchId(),
            });
          }),
        );
        assert.equal(await getIdempotencyRecord(database.db, 'acme', 'orphan'), undefined);
      });

      test('when two clients claim the same key at once, then exactly one wins', async () => {
        const other = await database.openAnotherClient();
        try {
          const attempt = (db: typeof database.db) => {
            const batchId = newBatchId();
            return db.transaction(async (tx) => {
              const won = await claimIdempotencyKey(tx, {
                accountId: 'acme',
                key: 'race',
                requestHash: hash('0'),
                batchId,
              });
              if (won) await insertBatch(tx, { batchId, accountId: 'acme', graphs: [graph('race')] });
              return won;
            });
          };
          const results = await Promise.all([
            attempt(database.db),
            attempt(other.db),
            attempt(database.db),
            attempt(other.db),
          ]);
          assert.equal(results.filter(Boolean).length, 1);
        } finally {
          await other.close();
        }
      });
    });
  });
}
