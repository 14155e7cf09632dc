/**
 * An S3 HEAD without the SDK's per-request machinery. The SDK spends about 0.7 ms of CPU on each
 * HeadObject (resolving its middleware stack, serialising through the operation's schema, the
 * endpoint rules, user agents), against 0.1–0.2 ms for the same signed request sent here. A bucket
 * event for a rule on a content type costs one HEAD, so that difference is about 30 % of the API's
 * CPU per such event (docs/performance-log.md, "A HEAD without the SDK's middleware").
 *
 * What it keeps from the SDK, so a HEAD means the same thing on either path: the client's resolved
 * configuration (its credential chain, region, endpoint, path style, FIPS and dual-stack settings,
 * attempts), the endpoint each bucket resolves to by S3's own rules (resolved once per bucket), and
 * SigV4 signing with the client's clock offset. Buckets whose endpoint needs another scheme (S3
 * Express directory buckets, multi-region access points) are left to the SDK: `head` answers
 * undefined for them.
 */
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getEndpointFromInstructions } from '@smithy/core/endpoints';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HttpRequest } from '@smithy/types';
import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { isClassifiedError } from '../errors.js';
import { classifyS3Error } from './s3-errors.js';

/** The fields of HeadObject's output the store reads, named as the SDK names them. */
export interface LeanHeadOutput {
  ContentLength?: number;
  ETag?: string;
  ContentType?: string;
  LastModified?: Date;
  Metadata?: Record<string, string>;
}

/** Where a bucket's requests go and how they are signed; undefined when the SDK must send them. */
interface BucketRoute {
  url: URL;
  signer: SignatureV4;
}

/** A HEAD has no payload; S3 wants its hash signed all the same. */
const EMPTY_PAYLOAD_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const USER_METADATA_PREFIX = 'x-amz-meta-';
/** Buckets whose routes are remembered; past this the cache starts over (routes are cheap to redo). */
const MAX_REMEMBERED_BUCKETS = 256;
/** As the SDK's standard retry strategy: full jitter over 100 ms × 2^attempt, at most 20 s. */
const RETRY_BASE_DELAY_MS = 100;
const RETRY_MAX_DELAY_MS = 20_000;

/** HEAD errors carry no body, so the SDK names them by status; these are its names. */
const errorNameByStatus: Readonly<Record<number, string>> = {
  301: 'MovedPermanently',
  304: 'NotModified',
  400: 'BadRequest',
  403: 'Forbidden',
  404: 'NotFound',
  412: 'PreconditionFailed',
  503: 'ServiceUnavailable',
};

/** RFC 3986 encoding, as S3 signs paths and queries: encodeURIComponent leaves !'()* alone. */
function encodeUriStrict(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** A key is a greedy path label: every segment encoded, its slashes kept. */
function encodeKeyPath(key: string): string {
  return key.split('/').map(encodeUriStrict).join('/');
}

function headerValue(headers: http.IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** HeadObject's output from the response headers, as the SDK's deserialiser reads them. */
function headOutputFrom(headers: http.IncomingHttpHeaders): LeanHeadOutput {
  const length = Number(headerValue(headers, 'content-length'));
  const lastModified = headerValue(headers, 'last-modified');
  const modifiedAt = lastModified === undefined ? undefined : new Date(lastModified);
  const metadata: Record<string, string> = {};
  for (const name of Object.keys(headers)) {
    if (name.startsWith(USER_METADATA_PREFIX)) {
      metadata[name.slice(USER_METADATA_PREFIX.length)] = headerValue(headers, name) ?? '';
    }
  }
  return {
    ContentLength: Number.isFinite(length) ? length : undefined,
    ETag: headerValue(headers, 'etag'),
    ContentType: headerValue(headers, 'content-type'),
    LastModified: modifiedAt && !Number.isNaN(modifiedAt.getTime()) ? modifiedAt : undefined,
    Metadata: metadata,
  };
}

/** An error shaped as the SDK's for a failed HEAD, so classifyS3Error reads both alike. */
function headStatusError(status: number, headers: http.IncomingHttpHeaders): Error {
  // Other statuses are classified by the status itself (any 5xx is transient).
  const name = errorNameByStatus[status] ?? 'UnknownError';
  return Object.assign(new Error(`HEAD answered ${status}`), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: headerValue(headers, 'x-amz-request-id') },
    $response: { statusCode: status, headers },
  });
}

