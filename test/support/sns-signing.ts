/**
 * Signs SNS messages the way Amazon does, with a test key: an RSA key pair and a self-signed X.509
 * certificate built here in DER (node:crypto makes keys but not certificates, and the tests should not
 * depend on an `openssl` binary).
 */
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

const sequence = (...content: Buffer[]) => der(0x30, ...content);
const set = (...content: Buffer[]) => der(0x31, ...content);
/** A non-negative DER INTEGER in its one valid form: no redundant leading zero, one where the high bit is set. */
const integer = (value: Buffer) => {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) start += 1;
  const minimal = value.subarray(start);
  return der(0x02, minimal[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), minimal]) : minimal);
};
const nullValue = () => Buffer.from([0x05, 0x00]);
const utf8String = (text: string) => der(0x0c, Buffer.from(text, 'utf8'));
const bitString = (content: Buffer) => der(0x03, Buffer.from([0]), content);
const explicit = (tagNumber: number, content: Buffer) => der(0xa0 + tagNumber, content);

function oid(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split('.').map(Number);
  const bytes = [first! * 40 + second!];
  for (const part of rest) {
    const chunk: number[] = [part & 0x7f];
    for (let value = part >> 7; value > 0; value >>= 7) chunk.unshift((value & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
}

function generalizedTime(date: Date): Buffer {
  const text = date
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return der(0x18, Buffer.from(text, 'ascii'));
}

function name(commonName: string): Buffer {
  return sequence(set(sequence(oid('2.5.4.3'), utf8String(commonName))));
}

export interface TestCertificate {
  pem: string;
  privateKey: KeyObject;
}

/** A self-signed RSA certificate valid from `notBefore` to `notAfter` (default: a day either side of now). */
export function createTestCertificate(
  options: { commonName?: string; notBefore?: Date; notAfter?: Date } = {},
): TestCertificate {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const now = Date.now();
  const algorithm = sequence(oid('1.2.840.113549.1.1.11'), nullValue()); // sha256WithRSAEncryption
  const subject = name(options.commonName ?? 'sns.amazonaws.com');
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(Buffer.from(randomUUID().replace(/-/g, '').slice(0, 16), 'hex')),
    algorithm,
    subject,
    sequence(
      generalizedTime(options.notBefore ?? new Date(now - 86_400_000)),
      generalizedTime(options.notAfter ?? new Date(now + 86_400_000)),
    ),
    subject,
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const certificate = sequence(tbs, algorithm, bitString(sign('sha256', tbs, privateKey)));
  const base64 = certificate.toString('base64').replace(/.{64}/g, '$&\n');
  return { pem: `-----BEGIN CERTIFICATE-----\n${base64}\n-----END CERTIFICATE-----\n`, privateKey };
}

export const TEST_CERT_URL = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem';
export const TEST_TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:pixelshift-uploads';

/** Field values of an SNS message as sent (the wire names), before signing. */
export type SnsFields = Record<string, string | undefined>;

export function notificationFields(message: unknown, overrides: SnsFields = {}): SnsFields {
  return {
    Type: 'Notification',
    MessageId: randomUUID(),
    TopicArn: TEST_TOPIC_ARN,
    Subject: 'Amazon S3 Notification',
    Message: typeof message === 'string' ? message : JSON.stringify(message),
    Timestamp: new Date().toISOString(),
    SignatureVersion: '1',
    SigningCertURL: TEST_CERT_URL,
    UnsubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x',
    ...overrides,
  };
}

export function confirmationFields(overrides: SnsFields = {}): SnsFields {
  const token = randomUUID().replace(/-/g, '');
  return {
    Type: 'SubscriptionConfirmation',
    MessageId: randomUUID(),
    Token: token,
    TopicArn: TEST_TOPIC_ARN,
    Message: 'You have chosen to subscribe to the topic. To confirm, visit the SubscribeURL.',
    SubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TEST_TOPIC_ARN}&Token=${token}`,
    Timestamp: new Date().toISOString(),
    SignatureVersion: '1',
    SigningCertURL: TEST_CERT_URL,
    ...overrides,
  };
}

/**
 * The fields SNS signs, per message type, in the documented order; written out here rather than taken
 * from the module under test, so a mistake there cannot cancel out.
 */
const signedFieldNames: Record<string, string[]> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: [
    'Message',
    'MessageId',
    'SubscribeURL',
    'Timestamp',
    'Token',
    'TopicArn',
    'Type',
  ],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};

export function canonicalSnsString(fields: SnsFields): string {
  return (signedFieldNames[fields.Type ?? ''] ?? [])
    .filter((name) => fields[name] !== undefined)
    .map((name) => `${name}\n${fields[name]}\n`)
    .join('');
}

/** Adds `Signature` computed over the fields (with the algorithm their SignatureVersion names). */
export function signSnsFields(fields: SnsFields, privateKey: KeyObject): Record<string, string> {
  const present = Object.fromEntries(
    Object.entries(fields).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const algorithm = present.SignatureVersion === '2' ? 'sha256' : 'sha1';
  const signature = sign(algorithm, Buffer.from(canonicalSnsString(present), 'utf8'), privateKey);
  return { ...present, Signature: signature.toString('base64') };
}
