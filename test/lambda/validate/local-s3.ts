/**
 * A local S3-compatible server for tests that stream real bytes through S3 (the AWS SDK's client, as the functions use
 * it, and our presigned URLs): s3rver (objects, multipart
 * uploads, copies, listings, range reads) behind a front that checks every request's SigV4 signature with the AWS
 * SDK's own signer (@smithy/signature-v4).
 *
 * Why the front: s3rver 3.7 checks SigV2 signatures but not SigV4 ones (its authentication middleware only looks the
 * access key up), so on its own a badly signed request would pass. The front checks what S3 checks: the signature
 * (header or presigned query), the credential scope (region, service `s3`), the request time (15 minutes) or the
 * presigned URL's expiry, and that `x-amz-content-sha256` is the body's hash. A refused request gets S3's XML error
 * (403 `SignatureDoesNotMatch` ...) and never reaches s3rver.
 *
 * ListObjectsV2 pagination: s3rver's continuation tokens are DES-encrypted, and Node.js 17+ (OpenSSL 3) has no DES,
 * so s3rver fails any truncated V2 listing with InternalError. The front answers V2 listings from s3rver's V1 listing
 * (`marker`) with its own continuation tokens (base64 of the last key: opaque, and with `+`, `/` and `=` to encode).
 *
 * Conditional writes: s3rver ignores `If-None-Match`; the front answers a PutObject carrying `If-None-Match: *` for
 * a key that exists with S3's 412 PreconditionFailed, as S3 does.
 *
 * Not in s3rver (the tests that need them use test/helpers/fake-aws.ts instead): AbortMultipartUpload (405
 * MethodNotAllowed) and UploadPartCopy (501 NotImplemented).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, createServer, type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { Sha256 } from '@aws-crypto/sha256-js';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentials } from '../../../lambda/shared/aws/client';
import { S3Presigner, type S3PresignerOptions } from '../../../lambda/shared/aws/s3-presign';

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;
// s3rver ships no type declarations.
const S3rver: S3rverConstructor = require('s3rver');

/** The credentials s3rver knows (its built-in account); the front accepts them and any given to startLocalS3. */
export const LOCAL_S3_CREDENTIALS: AwsCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
export const LOCAL_S3_REGION = 'eu-west-1';

/** A request the front accepted. */
export interface LocalS3Request {
  readonly method: string;
  /** Path as sent (URI-encoded). */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
}

export interface LocalS3 {
  /** `http://127.0.0.1:<port>`: the signature-checking front. */
  readonly endpoint: string;
  /**
   * The AWS SDK's S3 client on the endpoint, as the functions build it (path style, as the SDK addresses an IP
   * endpoint), with {@link LOCAL_S3_CREDENTIALS}. Also the checks' independent reader and writer.
   */
  readonly s3: S3Client;
  /** Our presigner (lambda/shared/aws/s3-presign) on the endpoint, with {@link LOCAL_S3_CREDENTIALS}. */
  readonly presigner: S3Presigner;
  /** Every request the front accepted, in order (a test may empty it). */
  readonly requests: LocalS3Request[];
  /** Another SDK client on the endpoint, e.g. with other credentials. */
  sdkClient(config?: S3ClientConfig): S3Client;
  /** The settings of {@link s3}, for a client of another copy of the SDK (a module registry jest isolated). */
  readonly clientConfig: S3ClientConfig;
  /** Another presigner on the endpoint, e.g. with other credentials. */
  presignerWith(options?: S3PresignerOptions): S3Presigner;
  put(bucket: string, key: string, body: string | Buffer): Promise<void>;
  getBytes(bucket: string, key: string): Promise<Buffer>;
  getText(bucket: string, key: string): Promise<string>;
  list(bucket: string, prefix?: string): Promise<string[]>;
  stop(): Promise<void>;
}

export interface LocalS3Options {
  /** Credentials accepted besides {@link LOCAL_S3_CREDENTIALS} (e.g. those a test puts in the environment). */
  readonly credentials?: readonly AwsCredentials[];
}

class S3Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The query as sent, decoded (no `+` for space: clients send `%20`); `?uploads` is `uploads=''`. */
function parseQuery(search: string): Record<string, string> {
  const query: Record<string, string> = {};
  for (const pair of search.split('&')) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    const name = decodeURIComponent(at < 0 ? pair : pair.slice(0, at));
    query[name] = at < 0 ? '' : decodeURIComponent(pair.slice(at + 1));
  }
  return query;
}