export class LeanS3Head {
  private readonly routes = new Map<string, Promise<BucketRoute | undefined>>();
  private readonly agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: 50 }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: 50 }),
  };

  constructor(private readonly client: S3Client) {}

  destroy(): void {
    for (const agent of Object.values(this.agents)) agent.destroy();
  }

  /**
   * HEADs an object as HeadObject would, with the SDK's attempts and backoff. Resolves undefined,
   * having sent nothing, when the bucket's endpoint needs a scheme other than SigV4.
   */
  async head(
    bucket: string,
    key: string,
    options: { versionId?: string; signal?: AbortSignal } = {},
  ): Promise<LeanHeadOutput | undefined> {
    options.signal?.throwIfAborted();
    // An endpoint that cannot be resolved is left to the SDK, which reports it in its own words.
    const route = await this.routeFor(bucket).catch(() => undefined);
    if (!route) return undefined;
    const maxAttempts = await this.client.config.maxAttempts();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.send(route, key, options);
      } catch (error) {
        if (options.signal?.aborted || attempt >= maxAttempts) throw error;
        const classified = classifyS3Error(error, { bucket, key, operation: 'head' });
        if (!isClassifiedError(classified) || classified.code !== 'transient') throw error;
        const ceiling = Math.min(RETRY_MAX_DELAY_MS, RETRY_BASE_DELAY_MS * 2 ** attempt);
        await sleep(Math.random() * ceiling, undefined, options.signal ? { signal: options.signal } : {});
      }
    }
  }

  private routeFor(bucket: string): Promise<BucketRoute | undefined> {
    let route = this.routes.get(bucket);
    if (!route) {
      if (this.routes.size >= MAX_REMEMBERED_BUCKETS) this.routes.clear();
      route = this.resolveRoute(bucket);
      this.routes.set(bucket, route);
      // A failed resolution (a region or credentials provider's hiccup) is not remembered.
      route.catch(() => this.routes.delete(bucket));
    }
    return route;
  }

  private async resolveRoute(bucket: string): Promise<BucketRoute | undefined> {
    const endpoint = await getEndpointFromInstructions(
      { Bucket: bucket, Key: '' },
      HeadObjectCommand as unknown as Parameters<typeof getEndpointFromInstructions>[1],
      this.client.config as unknown as Parameters<typeof getEndpointFromInstructions>[2],
    );
    const schemes = endpoint.properties?.authSchemes as
      | Array<{
          name?: string;
          signingName?: string;
          signingRegion?: string;
          disableDoubleEncoding?: boolean;
        }>
      | undefined;
    const scheme = schemes?.[0];
    if (scheme?.name !== 'sigv4' || !(endpoint.url.protocol in this.agents)) return undefined;
    const config = this.client.config;
    const signer = new SignatureV4({
      service: scheme.signingName ?? 's3',
      region: scheme.signingRegion ?? (await config.region()),
      credentials: config.credentials,
      sha256: config.sha256,
      uriEscapePath: scheme.disableDoubleEncoding !== true,
      applyChecksum: true,
    });
    return { url: endpoint.url, signer };
  }

  private async send(
    route: BucketRoute,
    key: string,
    options: { versionId?: string; signal?: AbortSignal },
  ): Promise<LeanHeadOutput> {
    const { url } = route;
    const query: Record<string, string> =
      options.versionId === undefined ? {} : { versionId: options.versionId };
    const unsigned: HttpRequest = {
      method: 'HEAD',
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname.replace(/\/$/, '')}/${encodeKeyPath(key)}`,
      query,
      headers: { host: url.host, 'x-amz-content-sha256': EMPTY_PAYLOAD_SHA256 },
    };
    const signed = await route.signer.sign(unsigned, {
      signingDate: new Date(Date.now() + (this.client.config.systemClockOffset ?? 0)),
    });
    const search = Object.entries(query)
      .map(([name, value]) => `${encodeUriStrict(name)}=${encodeUriStrict(value)}`)
      .join('&');
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<LeanHeadOutput>((resolve, reject) => {
      const request = transport.request(
        {
          agent: this.agents[url.protocol as keyof typeof this.agents],
          method: 'HEAD',
          hostname: url.hostname,
          port: url.port,
          path: search ? `${signed.path}?${search}` : signed.path,
          headers: signed.headers,
          ...(options.signal ? { signal: options.signal } : {}),
        },
        (response) => {
          response.resume(); // a HEAD has no body; this frees the socket for the next request
          const status = response.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(headOutputFrom(response.headers));
          else reject(headStatusError(status, response.headers));
        },
      );
      request.on('error', reject);
      request.end();
    });
  }
}
