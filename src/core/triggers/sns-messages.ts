/**
 * Amazon SNS messages delivered over HTTPS (docs/architecture.md §10): the envelope, its signature, and the two
 * outbound calls it implies (fetching the signing certificate, confirming a subscription), both
 * injectable so tests can sign with their own key and never leave the machine.
 *
 * SNS cannot send our bearer token: the signature is the authentication. It is checked per AWS's
 * documented algorithm — a canonical "Name\nValue\n" string over a fixed list of fields, signed with
 * SHA1withRSA (SignatureVersion 1) or SHA256withRSA (2) by the key of an X.509 certificate that must be
 * served over HTTPS by an `sns.<region>.amazonaws.com` host. Trust in the certificate comes from that
 * TLS connection to Amazon's host (the certificate itself is checked for its validity dates only).
 */
import { X509Certificate, verify as verifySignature } from 'node:crypto';
import https from 'node:https';
import type { StorageConnections } from '../storage/connections.js';
import { isPlainObject } from '../plain-object.js';

export const snsMessageTypes = [
  'Notification',
  'SubscriptionConfirmation',
  'UnsubscribeConfirmation',
] as const;
export type SnsMessageType = (typeof snsMessageTypes)[number];

/** A parsed SNS envelope. Values are kept exactly as sent: the signature covers them byte for byte. */
export interface SnsEnvelope {
  type: SnsMessageType;
  messageId: string;
  topicArn: string;
  message: string;
  timestamp: string;
  signatureVersion: '1' | '2';
  signature: string;
  signingCertUrl: string;
  /** Notifications only, and only when the publisher gave one. */
  subject?: string;
  /** Confirmations only. */
  subscribeUrl?: string;
  token?: string;
}

export const snsRefusalCodes = [
  'invalid_sns_message',
  'invalid_sns_signature',
  'sns_certificate_host_refused',
  'sns_topic_not_allowed',
  'sns_message_expired',
  'sns_message_replayed',
] as const;
export type SnsRefusalCode = (typeof snsRefusalCodes)[number];

