/**
 * AWS Signature Version 4, for the few AWS APIs the functions call (see ./client.ts for why the SDK is not used).
 * Implements the published algorithm (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html)
 * with node:crypto: header signing and query-string presigning. test/lambda/shared/aws/sigv4.test.ts checks it
 * signature for signature against the AWS SDK's own signer.
 */
import { createHash, createHmac } from 'node:crypto';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface SignableRequest {
  readonly method: string;
  /** Host header value (host, plus `:port` when not the default port). */
  readonly host: string;
  /** Path as sent on the wire (already URI-encoded, e.g. by {@link encodePath}). */
  readonly path: string;
  /** Query parameters, not encoded. */
  readonly query?: Readonly<Record<string, string>>;
  /** Headers to send; all of them are signed except the ones proxies may change (see UNSIGNABLE_HEADERS). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer | string;
}

export interface SigningScope {
  /** Signing name: s3, rds-data, dynamodb, sqs, glue ... */
  readonly service: string;
  readonly region: string;
  readonly credentials: AwsCredentials;
  /** @default new Date() */
  readonly now?: Date;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
/** Headers a proxy may add or rewrite: signing them would break the signature (the SDK skips the same ones). */
const UNSIGNABLE_HEADERS = new Set([
  'authorization',
  'cache-control',
  'connection',
  'expect',
  'from',
  'keep-alive',
  'max-forwards',
  'pragma',
  'referer',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'x-amzn-trace-id',
]);

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** RFC 3986 encoding, as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ is percent-encoded. */
export function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A path (S3 key included) encoded segment by segment, keeping the slashes. */
export function encodePath(path: string): string {
  return path.split('/').map(uriEncode).join('/');
}

function canonicalQuery(query: Readonly<Record<string, string>>): string {
  return Object.entries(query)
    .map(([key, value]) => [uriEncode(key), uriEncode(value)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
}

/** `20260131T120000Z` and `20260131`. */
function timestamps(now: Date): { dateTime: string; date: string } {
  const dateTime = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  return { dateTime, date: dateTime.slice(0, 8) };
}

function signingKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  const dateKey = hmac(`AWS4${secretAccessKey}`, date);
  return hmac(hmac(hmac(dateKey, region), service), 'aws4_request');
}

/**
 * S3 signs the path as sent; every other service signs it encoded once more (each segment of the already encoded
 * path is encoded again).
 */
function canonicalPath(service: string, path: string): string {
  return service === 's3' ? path : path.split('/').map(uriEncode).join('/');
}

interface Canonical {
  readonly signedHeaders: string;
  readonly request: string;
}

function canonicalize(
  service: string,
  request: SignableRequest,
  headers: Readonly<Record<string, string>>,
  query: Readonly<Record<string, string>>,
  payloadHash: string,
): Canonical {
  const entries = Object.entries(headers)
    .map(([name, value]) => [name.toLowerCase(), value.trim().replace(/\s+/g, ' ')] as const)
    .filter(([name]) => !UNSIGNABLE_HEADERS.has(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const signedHeaders = entries.map(([name]) => name).join(';');
  const canonicalRequest = [
    request.method.toUpperCase(),
    canonicalPath(service, request.path),
    canonicalQuery(query),
    entries.map(([name, value]) => `${name}:${value}\n`).join(''),
    signedHeaders,
    payloadHash,
  ].join('\n');
  return { signedHeaders, request: canonicalRequest };
}

function signature(scope: SigningScope, dateTime: string, date: string, canonicalRequest: string): string {
  const credentialScope = `${date}/${scope.region}/${scope.service}/aws4_request`;
  const stringToSign = [ALGORITHM, dateTime, credentialScope, sha256Hex(canonicalRequest)].join('\n');
  return hmac(signingKey(scope.credentials.secretAccessKey, date, scope.region, scope.service), stringToSign).toString(
    'hex',
  );
}

/**
 * The headers to send: the request's own plus `host`, `x-amz-date`, the session token, for S3 the payload hash, and
 * `authorization`.
 */
export function signRequest(
  request: SignableRequest,
  scope: SigningScope,
  options: { readonly unsignedPayload?: boolean } = {},
): Record<string, string> {
  const { dateTime, date } = timestamps(scope.now ?? new Date());
  const payloadHash = options.unsignedPayload ? UNSIGNED_PAYLOAD : sha256Hex(request.body ?? '');
  const headers: Record<string, string> = { ...request.headers, host: request.host, 'x-amz-date': dateTime };
  if (scope.credentials.sessionToken) headers['x-amz-security-token'] = scope.credentials.sessionToken;
  // S3 requires the payload hash as a header; the other services compute it themselves.
  if (scope.service === 's3') headers['x-amz-content-sha256'] = payloadHash;
  const canonical = canonicalize(scope.service, request, headers, request.query ?? {}, payloadHash);
  const credential = `${scope.credentials.accessKeyId}/${date}/${scope.region}/${scope.service}/aws4_request`;
  headers.authorization = `${ALGORITHM} Credential=${credential}, SignedHeaders=${canonical.signedHeaders}, Signature=${signature(scope, dateTime, date, canonical.request)}`;
  return headers;
}

/**
 * A presigned URL (query-string authentication, payload unsigned). The request's headers are signed as headers: the
 * caller must send exactly these (S3 checks them), which is how a presigned PUT binds content type and encryption.
 */
export function presignUrl(
  request: SignableRequest & { readonly protocol?: 'https:' | 'http:' },
  scope: SigningScope,
  expiresInSeconds: number,
): string {
  if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > 604800) {
    throw new Error(`Presigned URL expiry must be 1 to 604800 seconds (7 days), got ${expiresInSeconds}`);
  }
  const { dateTime, date } = timestamps(scope.now ?? new Date());
  const query: Record<string, string> = {
    ...request.query,
    'X-Amz-Algorithm': ALGORITHM,
    'X-Amz-Credential': `${scope.credentials.accessKeyId}/${date}/${scope.region}/${scope.service}/aws4_request`,
    'X-Amz-Date': dateTime,
    'X-Amz-Expires': String(expiresInSeconds),
  };
  if (scope.credentials.sessionToken) query['X-Amz-Security-Token'] = scope.credentials.sessionToken;
  const headers = { ...request.headers, host: request.host };
  query['X-Amz-SignedHeaders'] = Object.keys(headers)
    .map((name) => name.toLowerCase())
    .filter((name) => !UNSIGNABLE_HEADERS.has(name))
    .sort()
    .join(';');
  const canonical = canonicalize(scope.service, request, headers, query, UNSIGNED_PAYLOAD);
  query['X-Amz-Signature'] = signature(scope, dateTime, date, canonical.request);
  return `${request.protocol ?? 'https:'}//${request.host}${request.path}?${canonicalQuery(query)}`;
}
