/**
 * `pixelshift doctor` against the real services the suite provides (the shared Temporal dev server, moto,
 * PGlite and PostgreSQL), and each way a dependency can be wrong giving its own finding, promptly.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { msToTs } from '@temporalio/common/lib/time.js';
import { runDoctor } from '../../src/app/doctor.js';
import type { Finding } from '../../src/core/health/findings.js';
import { probePrefix } from '../../src/core/storage/probe.js';
import { defaultMigrationsDirectory, migrate, openDatabase } from '../../src/db/index.js';
import { freePort } from '../../src/tools/ports.js';
import { createTestBucket, deleteTestBucket, testS3Client } from '../support/s3-buckets.js';
import { s3Endpoint } from '../support/services.js';
import { temporalForTests } from '../support/temporal.js';
import { createFreshPostgresDatabase, databaseTargets } from '../support/test-databases.js';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';

const run = promisify(execFile);
/** Generous for the real services (a loaded machine answers slowly); checks that answer never wait it out. */
const deadlineMs = 15_000;
/** For dependencies that will never answer: short, so that those tests stay fast. */
const shortDeadlineMs = 1_500;

function findingOf(findings: Finding[], check: string): Finding {
  const finding = findings.find((candidate) => candidate.check === check);
  assert.ok(finding, `no ${check} finding in ${JSON.stringify(findings)}`);
  return finding;
}

function problemCodes(findings: Finding[]): Record<string, string | undefined> {
  return Object.fromEntries(findings.filter((f) => !f.ok).map((f) => [f.check, f.code]));
}