/** Why a message was refused; the message is public (it names fields, never secrets or hosts we call). */
export class SnsRefusal extends Error {
  override readonly name = 'SnsRefusal';
  constructor(
    readonly code: SnsRefusalCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * How old (or how far in the future) a message's Timestamp may be. SNS retries an HTTPS delivery for at
 * most 3,600 seconds (a hard limit of its delivery policies), so a genuine retry is never older than an
 * hour; five more minutes absorb clock skew. Anything outside is treated as a replay.
 */
export const SNS_REPLAY_WINDOW_MS = 65 * 60 * 1000;

// The forms of the envelope's fields (exported for the HTTP schema that documents them).
export const messageIdPattern = /^[A-Za-z0-9-]{1,128}$/;
export const timestampPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

/**
 * An RFC 3339 UTC time as SNS writes it: the pattern, and a real calendar time (Date would roll
 * 2026-02-30 over into March instead of refusing it).
 */
export function isSnsTimestamp(text: string): boolean {
  if (!timestampPattern.test(text)) return false;
  const time = Date.parse(text);
  return !Number.isNaN(time) && new Date(time).toISOString().slice(0, 19) === text.slice(0, 19);
}

export const base64Pattern = /^[A-Za-z0-9+/]+={0,2}$/;
export const topicArnPattern = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;
/** `sns.<region>.amazonaws.com`, or the China partition's `.amazonaws.com.cn`. */
const snsHostPattern = /^sns\.[a-z]{2}(-[a-z]+)+-\d+\.amazonaws\.com(\.cn)?$/;

function invalid(message: string): SnsRefusal {
  return new SnsRefusal('invalid_sns_message', message);
}

function stringField(body: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) {
    if (required) throw invalid(`${name} is missing`);
    return undefined;
  }
  if (typeof value !== 'string' || value === '') {
    throw invalid(`${name} must be a non-empty string`);
  }
  return value;
}

/** Reads an SNS envelope, refusing anything that is not one (`invalid_sns_message`). */
export function parseSnsEnvelope(body: unknown): SnsEnvelope {
  if (!isPlainObject(body)) throw invalid('The body must be a JSON object (an SNS message)');
  const type = stringField(body, 'Type', true)!;
  if (!(snsMessageTypes as readonly string[]).includes(type)) {
    throw invalid(`Type must be one of ${snsMessageTypes.join(', ')}`);
  }
  const required = (name: string) => stringField(body, name, true)!;
  const messageId = required('MessageId');
  if (!messageIdPattern.test(messageId)) throw invalid('MessageId is malformed');
  const topicArn = required('TopicArn');
  if (!topicArnPattern.test(topicArn)) throw invalid('TopicArn is not an SNS topic ARN');
  const message = required('Message');
  const timestamp = required('Timestamp');
  if (!isSnsTimestamp(timestamp)) {
    throw invalid('Timestamp must be an ISO 8601 UTC time');
  }
  const signatureVersion = required('SignatureVersion');
  if (signatureVersion !== '1' && signatureVersion !== '2') {
    throw new SnsRefusal('invalid_sns_signature', 'SignatureVersion must be "1" or "2"');
  }
  const signature = required('Signature');
  if (!base64Pattern.test(signature))
    throw new SnsRefusal('invalid_sns_signature', 'Signature is not base64');
  const signingCertUrl = required('SigningCertURL');
  const envelope: SnsEnvelope = {
    type: type as SnsMessageType,
    messageId,
    topicArn,
    message,
    timestamp,
    signatureVersion,
    signature,
    signingCertUrl,
  };
  if (envelope.type === 'Notification') {
    const subject = stringField(body, 'Subject', false);
    if (subject !== undefined) envelope.subject = subject;
  } else {
    envelope.subscribeUrl = required('SubscribeURL');
    envelope.token = required('Token');
  }
  return envelope;
}

/**
 * The canonical string SNS signs: selected fields in a fixed (alphabetical) order, each as its name, a
 * newline, its value, a newline. Subject counts only when the notification has one.
 */
export function snsStringToSign(envelope: SnsEnvelope): string {
  const fields: [string, string | undefined][] =
    envelope.type === 'Notification'
      ? [
          ['Message', envelope.message],
          ['MessageId', envelope.messageId],
          ['Subject', envelope.subject],
          ['Timestamp', envelope.timestamp],
          ['TopicArn', envelope.topicArn],
          ['Type', envelope.type],
        ]
      : [
          ['Message', envelope.message],
          ['MessageId', envelope.messageId],
          ['SubscribeURL', envelope.subscribeUrl],
          ['Timestamp', envelope.timestamp],
          ['Token', envelope.token],
          ['TopicArn', envelope.topicArn],
          ['Type', envelope.type],
        ];
  return fields
    .filter((field): field is [string, string] => field[1] !== undefined)
    .map(([name, value]) => `${name}\n${value}\n`)
    .join('');
}

/**
 * Accepts only `https://sns.<region>.amazonaws.com[.cn]/…`, judged on the parsed URL: no credentials, no
 * port but 443, and the whole host matching (so `sns.us-east-1.amazonaws.com.evil.com` and
 * `evil.com/sns.us-east-1.amazonaws.com` both fail).
 */
export function assertSnsUrl(value: string, field: 'SigningCertURL' | 'SubscribeURL'): URL {
  const refuse = () =>
    new SnsRefusal(
      'sns_certificate_host_refused',
      `${field} must be an https URL on an sns.<region>.amazonaws.com host`,
    );
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw refuse();
  }
  if (url.protocol !== 'https:' || url.username !== '' || url.password !== '') throw refuse();
  // The WHATWG parser drops the default port, so any port left here is not 443.
  if (url.port !== '') throw refuse();
  if (!snsHostPattern.test(url.hostname)) throw refuse();
  if (field === 'SigningCertURL' && !url.pathname.endsWith('.pem')) throw refuse();
  return url;
}

/** Fetches the PEM certificate at an already checked SNS URL. */
export type CertificateFetcher = (url: string) => Promise<string>;
/** Visits a subscription's SubscribeURL (an HTTPS GET); resolves when SNS answered 2xx. */
export type SubscriptionConfirmer = (url: string) => Promise<void>;

/** The certificate could not be fetched: the sender should retry later (503), not give up. */
export class CertificateUnavailableError extends Error {
  override readonly name = 'CertificateUnavailableError';
}

export interface VerifyOptions {
  fetchCertificate: CertificateFetcher;
  now?: Date;
}

/**
 * Verifies an envelope's origin and freshness, in that order, before anything acts on it: URL hosts,
 * the certificate, the signature, then the Timestamp window. Throws SnsRefusal (or
 * CertificateUnavailableError when the certificate could not be had).
 */
