import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  deleteRule,
  enabledRulesForBucket,
  ensureAccount,
  getRule,
  insertRule,
  listRules,
  newRuleId,
  ruleIdPattern,
  updateRule,
  type RuleFields,
} from '../../src/db/index.js';
import { databaseTargets, openMigrated, type TestDatabase } from '../support/test-databases.js';

const fields = (overrides: Partial<RuleFields> = {}): RuleFields => ({
  name: 'thumbs',
  connection: 'default',
  bucket: 'photos',
  prefix: 'uploads/',
  suffix: '.jpg',
  contentTypes: ['image/jpeg', 'image/png'],
  minSize: 0,
  // Above 2^31: sizes are bigint columns.
  maxSize: 5_000_000_000,
  enabled: true,
  template: {
    transformUnits: [
      { type: 'Resize', width: 10 },
      { type: 'ImageFormat', format: 'webp' },
      { type: 'StorageSink', bucket: '{bucket}', key: 'thumbs/{name}.webp' },
    ],
  },
  ...overrides,
});

for (const target of databaseTargets()) {
  describe(`rules repository on ${target.name}`, () => {
    let database: TestDatabase;
    const suffix = Math.random().toString(36).slice(2, 8);
    const acme = `acme-${suffix}`;
    const globex = `globex-${suffix}`;
    const bucket = `photos-${suffix}`;
    before(async () => {
      database = await openMigrated(target);
      await ensureAccount(database.db, { id: acme, name: 'Acme' });
      await ensureAccount(database.db, { id: globex, name: 'Globex' });
    });
    after(() => database.close());

    test('when a rule is stored and read back, then every field survives, sizes above 2^31 included', async () => {
      const id = newRuleId();
      assert.match(id, ruleIdPattern);
      const row = await insertRule(database.db, { id, accountId: acme, ...fields({ bucket }) });
      const read = await getRule(database.db, acme, id);
      assert.deepEqual(read, row);
      assert.equal(read.maxSize, 5_000_000_000);
      assert.deepEqual(read.contentTypes, ['image/jpeg', 'image/png']);
      assert.equal(await getRule(database.db, globex, id), undefined);
    });

    test('when rules are updated and deleted, then only the owner can, and updatedAt moves', async () => {
      const id = newRuleId();
      const row = await insertRule(database.db, { id, accountId: acme, ...fields({ bucket }) });
      assert.equal(await updateRule(database.db, globex, id, fields({ bucket, enabled: false })), undefined);
      const later = new Date(row.updatedAt.getTime() + 1000);
      const updated = await updateRule(
        database.db,
        acme,
        id,
        fields({ bucket, enabled: false, minSize: null }),
        later,
      );
      assert.equal(updated!.enabled, false);
      assert.equal(updated!.minSize, null);
      assert.equal(updated!.updatedAt.getTime(), later.getTime());
      assert.equal(updated!.createdAt.getTime(), row.createdAt.getTime());
      assert.equal(await deleteRule(database.db, globex, id), false);
      assert.equal(await deleteRule(database.db, acme, id), true);
      assert.equal(await deleteRule(database.db, acme, id), false);
    });

    test('when ingress looks up a bucket, then it gets the enabled rules of every account on it', async () => {
      const lookup = `lookup-${suffix}`;
      const mine = await insertRule(database.db, {
        id: newRuleId(),
        accountId: acme,
        ...fields({ bucket: lookup }),
      });
      const theirs = await insertRule(database.db, {
        id: newRuleId(),
        accountId: globex,
        ...fields({ bucket: lookup }),
      });
      await insertRule(database.db, {
        id: newRuleId(),
        accountId: acme,
        ...fields({ bucket: lookup, enabled: false }),
      });
      await insertRule(database.db, {
        id: newRuleId(),
        accountId: acme,
        ...fields({ bucket: lookup, connection: 'archive' }),
      });
      const found = await enabledRulesForBucket(database.db, 'default', lookup);
      assert.deepEqual(found.map((rule) => rule.id).sort(), [mine.id, theirs.id].sort());
      assert.ok((await listRules(database.db, acme)).length >= 3);
    });
  });
}
