import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import type { GraphOutcome } from '../../src/core/jobs/job-status.js';
import { fixturePath } from '../support/fixtures.js';
import { startStack, type Stack } from '../support/stack.js';

const eventsToken = 'e2e-events-token-0123456789abcdef0123456789';
const photo = 'jpeg-icc-adobe-rgb.jpg';
/** A key with a space and a plus, as S3 writes it into a notification (form-encoded). */
const key = 'in/my photo+1.jpg';
const encodedKey = 'in/my+photo%2B1.jpg';

interface EventAnswer {
  events: number;
  started: number;
  duplicates: number;
  unmatched: number;
  runs: { workflowId: string; statusUrl: string }[];
}

describe('bucket events end to end: rule → upload → S3 event → Temporal → worker → outputs (moto)', () => {
  let stack: Stack;
  let thumbRuleId: string;

  /** An AWS notification built from what S3 really answered for the upload. */
  function awsEvent(objectKey: string, etag: string, size: number, sequencer: string) {
    return {
      Records: [
        {
          eventVersion: '2.1',
          eventSource: 'aws:s3',
          awsRegion: 'us-east-1',
          eventTime: new Date().toISOString(),
          eventName: 'ObjectCreated:Put',
          s3: {
            s3SchemaVersion: '1.0',
            bucket: { name: stack.buckets.input, arn: `arn:aws:s3:::${stack.buckets.input}` },
            object: { key: objectKey, size, eTag: etag.replace(/"/g, ''), sequencer },
          },
        },
      ],
    };
  }

  async function upload(): Promise<{ etag: string; size: number }> {
    const body = readFileSync(fixturePath(photo));
    const put = await stack.s3.send(
      new PutObjectCommand({ Bucket: stack.buckets.input, Key: key, Body: body, ContentType: 'image/jpeg' }),
    );
    return { etag: put.ETag!, size: body.length };
  }

  async function postEvent(body: unknown): Promise<EventAnswer> {
    const res = await stack.api('/v1/events/s3', {
      method: 'POST',
      body: JSON.stringify(body),
      token: eventsToken,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as EventAnswer;
  }

  async function waitForRun(statusUrl: string): Promise<GraphOutcome> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const { status, body } = await stack.api(statusUrl);
      assert.equal(status, 200, JSON.stringify(body));
      const outcome = body as GraphOutcome;
      if (['succeeded', 'partial', 'failed', 'cancelled', 'superseded'].includes(outcome.state))
        return outcome;
      if (Date.now() > deadline) throw new Error(`run ${statusUrl} still ${outcome.state}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  before(async () => {
    stack = await startStack({ eventsToken });
    const rule = await stack.api('/v1/rules', {
      method: 'POST',
      body: JSON.stringify({
        name: 'thumbnails next to the uploads',
        bucket: stack.buckets.input,
        prefix: 'in/',
        suffix: '.jpg',
        template: {
          transformUnits: [
            { type: 'Resize', width: 120, height: 120, fit: 'cover' },
            { type: 'ImageFormat', format: 'webp' },
            // Outputs land in the watched bucket, outside the rule's prefix.
            { type: 'StorageSink', bucket: '{bucket}', key: 'thumbs/{dir}/{name}.webp' },
          ],
        },
      }),
    });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));
    thumbRuleId = (rule.body as { ruleId: string }).ruleId;
    // A second rule that watches where the first one writes: only the generated marker keeps it quiet
    // (an AWS record cannot show it, so its run reads it).
    const watcher = await stack.api('/v1/rules', {
      method: 'POST',
      body: JSON.stringify({
        bucket: stack.buckets.input,
        prefix: 'thumbs/',
        template: {
          transformUnits: [
            { type: 'Resize', width: 10 },
            { type: 'ImageFormat', format: 'png' },
            { type: 'StorageSink', bucket: stack.buckets.output, key: '{key}.png' },
          ],
        },
      }),
    });
    assert.equal(watcher.status, 201, JSON.stringify(watcher.body));
  });
  after(() => stack?.close());

  test('when an upload is announced, then the run writes the outputs with generated metadata; duplicates, re-uploads and outputs behave', async () => {
    const testStart = new Date(Date.now() - 60_000).toISOString();
    const first = await upload();
    const answer = await postEvent(awsEvent(encodedKey, first.etag, first.size, '0001'));
    assert.equal(answer.started, 1, JSON.stringify(answer));
    const [run] = answer.runs;
    assert.equal(run!.workflowId, `s3/default/${stack.buckets.input}/${key}/0001/${thumbRuleId}`);

    const outcome = await waitForRun(run!.statusUrl);
    assert.equal(outcome.state, 'succeeded', JSON.stringify(outcome));
    assert.deepEqual(
      outcome.sinks.map((sink) => [sink.bucket, sink.key]),
      [[stack.buckets.input, 'thumbs/in/my photo+1.webp']],
    );
    const bytes = await stack.readObject(stack.buckets.input, 'thumbs/in/my photo+1.webp');
    const meta = await sharp(bytes).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 120, 120]);
    const head = await stack.s3.send(
      new HeadObjectCommand({ Bucket: stack.buckets.input, Key: 'thumbs/in/my photo+1.webp' }),
    );
    assert.equal(head.Metadata?.['pixelshift-generated'], 'true');

    // The same event again (a redelivery): no new run.
    const again = await postEvent(awsEvent(encodedKey, first.etag, first.size, '0001'));
    assert.deepEqual([again.started, again.duplicates], [0, 1]);

    // The output lands in the watched bucket; its event matches the second rule by name. The record
    // cannot say that the object is generated: the run started for it finds the mark and does nothing.
    const outputEtag = (head.ETag ?? '').replace(/"/g, '');
    const output = await postEvent(awsEvent('thumbs/in/my+photo%2B1.webp', outputEtag, bytes.length, '0002'));
    assert.deepEqual([output.started, output.unmatched], [1, 0]);
    const outputRun = await waitForRun(output.runs[0]!.statusUrl);
    assert.deepEqual([outputRun.state, outputRun.sinks, outputRun.failures], ['superseded', [], []]);
    await assert.rejects(
      stack.s3.send(
        new HeadObjectCommand({ Bucket: stack.buckets.output, Key: 'thumbs/in/my photo+1.webp.png' }),
      ),
      'the watching rule wrote nothing',
    );

    // The same key uploaded again, announced with a new sequencer: a second run.
    const second = await upload();
    // Delivered twice at the same moment (two senders, or a retry racing the original): one run.
    const racing = await Promise.all([
      postEvent(awsEvent(encodedKey, second.etag, second.size, '0003')),
      postEvent(awsEvent(encodedKey, second.etag, second.size, '0003')),
    ]);
    assert.deepEqual(
      racing.map((answer) => answer.started + answer.duplicates),
      [1, 1],
    );
    assert.equal(racing[0].started + racing[1].started, 1);
    assert.equal(racing[0].runs[0]!.workflowId, racing[1].runs[0]!.workflowId);
    const rerun = racing[0];
    assert.notEqual(rerun.runs[0]!.workflowId, run!.workflowId);
    assert.equal((await waitForRun(rerun.runs[0]!.statusUrl)).state, 'succeeded');

    // Both runs appear in the account's list of S3-triggered runs (visibility is eventually consistent).
    let listed: { workflowId: string; ruleId: string; source: string; state: string }[] = [];
    for (let attempt = 0; attempt < 60; attempt++) {
      const { status, body } = await stack.api(
        `/v1/events/s3/runs?rule=${thumbRuleId}&state=succeeded&since=${encodeURIComponent(testStart)}&until=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`,
      );
      assert.equal(status, 200, JSON.stringify(body));
      listed = (body as { runs: typeof listed }).runs;
      if (listed.length === 2) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.deepEqual(
      listed.map((entry) => entry.workflowId).sort(),
      [run!.workflowId, rerun.runs[0]!.workflowId].sort(),
    );
    assert.ok(listed.every((entry) => entry.source === `${stack.buckets.input}/${key}`));
  });

  test('when another account asks for the run, then it does not exist for it', async () => {
    const other = await stack.addAccount('other');
    const { body } = await stack.api('/v1/events/s3/runs');
    const [mine] = (body as { runs: { statusUrl: string }[] }).runs;
    assert.ok(mine);
    const res = await other.api(mine.statusUrl);
    assert.equal(res.status, 404);
    assert.equal((res.body as { error: { code: string } }).error.code, 'run_not_found');
  });
});