/** `20260131T120000Z` -> Date. */
function amzDate(text: string | undefined): Date {
  const iso = String(text).replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z');
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) throw new S3Refusal(403, 'AccessDenied', `Invalid X-Amz-Date ${text}`);
  return date;
}

function signerFor(credentials: AwsCredentials, region: string): SignatureV4 {
  return new SignatureV4({
    credentials,
    region,
    service: 's3',
    sha256: Sha256,
    uriEscapePath: false,
    applyChecksum: true,
  });
}

/** Checks a request's signature as S3 would; throws an {@link S3Refusal} when S3 would refuse it. */
async function verify(
  accepted: ReadonlyMap<string, AwsCredentials>,
  method: string,
  rawUrl: string,
  headers: IncomingHttpHeaders,
  body: Buffer,
): Promise<void> {
  const [rawPath, search = ''] = rawUrl.split(/\?(.*)/s);
  const query = parseQuery(search);
  const hostname = String(headers.host).replace(/:\d+$/, '');
  const authorization = headers.authorization;
  const presigned = 'X-Amz-Signature' in query;
  if (!authorization && !presigned) throw new S3Refusal(403, 'AccessDenied', 'Anonymous requests are not allowed');

  const credential = presigned ? query['X-Amz-Credential'] : /Credential=([^,\s]+)/.exec(String(authorization))?.[1];
  const signedHeaders = presigned
    ? query['X-Amz-SignedHeaders']
    : /SignedHeaders=([^,\s]+)/.exec(String(authorization))?.[1];
  const signature = presigned ? query['X-Amz-Signature'] : /Signature=([0-9a-f]+)/.exec(String(authorization))?.[1];
  if (!credential || !signedHeaders || !signature) {
    throw new S3Refusal(400, 'AuthorizationHeaderMalformed', `Malformed authorization: ${authorization ?? rawUrl}`);
  }
  const [accessKeyId, , region, service, terminator] = credential.split('/');
  const credentials = accepted.get(accessKeyId);
  if (!credentials) {
    throw new S3Refusal(
      403,
      'InvalidAccessKeyId',
      `The AWS Access Key Id ${accessKeyId} does not exist in our records.`,
    );
  }
  if (region !== LOCAL_S3_REGION || service !== 's3' || terminator !== 'aws4_request') {
    throw new S3Refusal(400, 'AuthorizationHeaderMalformed', `The credential scope ${credential} is wrong`);
  }
  const signedNames = signedHeaders.split(';');
  if (!signedNames.includes('host')) throw new S3Refusal(403, 'AccessDenied', 'The host header must be signed');
  const signed: Record<string, string> = {};
  for (const name of signedNames) {
    const value = headers[name];
    if (value === undefined) throw new S3Refusal(403, 'AccessDenied', `Signed header ${name} was not sent`);
    signed[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const signer = signerFor(credentials, region);
  const request = { method, protocol: 'http:', hostname, path: rawPath, headers: signed };

  let expected: string | undefined;
  if (presigned) {
    const signingDate = amzDate(query['X-Amz-Date']);
    const expiresIn = Number(query['X-Amz-Expires']);
    if (Date.now() > signingDate.getTime() + expiresIn * 1000) {
      throw new S3Refusal(403, 'AccessDenied', 'Request has expired');
    }
    const unsigned: Record<string, string> = {};
    for (const [name, value] of Object.entries(query)) if (name !== 'X-Amz-Signature') unsigned[name] = value;
    const names = new Set(signedNames);
    // A body the signer does not hash: presigned requests are signed with UNSIGNED-PAYLOAD.
    const result = await signer.presign(
      { ...request, query: unsigned, body: {} },
      { signingDate, expiresIn, unhoistableHeaders: names, signableHeaders: names },
    );
    if (result.query?.['X-Amz-SignedHeaders'] !== signedHeaders) {
      throw new S3Refusal(403, 'AccessDenied', `Signed headers ${signedHeaders} are not what was sent`);
    }
    expected = String(result.query?.['X-Amz-Signature']);
  } else {
    const signingDate = amzDate(headers['x-amz-date'] as string | undefined);
    if (Math.abs(Date.now() - signingDate.getTime()) > 15 * 60_000) {
      throw new S3Refusal(403, 'RequestTimeTooSkewed', 'The difference between the request time and now is too large');
    }
    const payloadHash = headers['x-amz-content-sha256'];
    if (typeof payloadHash !== 'string' || !signedNames.includes('x-amz-content-sha256')) {
      throw new S3Refusal(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
    }
    if (payloadHash !== 'UNSIGNED-PAYLOAD' && !payloadHash.startsWith('STREAMING-')) {
      const actual = createHash('sha256').update(body).digest('hex');
      if (actual !== payloadHash) {
        throw new S3Refusal(400, 'XAmzContentSHA256Mismatch', `The body's hash is ${actual}, not ${payloadHash}`);
      }
    }
    const result = await signer.sign({ ...request, query, body }, { signingDate });
    expected = /Signature=([0-9a-f]+)/.exec(String(result.headers.authorization))?.[1];
  }
  if (expected !== signature) {
    throw new S3Refusal(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    );
  }
}

/** The request as s3rver must see it: signed by the one account it knows (it does not check SigV4 signatures). */
function forS3rver(rawUrl: string, headers: IncomingHttpHeaders): { url: string; headers: IncomingHttpHeaders } {
  const rewritten = { ...headers };
  if (typeof rewritten.authorization === 'string') {
    rewritten.authorization = rewritten.authorization.replace(
      /Credential=[^/]+\//,
      `Credential=${LOCAL_S3_CREDENTIALS.accessKeyId}/`,
    );
  }
  const url = rawUrl.replace(/([?&]X-Amz-Credential=)[^%&/]+/, `$1${LOCAL_S3_CREDENTIALS.accessKeyId}`);
  return { url, headers: rewritten };
}

function decodeXml(text: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) =>
    name[0] !== '#'
      ? (named[name] ?? whole)
      : String.fromCodePoint(name[1] === 'x' ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1))),
  );
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The V1 listing (`GET /bucket?marker=`) that answers a V2 one (`?list-type=2&continuation-token=`). */
function v1ListingUrl(rawPath: string, query: Readonly<Record<string, string>>): string {
  const v1: Record<string, string> = {};
  for (const name of ['prefix', 'max-keys', 'delimiter', 'encoding-type']) if (name in query) v1[name] = query[name];
  const token = query['continuation-token'];
  const marker = token ? Buffer.from(token, 'base64').toString('utf8') : query['start-after'];
  if (marker) v1.marker = marker;
  const search = new URLSearchParams(v1).toString().replace(/\+/g, '%20');
  return search ? `${rawPath}?${search}` : rawPath;
}

