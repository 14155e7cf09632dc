import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  assertSnsUrl,
  CertificateUnavailableError,
  connectionsForTopic,
  createCertificateFetcher,
  parseSnsEnvelope,
  SNS_REPLAY_WINDOW_MS,
  SnsRefusal,
  snsStringToSign,
  verifySnsEnvelope,
  type SnsRefusalCode,
} from '../../../src/core/triggers/sns-messages.js';
import {
  canonicalSnsString,
  confirmationFields,
  createTestCertificate,
  notificationFields,
  signSnsFields,
  TEST_CERT_URL,
  TEST_TOPIC_ARN,
} from '../../support/sns-signing.js';

const certificate = createTestCertificate();
const fetchCertificate = (url: string) => {
  assert.equal(url, TEST_CERT_URL);
  return Promise.resolve(certificate.pem);
};

async function refusalOf(run: () => unknown): Promise<SnsRefusalCode> {
  try {
    await run();
  } catch (error) {
    if (error instanceof SnsRefusal) return error.code;
    throw error;
  }
  assert.fail('expected a refusal');
}

function verifyFields(fields: Record<string, string>, now?: Date) {
  return verifySnsEnvelope(parseSnsEnvelope(fields), { fetchCertificate, ...(now ? { now } : {}) });
}

describe('SNS envelope parsing', () => {
  test('when a notification is parsed, then its fields are kept exactly and Subject only when given', () => {
    const fields = signSnsFields(
      notificationFields({ hello: 'wörld\n' }, { Subject: undefined }),
      certificate.privateKey,
    );
    const envelope = parseSnsEnvelope(fields);
    assert.equal(envelope.type, 'Notification');
    assert.equal(envelope.message, '{"hello":"wörld\\n"}');
    assert.equal(envelope.subject, undefined);
    assert.equal(envelope.topicArn, TEST_TOPIC_ARN);
  });

  test('when the body is not an SNS message, then invalid_sns_message names what is wrong', async () => {
    const valid = signSnsFields(notificationFields({}), certificate.privateKey);
    const cases: unknown[] = [
      null,
      [],
      'text',
      42,
      {},
      { ...valid, Type: 'Publish' },
      { ...valid, MessageId: undefined },
      { ...valid, MessageId: '../../etc' },
      { ...valid, TopicArn: 'arn:aws:s3:::bucket' },
      { ...valid, Message: 7 },
      { ...valid, Message: '' },
      { ...valid, Timestamp: 'yesterday' },
      { ...valid, Timestamp: '2024-02-30T10:00:00.000+01:00' },
      { ...valid, Subject: ['array'] },
      { ...confirmationFields(), Signature: 'AAAA', SubscribeURL: undefined },
      { ...confirmationFields(), Signature: 'AAAA', Token: undefined },
    ];
    for (const body of cases) {
      assert.equal(
        await refusalOf(() => parseSnsEnvelope(body)),
        'invalid_sns_message',
        JSON.stringify(body),
      );
    }
  });

  test('when the signature version is unknown or the signature is not base64, then invalid_sns_signature', async () => {
    const valid = signSnsFields(notificationFields({}), certificate.privateKey);
    for (const body of [
      { ...valid, SignatureVersion: '3' },
      { ...valid, SignatureVersion: '' },
      { ...valid, Signature: 'not base64!' },
    ] as Record<string, string>[]) {
      const expected = body.SignatureVersion === '' ? 'invalid_sns_message' : 'invalid_sns_signature';
      assert.equal(await refusalOf(() => parseSnsEnvelope(body)), expected, JSON.stringify(body));
    }
  });

  test('when the string to sign is built, then it lists the documented fields in order, each as name and value lines', () => {
    const notification = notificationFields('{"a":1}', {
      MessageId: 'm-1',
      Timestamp: '2026-01-01T00:00:00.000Z',
      Subject: 'S',
    });
    const envelope = parseSnsEnvelope({ ...notification, Signature: 'AAAA' });
    assert.equal(
      snsStringToSign(envelope),
      `Message\n{"a":1}\nMessageId\nm-1\nSubject\nS\nTimestamp\n2026-01-01T00:00:00.000Z\nTopicArn\n${TEST_TOPIC_ARN}\nType\nNotification\n`,
    );
    const confirmation = confirmationFields();
    assert.equal(
      snsStringToSign(parseSnsEnvelope({ ...confirmation, Signature: 'AAAA' })),
      canonicalSnsString(confirmation),
    );
  });
});