export async function verifySnsEnvelope(envelope: SnsEnvelope, options: VerifyOptions): Promise<void> {
  const certUrl = assertSnsUrl(envelope.signingCertUrl, 'SigningCertURL');
  if (envelope.subscribeUrl !== undefined) assertSnsUrl(envelope.subscribeUrl, 'SubscribeURL');
  const now = options.now ?? new Date();

  let pem: string;
  try {
    pem = await options.fetchCertificate(certUrl.href);
  } catch (error) {
    throw new CertificateUnavailableError('The SNS signing certificate could not be fetched', {
      cause: error,
    });
  }
  const badSignature = (message: string) => new SnsRefusal('invalid_sns_signature', message);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch {
    throw badSignature('The signing certificate is not an X.509 certificate');
  }
  if (now < new Date(certificate.validFrom) || now > new Date(certificate.validTo)) {
    throw badSignature('The signing certificate is not valid at this time');
  }
  if (certificate.publicKey.asymmetricKeyType !== 'rsa') {
    throw badSignature('The signing certificate does not hold an RSA key');
  }
  const algorithm = envelope.signatureVersion === '1' ? 'sha1' : 'sha256';
  const valid = verifySignature(
    algorithm,
    Buffer.from(snsStringToSign(envelope), 'utf8'),
    certificate.publicKey,
    Buffer.from(envelope.signature, 'base64'),
  );
  if (!valid) throw badSignature('The message signature does not verify');

  const age = now.getTime() - Date.parse(envelope.timestamp);
  if (Math.abs(age) > SNS_REPLAY_WINDOW_MS) {
    throw new SnsRefusal('sns_message_expired', 'The message Timestamp is outside the accepted window');
  }
}

/** The s3 connections whose `events.snsTopicArns` list the topic, in name order (usually one). */
export function connectionsForTopic(connections: StorageConnections, topicArn: string): string[] {
  return Object.entries(connections)
    .filter(
      ([, connection]) => connection.kind === 's3' && connection.events?.snsTopicArns?.includes(topicArn),
    )
    .map(([name]) => name)
    .sort();
}

// ---- Default outbound calls (HTTPS only; URLs are checked again here, whoever calls)

export interface HttpsGetOptions {
  timeoutMs?: number;
  maxBytes?: number;
}

/** GET over HTTPS with the system's CA store: a timeout for the whole exchange, a cap on the body, no redirects. */
function httpsGetText(url: string, options: HttpsGetOptions = {}): Promise<string> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxBytes = options.maxBytes ?? 64 * 1024;
  return new Promise((resolve, reject) => {
    const request = https.get(url, { signal: AbortSignal.timeout(timeoutMs) }, (response) => {
      const status = response.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        response.resume();
        reject(new Error(`HTTP ${status}`));
        return;
      }
      const chunks: Buffer[] = [];
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > maxBytes) {
          request.destroy(new Error(`response larger than ${maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

export interface CertificateFetcherOptions extends HttpsGetOptions {
  /** Certificates kept (by URL); SNS signs with few, rotated rarely. */
  cacheSize?: number;
}

/** The default fetcher: HTTPS with a timeout and a size cap, cached by URL (a failure is not cached). */
export function createCertificateFetcher(options: CertificateFetcherOptions = {}): CertificateFetcher {
  const cacheSize = options.cacheSize ?? 32;
  const cache = new Map<string, Promise<string>>();
  return (url) => {
    const checked = assertSnsUrl(url, 'SigningCertURL').href;
    const cached = cache.get(checked);
    if (cached) return cached;
    const pending = httpsGetText(checked, { maxBytes: 16 * 1024, ...options });
    pending.catch(() => cache.delete(checked));
    if (cache.size >= cacheSize) cache.delete(cache.keys().next().value!);
    cache.set(checked, pending);
    return pending;
  };
}

/** The default confirmer: an HTTPS GET of the (checked) SubscribeURL; the XML answer is not needed. */
export function createSubscriptionConfirmer(options: HttpsGetOptions = {}): SubscriptionConfirmer {
  return async (url) => {
    const checked = assertSnsUrl(url, 'SubscribeURL').href;
    await httpsGetText(checked, { maxBytes: 64 * 1024, ...options });
  };
}