/** s3rver's V1 listing as the V2 answer: KeyCount, ContinuationToken, NextContinuationToken instead of markers. */
function v2Listing(v1Xml: string, query: Readonly<Record<string, string>>): string {
  const keys = [...v1Xml.matchAll(/<Contents>[\s\S]*?<Key>([\s\S]*?)<\/Key>/g)].map((match) => decodeXml(match[1]));
  const commonPrefixes = (v1Xml.match(/<CommonPrefixes>/g) ?? []).length;
  const truncated = /<IsTruncated>true<\/IsTruncated>/.test(v1Xml);
  const token = query['continuation-token'];
  const fields = [
    token ? `<ContinuationToken>${escapeXml(token)}</ContinuationToken>` : '',
    !token && query['start-after'] ? `<StartAfter>${escapeXml(query['start-after'])}</StartAfter>` : '',
    truncated && keys.length > 0
      ? `<NextContinuationToken>${Buffer.from(keys[keys.length - 1]).toString('base64')}</NextContinuationToken>`
      : '',
    `<KeyCount>${keys.length + commonPrefixes}</KeyCount>`,
  ].join('');
  return v1Xml
    .replace(/<Marker>[\s\S]*?<\/Marker>|<Marker\/>|<NextMarker>[\s\S]*?<\/NextMarker>/g, '')
    .replace(/(<\/Name>)/, `$1${fields}`);
}