describe('SNS URL checks', () => {
  test('when the certificate URL is an https URL on an SNS host, then it is accepted', () => {
    for (const url of [
      TEST_CERT_URL,
      'https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-abc.pem',
      'https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem',
      'https://sns.us-gov-west-1.amazonaws.com:443/SimpleNotificationService-abc.pem',
    ]) {
      assert.equal(assertSnsUrl(url, 'SigningCertURL').protocol, 'https:', url);
    }
  });

  test('when the certificate URL is on another host, another scheme, a port or carries credentials, then sns_certificate_host_refused', async () => {
    for (const url of [
      'http://sns.us-east-1.amazonaws.com/cert.pem',
      'https://sns.us-east-1.amazonaws.com.evil.com/cert.pem',
      'https://evil.com/sns.us-east-1.amazonaws.com/cert.pem',
      'https://evil.com/?sns.us-east-1.amazonaws.com',
      'https://sns.us-east-1.amazonaws.com@evil.com/cert.pem',
      'https://user:pw@sns.us-east-1.amazonaws.com/cert.pem',
      'https://sns.us-east-1.amazonaws.com:8443/cert.pem',
      'https://sns.us-east-1.amazonaws.com./cert.pem',
      'https://evilsns.us-east-1.amazonaws.com/cert.pem',
      'https://sns.amazonaws.com/cert.pem',
      'https://s3.us-east-1.amazonaws.com/cert.pem',
      'https://sns.us-east-1.amazonaws.com/cert.txt',
      'file:///etc/passwd',
      'not a url',
      '',
    ]) {
      assert.equal(
        await refusalOf(() => assertSnsUrl(url, 'SigningCertURL')),
        'sns_certificate_host_refused',
        url,
      );
    }
  });

  test('when a confirmation names a SubscribeURL on another host, then it is refused before any certificate is fetched', async () => {
    let fetched = 0;
    const fields = signSnsFields(
      confirmationFields({ SubscribeURL: 'https://attacker.example/?Action=ConfirmSubscription' }),
      certificate.privateKey,
    );
    const code = await refusalOf(() =>
      verifySnsEnvelope(parseSnsEnvelope(fields), {
        fetchCertificate: () => {
          fetched += 1;
          return Promise.resolve(certificate.pem);
        },
      }),
    );
    assert.equal(code, 'sns_certificate_host_refused');
    assert.equal(fetched, 0);
  });

  test('when the default fetcher is asked for a URL that is not an SNS host, then it refuses without a request', async () => {
    const fetcher = createCertificateFetcher({ timeoutMs: 100 });
    assert.equal(
      await refusalOf(() => fetcher('https://127.0.0.1/cert.pem')),
      'sns_certificate_host_refused',
    );
  });
});

