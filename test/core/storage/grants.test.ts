import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClassifiedError } from '../../../src/core/errors.js';
import {
  assertGranted,
  effectiveGrants,
  grantsForAccount,
  isBucketGranted,
  matchesBucketPattern,
  storageGrantsSchema,
  type StorageGrants,
} from '../../../src/core/storage/grants.js';

const grants: StorageGrants = {
  'acct-1': [
    { connection: 'default', buckets: ['photos', 'tenant-1-*'] },
    { connection: 'archive', buckets: ['*'] },
  ],
  'acct-2': [{ connection: 'default', buckets: ['*-public', 'a*b*c'] }],
};

void test('when a pattern has no star, then only the exact bucket matches', () => {
  assert.equal(matchesBucketPattern('photos', 'photos'), true);
  assert.equal(matchesBucketPattern('photos', 'photos2'), false);
  assert.equal(matchesBucketPattern('photos', 'my-photos'), false);
  assert.equal(matchesBucketPattern('photos', 'Photos'), false);
  assert.equal(matchesBucketPattern('photos', ''), false);
});

void test('when a pattern has stars, then each matches any run of characters, anchored at both ends', () => {
  const cases: Array<[string, string, boolean]> = [
    ['tenant-1-*', 'tenant-1-', true],
    ['tenant-1-*', 'tenant-1-images', true],
    ['tenant-1-*', 'tenant-10-images', false],
    ['tenant-1-*', 'x-tenant-1-images', false],
    ['*-public', 'site-public', true],
    ['*-public', 'site-public-2', false],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'a-x-b-y-c', true],
    ['a*b*c', 'abcabc', true],
    ['a*b*c', 'acb', false],
    ['*', 'anything.at.all', true],
    ['**', 'x', true],
    ['a.b', 'axb', false], // dots are literal, not regex wildcards
    ['a*a*a*a*a*b', 'a'.repeat(60), false], // stays fast: no backtracking blow-up
  ];
  for (const [pattern, bucket, expected] of cases) {
    assert.equal(matchesBucketPattern(pattern, bucket), expected, `${pattern} vs ${bucket}`);
  }
});

void test('when an account has grants, then only its connections and buckets are granted', () => {
  const account = grantsForAccount(grants, 'acct-1');
  assert.equal(isBucketGranted(account, 'default', 'photos'), true);
  assert.equal(isBucketGranted(account, 'default', 'tenant-1-raw'), true);
  assert.equal(isBucketGranted(account, 'default', 'tenant-2-raw'), false);
  assert.equal(isBucketGranted(account, 'archive', 'whatever'), true);
  assert.equal(isBucketGranted(account, 'other', 'photos'), false, 'grants are per connection');
  assert.equal(isBucketGranted(grantsForAccount(grants, 'acct-2'), 'default', 'photos'), false);
});

void test('when buckets are granted to every account (*), then each account may use them besides its own', () => {
  const withEveryone: StorageGrants = { ...grants, '*': [{ connection: 'default', buckets: ['shared'] }] };
  assert.equal(isBucketGranted(effectiveGrants(withEveryone, 'acct-1'), 'default', 'shared'), true);
  assert.equal(isBucketGranted(effectiveGrants(withEveryone, 'acct-1'), 'default', 'photos'), true);
  assert.equal(isBucketGranted(effectiveGrants(withEveryone, 'unknown'), 'default', 'shared'), true);
  assert.equal(isBucketGranted(effectiveGrants(withEveryone, 'unknown'), 'default', 'photos'), false);
  assert.equal(isBucketGranted(grantsForAccount(withEveryone, 'acct-1'), 'default', 'shared'), false);
});

void test('when the account is unknown or a prototype name, then nothing is granted', () => {
  for (const accountId of [
    'unknown',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    'prototype',
  ]) {
    const account = grantsForAccount(grants, accountId);
    assert.deepEqual(account, [], accountId);
    assert.equal(isBucketGranted(account, 'default', 'photos'), false, accountId);
  }
});

void test('when grants are parsed from JSON with a __proto__ account, then it grants nothing', () => {
  const parsed = storageGrantsSchema.parse(
    JSON.parse('{"__proto__": [{"connection": "default", "buckets": ["*"]}], "acct": []}'),
  );
  assert.equal(isBucketGranted(grantsForAccount(parsed, '__proto__'), 'default', 'photos'), false);
  assert.equal(isBucketGranted(grantsForAccount(parsed, 'acct'), 'default', 'photos'), false);
  assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
});

void test('when a bucket is not granted, then assertGranted throws access_denied naming bucket and connection', () => {
  const account = grantsForAccount(grants, 'acct-2');
  assert.doesNotThrow(() => assertGranted(account, 'default', 'site-public'));
  assert.throws(
    () => assertGranted(account, 'default', 'photos'),
    (error: unknown) =>
      error instanceof ClassifiedError &&
      error.code === 'access_denied' &&
      error.message === 'Bucket "photos" on connection "default" is not granted to this account',
  );
});

void test('when a grant pattern holds characters no bucket can have, then the schema rejects it', () => {
  assert.equal(
    storageGrantsSchema.safeParse({ a: [{ connection: 'default', buckets: ['pho?tos'] }] }).success,
    false,
  );
  assert.equal(storageGrantsSchema.safeParse({ a: [{ connection: 'default', buckets: [] }] }).success, false);
  assert.equal(
    storageGrantsSchema.safeParse({ a: [{ connection: 'default', buckets: ['ok-*'] }] }).success,
    true,
  );
});
