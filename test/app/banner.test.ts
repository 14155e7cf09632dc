import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CreateQueueCommand, DeleteQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import {
  browserBaseUrl,
  configurationDescription,
  dashboardUrl,
  devBannerLines,
  type DevBannerInfo,
} from '../../src/app/banner.js';
import { startEventFeeders } from '../../src/app/feeders.js';
import { loadConfig, type Config } from '../../src/core/config.js';
import { createSqsClientFor } from '../../src/features/bucket-events/sqs-poller.js';
import { FakeIngest, fakeS3Parser } from '../support/fake-ingest.js';
import { testS3Credentials, testS3Region } from '../support/s3-buckets.js';
import { s3Endpoint } from '../support/services.js';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pixelshift-banner-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

function banner(config: Config, feeders: readonly string[]): string[] {
  const info: DevBannerInfo = {
    config,
    api: 'http://127.0.0.1:3000',
    temporalUi: undefined,
    dataDir,
    storageRoot: path.join(dataDir, 'storage'),
    feeders,
    devKey: { keyId: 'pk_test', secret: 'sk_test' },
    devAccountId: 'dev',
    exampleFolders: undefined,
  };
  return devBannerLines(info);
}

describe('start-up banner', () => {
  let endpoint: string;
  let sqs: SQSClient;
  let queueUrl: string;
  before(async () => {
    endpoint = await s3Endpoint();
    sqs = createSqsClientFor({ kind: 's3', endpoint, region: testS3Region, credentials: testS3Credentials });
    const created = await sqs.send(
      new CreateQueueCommand({ QueueName: `banner-${randomBytes(4).toString('hex')}` }),
    );
    queueUrl = created.QueueUrl!;
  });
  after(async () => {
    await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })).catch(() => undefined);
    sqs.destroy();
  });

  test('when no PIXELSHIFT_CONFIG is set, then the banner says it runs the embedded defaults and names the watcher it started', async () => {
    const config = loadConfig({ PIXELSHIFT_DATA_DIR: dataDir });
    const feeders = startEventFeeders({
      connections: config.storage.connections,
      ingest: new FakeIngest(),
      parse: fakeS3Parser,
    });
    try {
      const lines = banner(config, feeders.descriptions);
      assert.ok(lines.includes('  config       embedded defaults (no PIXELSHIFT_CONFIG)'), lines.join('\n'));
      assert.ok(
        lines.includes(
          `    connection "default": watching ${path.join(dataDir, 'storage')} (files settle for 5 s)`,
        ),
        lines.join('\n'),
      );
    } finally {
      await feeders.stop();
    }
  });

  test('when PIXELSHIFT_CONFIG names a file, then the banner names it and lists every watcher and SQS poller it started', async () => {
    const file = path.join(dataDir, 'pixelshift.json');
    const watched = path.join(dataDir, 'watched');
    writeFileSync(
      file,
      JSON.stringify({
        connections: {
          default: {
            kind: 's3',
            endpoint,
            region: testS3Region,
            // Written out: the SDK decorates credential objects it has used, which strict config refuses.
            credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
            events: { sqsQueueUrl: queueUrl },
          },
          disk: { kind: 'local', root: watched, watch: { settle: '12s' } },
          quiet: { kind: 'local', root: path.join(dataDir, 'quiet') },
        },
      }),
    );
    const config = loadConfig({ PIXELSHIFT_DATA_DIR: dataDir, PIXELSHIFT_CONFIG: file });
    assert.equal(configurationDescription(config), `${file} (PIXELSHIFT_CONFIG)`);
    const feeders = startEventFeeders({
      connections: config.storage.connections,
      ingest: new FakeIngest(),
      parse: fakeS3Parser,
    });
    try {
      const lines = banner(config, feeders.descriptions);
      const feederSection = lines.slice(lines.indexOf('  event feeders') + 1, lines.indexOf('', 2));
      assert.deepEqual(feederSection, [
        `    connection "default": polling ${queueUrl}`,
        `    connection "disk": watching ${watched} (files settle for 12 s)`,
      ]);
      assert.ok(lines.includes(`  config       ${file} (PIXELSHIFT_CONFIG)`));
      assert.ok(!lines.some((line) => line.startsWith('  storage')), 'no embedded storage folder to show');
    } finally {
      await feeders.stop();
    }
  });

  test('when no feeder runs, then the banner says events come only over HTTP', () => {
    const config = loadConfig({ PIXELSHIFT_DATA_DIR: dataDir });
    assert.ok(banner(config, []).includes('    none (bucket events arrive only over HTTP)'));
  });

  test('when the API listens on a loopback address, then the banner names the dashboard at localhost, and other hosts as they are', () => {
    const config = loadConfig({ PIXELSHIFT_DATA_DIR: dataDir });
    assert.ok(banner(config, []).includes('Dashboard: http://localhost:3000/dashboard/'));
    assert.equal(dashboardUrl('http://[::]:8080'), 'http://localhost:8080/dashboard/');
    assert.equal(dashboardUrl('http://10.1.2.3:8080'), 'http://10.1.2.3:8080/dashboard/');
  });

  test('when the dev user has a sign-in link, then the banner prints the dashboard address and the one-time link', () => {
    const config = loadConfig({ PIXELSHIFT_DATA_DIR: dataDir });
    const lines = devBannerLines({
      config,
      api: 'http://127.0.0.1:3000',
      temporalUi: undefined,
      dataDir,
      storageRoot: path.join(dataDir, 'storage'),
      feeders: [],
      devKey: { keyId: 'pk_test', secret: 'sk_test' },
      devAccountId: 'dev',
      exampleFolders: undefined,
      dashboard: {
        url: 'http://localhost:3000/dashboard/',
        signInLink: 'http://localhost:3000/auth/link/abc',
      },
    });
    assert.ok(lines.includes('Dashboard: http://localhost:3000/dashboard/'), lines.join('\n'));
    assert.ok(
      lines.includes('Sign in (one-time link): http://localhost:3000/auth/link/abc'),
      lines.join('\n'),
    );
  });

  test('when the server listens on a loopback or wildcard address, then browsers are given localhost; PUBLIC_URL wins', () => {
    assert.equal(browserBaseUrl('http://127.0.0.1:3000', undefined), 'http://localhost:3000');
    assert.equal(browserBaseUrl('http://0.0.0.0:8080', undefined), 'http://localhost:8080');
    assert.equal(browserBaseUrl('http://10.0.0.5:3000', undefined), 'http://10.0.0.5:3000');
    assert.equal(
      browserBaseUrl('http://127.0.0.1:3000', 'https://img.example.com/'),
      'https://img.example.com',
    );
  });
});