describe('SNS signature verification', () => {
  test('when a notification is signed with version 1 (SHA1withRSA), then it verifies', async () => {
    await verifyFields(
      signSnsFields(notificationFields({ a: 1 }, { SignatureVersion: '1' }), certificate.privateKey),
    );
  });

  test('when a notification is signed with version 2 (SHA256withRSA), then it verifies', async () => {
    await verifyFields(
      signSnsFields(notificationFields({ a: 1 }, { SignatureVersion: '2' }), certificate.privateKey),
    );
  });

  test('when a notification has no Subject, then the string to sign leaves it out and it verifies', async () => {
    await verifyFields(
      signSnsFields(notificationFields({ a: 1 }, { Subject: undefined }), certificate.privateKey),
    );
  });

  test('when confirmations are signed with either version, then they verify', async () => {
    for (const version of ['1', '2']) {
      await verifyFields(
        signSnsFields(confirmationFields({ SignatureVersion: version }), certificate.privateKey),
      );
      await verifyFields(
        signSnsFields(
          confirmationFields({ Type: 'UnsubscribeConfirmation', SignatureVersion: version }),
          certificate.privateKey,
        ),
      );
    }
  });

  test('when any signed field is changed after signing, then invalid_sns_signature', async () => {
    const signed = signSnsFields(
      notificationFields({ key: 'cat.jpg' }, { SignatureVersion: '2' }),
      certificate.privateKey,
    );
    const tampered: Record<string, string>[] = [
      { ...signed, Message: JSON.stringify({ key: 'dog.jpg' }) },
      { ...signed, MessageId: 'another-id' },
      { ...signed, Subject: 'Other' },
      { ...signed, TopicArn: 'arn:aws:sns:us-east-1:123456789012:other' },
      { ...signed, Timestamp: new Date(Date.now() - 1000).toISOString() },
      { ...signed, SignatureVersion: '1' },
      { ...signed, Type: 'SubscriptionConfirmation', SubscribeURL: TEST_CERT_URL, Token: 't' },
    ];
    const withoutSubject = { ...signed };
    delete (withoutSubject as Record<string, string | undefined>).Subject;
    tampered.push(withoutSubject);
    for (const fields of tampered) {
      assert.equal(
        await refusalOf(() => verifyFields(fields)),
        'invalid_sns_signature',
        JSON.stringify(fields),
      );
    }
  });

  test('when the message is signed by another key, then invalid_sns_signature', async () => {
    const other = createTestCertificate();
    assert.equal(
      await refusalOf(() => verifyFields(signSnsFields(notificationFields({}), other.privateKey))),
      'invalid_sns_signature',
    );
  });

  test('when the certificate is expired, not yet valid, or not a certificate, then invalid_sns_signature', async () => {
    const day = 86_400_000;
    const expired = createTestCertificate({
      notBefore: new Date(Date.now() - 3 * day),
      notAfter: new Date(Date.now() - day),
    });
    const future = createTestCertificate({
      notBefore: new Date(Date.now() + day),
      notAfter: new Date(Date.now() + 3 * day),
    });
    for (const { pem, privateKey } of [expired, future]) {
      const fields = signSnsFields(notificationFields({}), privateKey);
      const code = await refusalOf(() =>
        verifySnsEnvelope(parseSnsEnvelope(fields), { fetchCertificate: () => Promise.resolve(pem) }),
      );
      assert.equal(code, 'invalid_sns_signature');
    }
    const fields = signSnsFields(notificationFields({}), certificate.privateKey);
    const publicKeyOnly = certificate.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    for (const pem of ['', 'garbage', publicKeyOnly]) {
      const code = await refusalOf(() =>
        verifySnsEnvelope(parseSnsEnvelope(fields), { fetchCertificate: () => Promise.resolve(pem) }),
      );
      assert.equal(code, 'invalid_sns_signature');
    }
  });

  test('when the certificate cannot be fetched, then CertificateUnavailableError (retry later), not a refusal', async () => {
    const fields = signSnsFields(notificationFields({}), certificate.privateKey);
    await assert.rejects(
      verifySnsEnvelope(parseSnsEnvelope(fields), {
        fetchCertificate: () => Promise.reject(new Error('down')),
      }),
      CertificateUnavailableError,
    );
  });

  test('when a genuine message is older or newer than the replay window, then sns_message_expired', async () => {
    const fields = signSnsFields(notificationFields({}, { SignatureVersion: '2' }), certificate.privateKey);
    const sent = Date.parse(fields.Timestamp!);
    await verifyFields(fields, new Date(sent + SNS_REPLAY_WINDOW_MS - 1000));
    assert.equal(
      await refusalOf(() => verifyFields(fields, new Date(sent + SNS_REPLAY_WINDOW_MS + 1000))),
      'sns_message_expired',
    );
    assert.equal(
      await refusalOf(() => verifyFields(fields, new Date(sent - SNS_REPLAY_WINDOW_MS - 1000))),
      'sns_message_expired',
    );
  });
});

describe('SNS topic allow-list', () => {
  test('when connections list topics, then a topic maps to exactly the s3 connections that list it', () => {
    const connections = {
      b: { kind: 's3' as const, region: 'us-east-1', events: { snsTopicArns: [TEST_TOPIC_ARN] } },
      a: { kind: 's3' as const, region: 'us-east-1', events: { snsTopicArns: [TEST_TOPIC_ARN] } },
      other: { kind: 's3' as const, region: 'us-east-1', events: { snsTopicArns: [`${TEST_TOPIC_ARN}-2`] } },
      bare: { kind: 's3' as const, region: 'us-east-1' },
      local: { kind: 'local' as const, root: '/tmp/x' },
    };
    assert.deepEqual(connectionsForTopic(connections, TEST_TOPIC_ARN), ['a', 'b']);
    assert.deepEqual(connectionsForTopic(connections, 'arn:aws:sns:us-east-1:123456789012:unknown'), []);
  });
});
