import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount } from '../../src/db/index.js';
import {
  deleteHook,
  findHook,
  findHookMessage,
  getHook,
  hookIdPattern,
  insertHook,
  listHooks,
  newHookId,
  recordHookMessage,
  updateHook,
  type NewHook,
} from '../../src/db/inbound-hooks.js';
import { databaseTargets, openMigrated, type TestDatabase } from '../support/test-databases.js';

const newHook = (accountId: string, name = 'uploads'): NewHook => ({
  id: newHookId(),
  accountId,
  name,
  secretSealed: 'v1.sealed',
  mapping: { bucket: { pointer: '/bucket' }, key: { pointer: '/key' } },
  template: { transformUnits: [{ type: 'Resize', width: 10 }] },
  enabled: true,
});

for (const target of databaseTargets()) {
  describe(`hook repository on ${target.name}`, () => {
    let database: TestDatabase;
    before(async () => {
      database = await openMigrated(target);
      await createAccount(database.db, { id: 'acme', name: 'Acme' });
      await createAccount(database.db, { id: 'globex', name: 'Globex' });
    });
    after(() => database.close());

    test('when hook ids are made, then they are hook_ and 32 base32 characters, all different', () => {
      const ids = new Set(Array.from({ length: 1000 }, newHookId));
      assert.equal(ids.size, 1000);
      for (const id of ids) assert.match(id, hookIdPattern);
    });

    test('when a hook is stored, then it reads back whole by id, and only its account sees it in lists', async () => {
      const hook = newHook('acme');
      const row = await insertHook(database.db, hook);
      assert.deepEqual(
        { ...row, createdAt: undefined, updatedAt: undefined },
        {
          ...hook,
          previousSecretSealed: null,
          previousSecretExpiresAt: null,
          createdAt: undefined,
          updatedAt: undefined,
        },
      );
      assert.deepEqual(await findHook(database.db, hook.id), row);
      assert.deepEqual(await getHook(database.db, 'acme', hook.id), row);
      assert.equal(await getHook(database.db, 'globex', hook.id), undefined);
      assert.ok((await listHooks(database.db, 'acme')).some((listed) => listed.id === hook.id));
      assert.ok(!(await listHooks(database.db, 'globex')).some((listed) => listed.id === hook.id));
    });

    test('when another account updates or deletes a hook, then nothing changes', async () => {
      const hook = await insertHook(database.db, newHook('acme'));
      assert.equal(await updateHook(database.db, 'globex', hook.id, { enabled: false }), undefined);
      assert.equal(await deleteHook(database.db, 'globex', hook.id), false);
      assert.equal((await findHook(database.db, hook.id))?.enabled, true);
      const updated = await updateHook(database.db, 'acme', hook.id, { enabled: false, name: 'renamed' });
      assert.equal(updated?.enabled, false);
      assert.equal(updated?.name, 'renamed');
      assert.ok(updated && updated.updatedAt >= hook.updatedAt);
    });

    test('when a message is recorded twice, concurrently too, then one row holds the first workflow ID', async () => {
      const hook = await insertHook(database.db, newHook('acme'));
      const message = { hookId: hook.id, webhookId: 'msg_1', workflowId: `hook/acme/${hook.id}/msg_1` };
      const rows = await Promise.all([
        recordHookMessage(database.db, message),
        recordHookMessage(database.db, message),
        recordHookMessage(database.db, { ...message, workflowId: 'other' }),
      ]);
      assert.equal(new Set(rows.map((row) => row.workflowId)).size, 1);
      assert.deepEqual(await findHookMessage(database.db, hook.id, 'msg_1'), rows[0]);
      assert.equal(await findHookMessage(database.db, hook.id, 'msg_2'), undefined);
    });

    test('when a hook is deleted, then its messages go with it', async () => {
      const hook = await insertHook(database.db, newHook('acme'));
      await recordHookMessage(database.db, { hookId: hook.id, webhookId: 'msg_x', workflowId: 'w' });
      assert.equal(await deleteHook(database.db, 'acme', hook.id), true);
      assert.equal(await findHook(database.db, hook.id), undefined);
      assert.equal(await findHookMessage(database.db, hook.id, 'msg_x'), undefined);
      assert.equal(await deleteHook(database.db, 'acme', hook.id), false);
    });
  });
}
