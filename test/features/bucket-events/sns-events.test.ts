import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { Express } from 'express';
import request from 'supertest';
import { createApp, openApiDocumentOf } from '../../../src/app/http-app.js';
import { snsReceiptSchema } from '../../../src/features/bucket-events/sns-events.schemas.js';
import { SNS_REPLAY_WINDOW_MS } from '../../../src/core/triggers/sns-messages.js';
import { createTestApi, type TestApi } from '../../support/api-harness.js';
import { FakeIngest, fakeS3Parser, s3RecordsBody } from '../../support/fake-ingest.js';
import { documentAllowsBody } from '../../support/request-contract.js';
import {
  confirmationFields,
  createTestCertificate,
  notificationFields,
  signSnsFields,
  TEST_CERT_URL,
  TEST_TOPIC_ARN,
  type SnsFields,
} from '../../support/sns-signing.js';

const certificate = createTestCertificate();
const OTHER_TOPIC = 'arn:aws:sns:us-east-1:123456789012:someone-elses-topic';

let api: TestApi;
let app: Express;
let ingest: FakeIngest;
let certificateFetches: string[];
let confirmed: string[];
let confirmFails: boolean;
let clock: Date | undefined;

before(async () => {
  api = await createTestApi();
  api.config.storage.connections = {
    ...api.config.storage.connections,
    aws: { kind: 's3', region: 'us-east-1', events: { snsTopicArns: [TEST_TOPIC_ARN] } },
  };
  app = createApp({
    db: api.db,
    orchestrator: api.orchestrator,
    config: api.config,
    jwtSecret: api.jwtSecret,
    sns: {
      ingest: {
        ingest: (events) => ingest.ingest(events),
      },
      parse: fakeS3Parser,
      fetchCertificate: (url) => {
        certificateFetches.push(url);
        return Promise.resolve(certificate.pem);
      },
      confirmSubscription: (url) => {
        if (confirmFails) return Promise.reject(new Error('SNS unreachable'));
        confirmed.push(url);
        return Promise.resolve();
      },
      now: () => clock ?? new Date(),
    },
  });
});
after(() => api.close());
beforeEach(() => {
  ingest = new FakeIngest();
  certificateFetches = [];
  confirmed = [];
  confirmFails = false;
  clock = undefined;
});

function post(body: string | object, contentType = 'text/plain; charset=UTF-8') {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return request(app).post('/v1/events/sns').set('Content-Type', contentType).send(text);
}

const signed = (fields: SnsFields) => signSnsFields(fields, certificate.privateKey);

function assertNothingDone(): void {
  assert.equal(ingest.calls.length + ingest.failedCalls.length, 0, 'nothing was ingested');
  assert.deepEqual(confirmed, [], 'nothing was confirmed');
}

