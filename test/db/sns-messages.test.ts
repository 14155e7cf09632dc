import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { claimSnsMessage, releaseSnsMessage } from '../../src/db/index.js';
import { databaseTargets, openMigrated, type TestDatabase } from '../support/test-databases.js';

const claim = (messageId: string) => ({
  messageId,
  topicArn: 'arn:aws:sns:us-east-1:123456789012:t',
  type: 'SubscriptionConfirmation',
});

for (const target of databaseTargets()) {
  describe(`SNS message claims on ${target.name}`, () => {
    let database: TestDatabase;
    before(async () => {
      database = await openMigrated(target);
    });
    after(() => database.close());

    test('when one MessageId is claimed concurrently, then exactly one claim wins', async () => {
      const other = await database.openAnotherClient();
      try {
        const results = await Promise.all([
          claimSnsMessage(database.db, claim('m-race')),
          claimSnsMessage(other.db, claim('m-race')),
          claimSnsMessage(database.db, claim('m-race')),
        ]);
        assert.deepEqual(results.filter(Boolean).length, 1);
      } finally {
        await other.close();
      }
    });

    test('when a claim is released, then the same MessageId can be claimed again', async () => {
      assert.equal(await claimSnsMessage(database.db, claim('m-release')), true);
      await releaseSnsMessage(database.db, 'm-release');
      assert.equal(await claimSnsMessage(database.db, claim('m-release')), true);
      assert.equal(await claimSnsMessage(database.db, claim('m-release')), false);
    });

    test('when a claim passes a purge time, then older rows are forgotten and newer ones kept', async () => {
      assert.equal(await claimSnsMessage(database.db, claim('m-old')), true);
      await claimSnsMessage(database.db, claim('m-purger'), new Date(Date.now() + 60_000));
      assert.equal(await claimSnsMessage(database.db, claim('m-old')), true, 'purged, so claimable again');
      assert.equal(await claimSnsMessage(database.db, claim('m-purger')), false, 'the purger itself is kept');
    });
  });
}
