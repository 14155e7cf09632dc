import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';

/**
 * Checks a request's AWS Signature Version 4 as S3 does, from the raw request a server received.
 * Written from the published algorithm with node:crypto alone, so it does not share code with the
 * signer it checks; moto accepts any signature, so without it a wrongly signed request would pass.
 */
export function verifySigV4(
  request: { method: string; url: string; headers: http.IncomingHttpHeaders },
  secretAccessKey: string,
): { valid: boolean; reason?: string } {
  const authorization = String(request.headers.authorization ?? '');
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      authorization,
    );
  if (!match) return { valid: false, reason: `no SigV4 authorization: ${authorization}` };
  const [, , day, region, service, signedHeaderList, signature] = match as unknown as string[];
  const amzDate = String(request.headers['x-amz-date'] ?? '');
  const payloadHash = String(request.headers['x-amz-content-sha256'] ?? '');
  const [rawPath, rawQuery = ''] = request.url.split('?', 2) as [string, string?];
  const strictEncode = (value: string) =>
    encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const canonicalQuery = rawQuery
    .split('&')
    .filter(Boolean)
    .map(
      (pair) =>
        pair.split('=', 2).map((part) => strictEncode(decodeURIComponent(part ?? ''))) as [string, string],
    )
    .sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
    .map(([name, value]) => `${name}=${value ?? ''}`)
    .join('&');
  const signedHeaders = signedHeaderList!.split(';');
  const canonicalHeaders = signedHeaders
    .map(
      (name) =>
        `${name}:${String(request.headers[name] ?? '')
          .trim()
          .replace(/\s+/g, ' ')}\n`,
    )
    .join('');
  const canonicalRequest = [
    request.method,
    rawPath, // S3 signs the path as sent: no normalisation, no second encoding
    canonicalQuery,
    canonicalHeaders,
    signedHeaderList,
    payloadHash,
  ].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  const signingKey = hmac(
    hmac(hmac(hmac(`AWS4${secretAccessKey}`, day!), region!), service!),
    'aws4_request',
  );
  const expected = createHmac('sha256', signingKey).update(stringToSign).digest();
  const valid = timingSafeEqual(expected, Buffer.from(signature!, 'hex'));
  return valid ? { valid } : { valid, reason: `signature mismatch for:\n${canonicalRequest}` };
}