describe('POST /v1/events/sns', () => {
  test('when a v1-signed notification of an allowed topic arrives as text/plain, then its events are ingested for the topic connection', async () => {
    const message = s3RecordsBody('uploads', ['photos/cat one.jpg']);
    const res = await post(signed(notificationFields(message, { SignatureVersion: '1' }))).expect(200);
    snsReceiptSchema.parse(res.body);
    assert.equal(res.body.outcome, 'started');
    assert.equal(res.body.started, 1);
    assert.deepEqual(
      ingest.events.map((event) => [event.connection, event.bucket, event.key]),
      [['aws', 'uploads', 'photos/cat one.jpg']],
    );
    assert.deepEqual(certificateFetches, [TEST_CERT_URL]);
  });

  test('when a v2-signed notification arrives as application/json without a bearer token, then it is ingested', async () => {
    const message = s3RecordsBody('uploads', ['a.jpg', 'b.jpg']);
    const res = await post(
      signed(notificationFields(message, { SignatureVersion: '2' })),
      'application/json',
    ).expect(200);
    assert.equal(res.body.started, 2);
    assert.equal(ingest.events.length, 2);
  });

  test('when the notification is S3 test event, then it is acknowledged and nothing is ingested', async () => {
    const message = { Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'uploads' };
    const res = await post(signed(notificationFields(message))).expect(200);
    assert.equal(res.body.outcome, 'test_event');
    assertNothingDone();
  });

  test('when the Message was tampered with after signing, then 403 invalid_sns_signature and nothing is ingested', async () => {
    const fields = signed(notificationFields(s3RecordsBody('uploads', ['a.jpg'])));
    const tampered = { ...fields, Message: JSON.stringify(s3RecordsBody('uploads', ['evil.jpg'])) };
    const res = await post(tampered).expect(403);
    assert.equal(res.body.error.code, 'invalid_sns_signature');
    assertNothingDone();
  });

  test('when the signature version is unsupported, then 403 invalid_sns_signature', async () => {
    const fields = {
      ...signed(notificationFields(s3RecordsBody('uploads', ['a.jpg']))),
      SignatureVersion: '3',
    };
    const res = await post(fields).expect(403);
    assert.equal(res.body.error.code, 'invalid_sns_signature');
    assertNothingDone();
  });

  test('when the certificate URL is not on an SNS host, then 403 sns_certificate_host_refused and no certificate is fetched', async () => {
    for (const url of [
      'https://sns.us-east-1.amazonaws.com.evil.com/cert.pem',
      'https://evil.com/sns.us-east-1.amazonaws.com/cert.pem',
      'http://sns.us-east-1.amazonaws.com/cert.pem',
    ]) {
      const res = await post(signed(notificationFields({}, { SigningCertURL: url }))).expect(403);
      assert.equal(res.body.error.code, 'sns_certificate_host_refused', url);
    }
    assert.deepEqual(certificateFetches, []);
    assertNothingDone();
  });

  test('when a genuine notification comes from a topic no connection lists, then 403 sns_topic_not_allowed', async () => {
    const fields = signed(notificationFields(s3RecordsBody('uploads', ['a.jpg']), { TopicArn: OTHER_TOPIC }));
    const res = await post(fields).expect(403);
    assert.equal(res.body.error.code, 'sns_topic_not_allowed');
    assertNothingDone();
  });

  test('when a subscription confirmation of an allowed topic verifies, then the SubscribeURL is visited once', async () => {
    const fields = signed(confirmationFields({ SignatureVersion: '2' }));
    const res = await post(fields).expect(200);
    assert.equal(res.body.outcome, 'subscription_confirmed');
    assert.deepEqual(confirmed, [fields.SubscribeURL]);
  });

  test('when the same confirmation is replayed, then 409 sns_message_replayed and it is not confirmed again', async () => {
    const fields = signed(confirmationFields());
    await post(fields).expect(200);
    const replay = await post(fields).expect(409);
    assert.equal(replay.body.error.code, 'sns_message_replayed');
    assert.equal(confirmed.length, 1);
  });

  test('when confirming fails, then 502 sns_confirmation_failed and SNS retrying the same message can still confirm', async () => {
    const fields = signed(confirmationFields());
    confirmFails = true;
    const failed = await post(fields).expect(502);
    assert.equal(failed.body.error.code, 'sns_confirmation_failed');
    confirmFails = false;
    await post(fields).expect(200);
    assert.deepEqual(confirmed, [fields.SubscribeURL]);
  });

  test('when a confirmation is forged, names an unknown topic, or a foreign SubscribeURL, then nothing is confirmed', async () => {
    const forged = { ...signed(confirmationFields()), Token: 'another-token' };
    assert.equal((await post(forged).expect(403)).body.error.code, 'invalid_sns_signature');
    const unknown = signed(confirmationFields({ TopicArn: OTHER_TOPIC }));
    assert.equal((await post(unknown).expect(403)).body.error.code, 'sns_topic_not_allowed');
    const foreign = signed(confirmationFields({ SubscribeURL: 'https://attacker.example/confirm' }));
    assert.equal((await post(foreign).expect(403)).body.error.code, 'sns_certificate_host_refused');
    assertNothingDone();
  });

  test('when an unsubscribe confirmation verifies, then it is acknowledged and nothing is visited', async () => {
    const res = await post(signed(confirmationFields({ Type: 'UnsubscribeConfirmation' }))).expect(200);
    assert.equal(res.body.outcome, 'unsubscribe_noted');
    assertNothingDone();
  });

  test('when a genuine message is older than the replay window, then 403 sns_message_expired and nothing is done', async () => {
    const notification = signed(notificationFields(s3RecordsBody('uploads', ['a.jpg'])));
    const confirmation = signed(confirmationFields());
    clock = new Date(Date.now() + SNS_REPLAY_WINDOW_MS + 60_000);
    assert.equal((await post(notification).expect(403)).body.error.code, 'sns_message_expired');
    assert.equal((await post(confirmation).expect(403)).body.error.code, 'sns_message_expired');
    assertNothingDone();
  });

  test('when the ingest fails, then 503 orchestrator_unavailable so SNS retries, and the retry is ingested', async () => {
    const fields = signed(notificationFields(s3RecordsBody('uploads', ['a.jpg'])));
    ingest.failNext = 1;
    const res = await post(fields).expect(503);
    assert.equal(res.body.error.code, 'orchestrator_unavailable');
    assert.equal(res.headers['retry-after'], '1');
    await post(fields).expect(200);
    assert.equal(ingest.events.length, 1);
  });

  test('when the certificate cannot be fetched, then 503 sns_certificate_unavailable and nothing is done', async () => {
    const broken = createApp({
      db: api.db,
      orchestrator: api.orchestrator,
      config: api.config,
      jwtSecret: api.jwtSecret,
      sns: {
        ingest,
        parse: fakeS3Parser,
        fetchCertificate: () => Promise.reject(new Error('timeout')),
        confirmSubscription: () => Promise.reject(new Error('unexpected')),
      },
    });
    const res = await request(broken)
      .post('/v1/events/sns')
      .set('Content-Type', 'text/plain')
      .send(JSON.stringify(signed(notificationFields(s3RecordsBody('uploads', ['a.jpg'])))))
      .expect(503);
    assert.equal(res.body.error.code, 'sns_certificate_unavailable');
    assertNothingDone();
  });

  test('when the signed Message is not a bucket notification, then 400 invalid_sns_message and nothing is ingested', async () => {
    for (const message of ['not json', JSON.stringify({ hello: 'world' })]) {
      const res = await post(signed(notificationFields(message))).expect(400);
      assert.equal(res.body.error.code, 'invalid_sns_message');
    }
    assertNothingDone();
  });

  test('when the body is not JSON, not an object, or misses fields, then 400 with a precise code', async () => {
    const cases: [string, string][] = [
      ['{not json', 'invalid_json'],
      ['', 'invalid_json'],
      ['[]', 'invalid_sns_message'],
      ['"Notification"', 'invalid_sns_message'],
      ['null', 'invalid_sns_message'],
      [JSON.stringify({ Type: 'Notification' }), 'invalid_sns_message'],
      [JSON.stringify({ ...signed(notificationFields({})), MessageId: undefined }), 'invalid_sns_message'],
    ];
    for (const [body, code] of cases) {
      const res = await post(body).expect(400);
      assert.equal(res.body.error.code, code, body);
    }
    assert.deepEqual(certificateFetches, []);
    assertNothingDone();
  });

  test('when the x-amz-sns-message-type header contradicts the body, then 400 invalid_sns_message', async () => {
    const res = await request(app)
      .post('/v1/events/sns')
      .set('Content-Type', 'text/plain')
      .set('x-amz-sns-message-type', 'SubscriptionConfirmation')
      .send(JSON.stringify(signed(notificationFields(s3RecordsBody('uploads', ['a.jpg'])))))
      .expect(400);
    assert.equal(res.body.error.code, 'invalid_sns_message');
    assertNothingDone();
  });

  test('when the header contradicts a body whose signature does not verify, then the signature is refused first (403)', async () => {
    const forged = { ...signed(notificationFields(s3RecordsBody('uploads', ['a.jpg']))), Message: 'changed' };
    const res = await request(app)
      .post('/v1/events/sns')
      .set('Content-Type', 'text/plain')
      .set('x-amz-sns-message-type', 'SubscriptionConfirmation')
      .send(JSON.stringify(forged))
      .expect(403);
    assert.equal(res.body.error.code, 'invalid_sns_signature');
    assertNothingDone();
  });

  test('when the Timestamp has the form but is no calendar time (30 February, hour 24), then 400 invalid_sns_message', async () => {
    for (const Timestamp of ['2026-02-30T10:00:00Z', '2026-03-01T24:00:00Z']) {
      const res = await post(signed(notificationFields(s3RecordsBody('uploads', ['a.jpg']), { Timestamp })));
      assert.equal(res.status, 400, `${Timestamp}: ${res.text}`);
      assert.deepEqual(res.body.error, {
        code: 'invalid_sns_message',
        message: 'Timestamp must be an ISO 8601 UTC time',
      });
    }
    assertNothingDone();
  });

  test('when x-amz-sns-message-type is not an SNS message type, then 400 invalid_request naming the header', async () => {
    const res = await request(app)
      .post('/v1/events/sns')
      .set('Content-Type', 'text/plain')
      .set('x-amz-sns-message-type', 'Surprise')
      .send(JSON.stringify(signed(notificationFields(s3RecordsBody('uploads', ['a.jpg'])))))
      .expect(400);
    assert.equal(res.body.error.code, 'invalid_request');
    assert.equal(res.body.error.message, 'The headers are invalid');
    assert.deepEqual(
      res.body.error.issues.map((issue: { path: string }) => issue.path),
      ['/x-amz-sns-message-type'],
    );
    assertNothingDone();
  });

  test('when the body is larger than 512 KiB, then 413 payload_too_large before it is parsed', async () => {
    const huge = JSON.stringify(signed(notificationFields('x'.repeat(600 * 1024))));
    const res = await post(huge).expect(413);
    assert.equal(res.body.error.code, 'payload_too_large');
    assert.match(res.body.error.message, /524288/);
    assert.deepEqual(certificateFetches, []);
    assertNothingDone();
  });

  test('when the body has another media type, then 415 unsupported_media_type', async () => {
    const res = await post(signed(notificationFields({})), 'application/x-www-form-urlencoded').expect(415);
    assert.equal(res.body.error.code, 'unsupported_media_type');
    assertNothingDone();
  });

  test('when the app runs with its own SNS parts, then the ingress needs no bearer token and still refuses a foreign certificate host', async () => {
    const res = await request(api.app)
      .post('/v1/events/sns')
      .set('Content-Type', 'text/plain')
      .send(
        JSON.stringify(signed(notificationFields({}, { SigningCertURL: 'https://evil.example/cert.pem' }))),
      )
      .expect(403);
    assert.equal(res.body.error.code, 'sns_certificate_host_refused');
  });
});