/** Whether s3rver holds the object at `rawPath` (an anonymous HEAD: s3rver serves those). */
function s3rverHas(port: number, agent: Agent, rawPath: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const head = httpRequest({ host: '127.0.0.1', port, method: 'HEAD', path: rawPath, agent }, (answer) => {
      answer.resume();
      resolve(answer.statusCode === 200);
    });
    head.on('error', reject);
    head.end();
  });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startLocalS3(buckets: readonly string[], options: LocalS3Options = {}): Promise<LocalS3> {
  const directory = mkdtempSync(path.join(tmpdir(), 's3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port: s3rverPort } = await server.run();
  const accepted = new Map<string, AwsCredentials>(
    [LOCAL_S3_CREDENTIALS, ...(options.credentials ?? [])].map((credentials) => [credentials.accessKeyId, credentials]),
  );
  const requests: LocalS3Request[] = [];
  const agent = new Agent({ keepAlive: true });
  let refusals = 0;

  const front = createServer(async (incoming, outgoing) => {
    try {
      const body = await readAll(incoming);
      const rawUrl = incoming.url ?? '/';
      const method = incoming.method ?? 'GET';
      try {
        await verify(accepted, method, rawUrl, incoming.headers, body);
      } catch (error) {
        if (!(error instanceof S3Refusal)) throw error;
        refusals++;
        const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${error.code}</Code><Message>${error.message.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</Message><RequestId>refused-${refusals}</RequestId></Error>`;
        outgoing.writeHead(error.status, {
          'content-type': 'application/xml',
          'x-amz-request-id': `refused-${refusals}`,
        });
        outgoing.end(method === 'HEAD' ? undefined : xml);
        return;
      }
      const [rawPath, search = ''] = rawUrl.split(/\?(.*)/s);
      const query = parseQuery(search);
      requests.push({ method, path: rawPath, query, headers: incoming.headers });
      if (method === 'PUT' && incoming.headers['if-none-match'] === '*' && !('uploadId' in query)) {
        if (await s3rverHas(s3rverPort, agent, rawPath)) {
          refusals++;
          outgoing.writeHead(412, { 'content-type': 'application/xml', 'x-amz-request-id': `refused-${refusals}` });
          outgoing.end(
            `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-None-Match</Condition><RequestId>refused-${refusals}</RequestId></Error>`,
          );
          return;
        }
      }
      const forwarded = forS3rver(rawUrl, incoming.headers);
      const listingV2 = method === 'GET' && query['list-type'] === '2';
      const upstream = httpRequest(
        {
          host: '127.0.0.1',
          port: s3rverPort,
          method,
          path: listingV2 ? v1ListingUrl(rawPath, query) : forwarded.url,
          headers: forwarded.headers,
          agent,
        },
        async (answer) => {
          if (!listingV2 || answer.statusCode !== 200) {
            outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(outgoing);
            return;
          }
          const xml = v2Listing((await readAll(answer)).toString('utf8'), query);
          outgoing.writeHead(200, { ...answer.headers, 'content-length': String(Buffer.byteLength(xml)) });
          outgoing.end(xml);
        },
      );
      upstream.on('error', (error) => outgoing.destroy(error));
      upstream.end(body);
    } catch (error) {
      outgoing.writeHead(500, { 'content-type': 'text/plain' });
      outgoing.end(String(error));
    }
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;

  const clientConfig: S3ClientConfig = {
    endpoint,
    region: LOCAL_S3_REGION,
    credentials: LOCAL_S3_CREDENTIALS,
    // s3rver predates the SDK's default CRC checksums (and their aws-chunked uploads): checksums only where required.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  const sdkClient = (config: S3ClientConfig = {}) => new S3Client({ ...clientConfig, ...config });
  const presignerWith = (presignerOptions: S3PresignerOptions = {}) =>
    new S3Presigner({ endpoint, region: LOCAL_S3_REGION, credentials: LOCAL_S3_CREDENTIALS, ...presignerOptions });
  const sdk = sdkClient();
  const clients: S3Client[] = [sdk];
  return {
    endpoint,
    s3: sdk,
    presigner: presignerWith(),
    requests,
    sdkClient(config) {
      const client = sdkClient(config);
      clients.push(client);
      return client;
    },
    presignerWith,
    clientConfig,
    async put(bucket, key, body) {
      await sdk.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    async getBytes(bucket, key) {
      const response = await sdk.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await response.Body!.transformToByteArray());
    },
    async getText(bucket, key) {
      const response = await sdk.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return response.Body!.transformToString();
    },
    async list(bucket, prefix) {
      const response = await sdk.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      return (response.Contents ?? []).map((object) => object.Key!).sort();
    },
    async stop() {
      for (const client of clients) client.destroy();
      agent.destroy();
      front.closeAllConnections();
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