/** A loopback server that answers every request as S3 does to credentials it does not know. */
async function refusingS3(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(403, { 'content-type': 'application/xml' });
    res.end(
      '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code>' +
        '<Message>The AWS Access Key Id you provided does not exist in our records.</Message></Error>',
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A loopback server that accepts connections and never says a word. */
async function silentServer(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('pixelshift doctor', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'pixelshift-doctor-'));
  const { DATABASE_URL: _unused, PIXELSHIFT_CONFIG: _alsoUnused, ...inherited } = process.env;
  let temporalAddress: string;
  let s3: string;
  let bucket: string;
  const cleanups: (() => Promise<unknown>)[] = [];

  before(async () => {
    temporalAddress = (await temporalForTests()).address;
    s3 = await s3Endpoint();
    bucket = await createTestBucket(s3, 'doctor');
    cleanups.push(() => deleteTestBucket(s3, bucket));
  });
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
    rmSync(root, { recursive: true, force: true });
  });

  /** A data dir whose PGlite database has every migration applied: made once, since the doctor only reads it. */
  let migrated: Promise<string> | undefined;
  function migratedDataDir(): Promise<string> {
    migrated ??= (async () => {
      const dataDir = path.join(root, 'migrated');
      const database = await openDatabase({ kind: 'pglite', dir: path.join(dataDir, 'pglite') });
      await migrate(database.db);
      await database.close();
      return dataDir;
    })();
    return migrated;
  }

  /** The environment of a deployment with one s3 connection (moto unless said otherwise) granted `buckets`. */
  function s3Deployment(
    dataDir: string,
    options: { endpoint?: string; buckets?: string[]; env?: NodeJS.ProcessEnv } = {},
  ): NodeJS.ProcessEnv {
    const configFile = path.join(dataDir, `config-${randomUUID()}.json`);
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(
      configFile,
      JSON.stringify({
        connections: {
          photos: {
            kind: 's3',
            endpoint: options.endpoint ?? s3,
            region: 'us-east-1',
            forcePathStyle: true,
            // A literal: the SDK marks the shared testS3Credentials object with fields the schema refuses.
            credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
          },
        },
        grants: { '*': [{ connection: 'photos', buckets: options.buckets ?? [bucket] }] },
      }),
    );
    return {
      ...inherited,
      PIXELSHIFT_DATA_DIR: dataDir,
      PIXELSHIFT_CONFIG: configFile,
      TEMPORAL_ADDRESS: temporalAddress,
      ...options.env,
    };
  }

  for (const target of databaseTargets()) {
    test(`when every dependency is in order (${target.name}), then every finding is ok and the probe leaves nothing behind`, async () => {
      const dataDir = await migratedDataDir();
      let env = s3Deployment(dataDir);
      if (target.name === 'postgres') {
        const fresh = await createFreshPostgresDatabase(process.env.PIXELSHIFT_TEST_DATABASE_URL!);
        cleanups.push(() => fresh.drop());
        const database = await openDatabase({ kind: 'postgres', url: fresh.url });
        await migrate(database.db);
        await database.close();
        env = { ...env, DATABASE_URL: fresh.url };
      }
      const findings = await runDoctor(env, { deadlineMs });
      assert.deepEqual(problemCodes(findings), {});
      assert.deepEqual(
        findings.map((finding) => finding.check),
        ['configuration', 'database', 'temporal', `storage photos ${bucket}`],
      );
      const left = await testS3Client(s3).send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: probePrefix }),
      );
      assert.equal(left.KeyCount, 0);
    });
  }

  test('when on the embedded defaults, then the local root is checked and everything is ok', async () => {
    const dataDir = await migratedDataDir();
    mkdirSync(path.join(dataDir, 'storage'), { recursive: true });
    const findings = await runDoctor(
      { ...inherited, PIXELSHIFT_DATA_DIR: dataDir, TEMPORAL_ADDRESS: temporalAddress },
      { deadlineMs },
    );
    assert.deepEqual(problemCodes(findings), {});
    assert.match(findingOf(findings, 'storage default').summary, /readable and writable/);
  });

  test('when the configuration does not load, then that is the one finding, with what is wrong', async () => {
    const findings = await runDoctor({ ...inherited, PORT: 'eighty' }, { deadlineMs });
    assert.equal(findings.length, 1);
    assert.equal(findings[0]!.code, 'configuration_invalid');
    assert.match(findings[0]!.summary, /PORT/);
  });

  test('when the database server does not answer, then the database finding says unreachable', async () => {
    const closedPort = await freePort();
    const env = s3Deployment(await migratedDataDir(), {
      env: { DATABASE_URL: `postgres://pixelshift:secret@127.0.0.1:${closedPort}/pixelshift` },
    });
    const findings = await runDoctor(env, { deadlineMs });
    assert.deepEqual(problemCodes(findings), { database: 'database_unreachable' });
    assert.match(findingOf(findings, 'database').action!, /DATABASE_URL/);
  });

  test('when a migration file is not applied, then the database finding names it', async () => {
    const files = readdirSync(defaultMigrationsDirectory)
      .filter((name) => name.endsWith('.sql'))
      .sort();
    const partial = path.join(root, `migrations-${randomUUID()}`);
    mkdirSync(partial);
    for (const name of files.slice(0, -1))
      copyFileSync(path.join(defaultMigrationsDirectory, name), path.join(partial, name));
    const database = await databaseTargets()[0]!.open();
    try {
      await migrate(database.db, { directory: partial });
      const findings = await runDoctor(s3Deployment(await migratedDataDir()), { deadlineMs, database });
      assert.deepEqual(problemCodes(findings), { database: 'migrations_pending' });
      assert.match(findingOf(findings, 'database').summary, new RegExp(files.at(-1)!));
    } finally {
      await database.close();
    }
  });

  test('when no Temporal server listens at the address, then the temporal finding says unreachable, promptly', async () => {
    const env = s3Deployment(await migratedDataDir(), {
      env: { TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` },
    });
    const findings = await runDoctor(env, { deadlineMs: shortDeadlineMs });
    // Only Temporal's finding is asserted: the short deadline is for it, not for the other dependencies.
    assert.equal(findingOf(findings, 'temporal').code, 'temporal_unreachable');
    assert.match(findingOf(findings, 'temporal').action!, /TEMPORAL_ADDRESS/);
  });

  test('when the namespace does not exist, then the temporal finding says so and points at setup', async () => {
    const env = s3Deployment(await migratedDataDir(), {
      env: { TEMPORAL_NAMESPACE: `absent-${randomUUID().slice(0, 8)}` },
    });
    const findings = await runDoctor(env, { deadlineMs });
    assert.deepEqual(problemCodes(findings), { temporal: 'namespace_missing' });
    assert.match(findingOf(findings, 'temporal').action!, /pixelshift setup/);
  });

  test('when the namespace lacks the search attributes, then the temporal finding names the missing ones', async () => {
    const namespace = `doctor-${randomUUID().slice(0, 8)}`;
    const { client } = await temporalForTests();
    await client.connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs('1 day'),
    });
    const findings = await runDoctor(
      s3Deployment(await migratedDataDir(), { env: { TEMPORAL_NAMESPACE: namespace } }),
      { deadlineMs },
    );
    assert.deepEqual(problemCodes(findings), { temporal: 'search_attributes_missing' });
    assert.match(findingOf(findings, 'temporal').summary, /PixelshiftAccountId/);
  });

  test('when a granted bucket does not exist, then its finding says the list step failed because of that', async () => {
    const missing = `missing-${randomUUID().slice(0, 8)}`;
    const findings = await runDoctor(s3Deployment(await migratedDataDir(), { buckets: [bucket, missing] }), {
      deadlineMs,
    });
    assert.deepEqual(problemCodes(findings), { [`storage photos ${missing}`]: 'storage_list_failed' });
    assert.match(findingOf(findings, `storage photos ${missing}`).action!, /create the bucket/);
  });

  test('when the store refuses the credentials, then the finding says so and names the permission to check', async () => {
    const refusing = await refusingS3();
    try {
      const findings = await runDoctor(
        s3Deployment(await migratedDataDir(), { endpoint: refusing.endpoint }),
        { deadlineMs },
      );
      const finding = findingOf(findings, `storage photos ${bucket}`);
      assert.equal(finding.code, 'storage_list_failed');
      assert.match(finding.summary, /credentials were rejected/);
      assert.match(finding.action!, /credentials/);
    } finally {
      await refusing.close();
    }
  });

  test('when the store accepts connections but never answers, then the deadline turns it into a finding', async () => {
    const silent = await silentServer();
    try {
      const findings = await runDoctor(s3Deployment(await migratedDataDir(), { endpoint: silent.endpoint }), {
        deadlineMs: shortDeadlineMs,
      });
      const finding = findingOf(findings, 'storage photos');
      assert.equal(finding.code, 'check_timed_out');
      assert.match(finding.summary, /did not answer within 1500 ms/);
    } finally {
      await silent.close();
    }
  });

  test('when run as a command, then it prints the findings (JSON with --json) and exits 1 on a problem', async () => {
    const dataDir = await migratedDataDir();
    const healthy = await run(process.execPath, ['--import', 'tsx', 'src/app/main.ts', 'doctor', '--json'], {
      env: s3Deployment(dataDir),
    });
    const report = JSON.parse(healthy.stdout) as { ok: boolean; findings: Finding[] };
    assert.equal(report.ok, true);
    assert.equal(report.findings.length, 4);

    const failed = await run(process.execPath, ['--import', 'tsx', 'src/app/main.ts', 'doctor'], {
      env: s3Deployment(dataDir, { buckets: ['no-such-bucket-here'] }),
    }).then(
      () => assert.fail('expected exit code 1'),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /PROBLEM\s+storage photos no-such-bucket-here/);
    assert.match(failed.stderr, /→ create the bucket/);
  });
});