describe('POST /v1/events/sns: the document is as strict as the server', () => {
  const allowed = (body: unknown) =>
    documentAllowsBody(openApiDocumentOf(app), 'post', '/v1/events/sns', body, 'text/plain');

  test('when messages SNS sends are checked against the document, then it allows every one and the server accepts them', async () => {
    const messages = [
      signed(notificationFields(s3RecordsBody('uploads', ['a.jpg']), { SignatureVersion: '1' })),
      signed(notificationFields(s3RecordsBody('uploads', ['b.jpg']), { Subject: undefined })),
      signed(confirmationFields({ SignatureVersion: '2' })),
      signed(confirmationFields({ Type: 'UnsubscribeConfirmation' })),
    ];
    for (const message of messages) {
      assert.ok(allowed(message), JSON.stringify(message));
      await post(message).expect(200);
    }
  });

  test('when a field is empty, malformed or missing, then the document forbids it and the server refuses it with nothing done', async () => {
    const notification = signed(notificationFields(s3RecordsBody('uploads', ['a.jpg'])));
    const confirmation = signed(confirmationFields());
    const cases: [string, Record<string, unknown>, number][] = [
      ...['MessageId', 'TopicArn', 'Message', 'Timestamp', 'SigningCertURL'].map(
        (field): [string, Record<string, unknown>, number] => [
          `an empty ${field}`,
          { ...notification, [field]: '' },
          400,
        ],
      ),
      ['an empty Signature', { ...notification, Signature: '' }, 400],
      ['an empty SignatureVersion', { ...notification, SignatureVersion: '' }, 400],
      ['an empty Subject', { ...notification, Subject: '' }, 400],
      ['a confirmation with an empty SubscribeURL', { ...confirmation, SubscribeURL: '' }, 400],
      ['a confirmation with an empty Token', { ...confirmation, Token: '' }, 400],
      ['a confirmation without a Token', { ...confirmation, Token: undefined }, 400],
      ['a MessageId with spaces', { ...notification, MessageId: 'not an id' }, 400],
      ['a TopicArn that is not an SNS topic', { ...notification, TopicArn: 'arn:aws:s3:::bucket' }, 400],
      ['a Timestamp that is not ISO 8601 UTC', { ...notification, Timestamp: 'yesterday' }, 400],
      ['an unknown Type', { ...notification, Type: 'Surprise' }, 400],
      ['a Signature that is not base64', { ...notification, Signature: 'not base64!' }, 403],
      ['SignatureVersion 3', { ...notification, SignatureVersion: '3' }, 403],
    ];
    for (const [name, body, status] of cases) {
      assert.equal(allowed(body), false, `the document allows ${name}`);
      const res = await post(body);
      assert.equal(res.status, status, `${name}: ${res.text}`);
    }
    assert.deepEqual(certificateFetches, []);
    assertNothingDone();
  });
});
