/**
 * A small signed-HTTPS client for the AWS JSON APIs the API functions call (RDS Data, DynamoDB, SQS ...).
 *
 * Why not the AWS SDK there: a caller waits on those functions' cold start, and loading one SDK v3 client costs
 * 55–90 ms of it, more than a whole function's budget (`npm run bench:lambdas`: < 50 ms). Their protocols are simple
 * JSON; this module and the per-service modules next to it do them in a few kilobytes. The asynchronous functions
 * use the SDK (S3 object I/O above all: `@aws-sdk/client-s3`, `@aws-sdk/lib-storage`), whose load time is dwarfed by
 * their work; the SDK's type definitions describe the request and response shapes here.
 *
 * What the SDK did that is kept: SigV4 signing, credentials from the Lambda environment, the standard retry policy
 * (3 attempts, exponential backoff with full jitter, on throttling, 5xx and network errors), keep-alive connections,
 * errors named after the service's error code (`error.name === 'ResourceNotFoundException'`) with
 * `$metadata.httpStatusCode`.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { Readable } from 'node:stream';
import { type AwsCredentials, signRequest } from './sigv4';

export type { AwsCredentials } from './sigv4';

export type CredentialsProvider = () => AwsCredentials | Promise<AwsCredentials>;

/** Credentials from the environment: in Lambda, the function role's, set by the runtime. */
export function environmentCredentials(env: NodeJS.ProcessEnv = process.env): AwsCredentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new Error(
      'No AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them from the function role). Fix: run in Lambda, or export credentials for local runs',
    );
  }
  return { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN || undefined };
}

export interface AwsClientOptions {
  /** @default process.env.AWS_REGION */
  readonly region?: string;
  /**
   * Endpoint URL, e.g. `http://127.0.0.1:4566` for a local emulator.
   * @default AWS_ENDPOINT_URL_<SERVICE> or AWS_ENDPOINT_URL from the environment, else the service's public endpoint
   */
  readonly endpoint?: string;
  /** @default environmentCredentials */
  readonly credentials?: AwsCredentials | CredentialsProvider;
  /** Attempts per call, the first included. @default 3 */
  readonly maxAttempts?: number;
  /** Milliseconds without a byte from the service before a call fails (and is retried). @default 30000 */
  readonly socketTimeoutMs?: number;
  /** Base delay of the exponential backoff, in milliseconds. @default 100 */
  readonly retryBaseDelayMs?: number;
}

export interface AwsRequest {
  readonly method: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'HEAD';
  /** Path as sent (URI-encoded), starting with `/`. @default '/' */
  readonly path?: string;
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly body?: Buffer | string;
}

export interface AwsResponse {
  readonly statusCode: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface AwsStreamResponse {
  readonly statusCode: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Readable;
}

/** What a failed call's response says: the error code (becomes `name`) and message. */
export interface ErrorDetails {
  readonly code: string;
  readonly message: string;
}

/** Reads the error code and message from a failed response, in the service's protocol. */
export type ErrorParser = (response: AwsResponse) => ErrorDetails;

/** An error answered by an AWS service, named after its error code like the SDK's exceptions. */
export class AwsServiceError extends Error {
  readonly $metadata: { readonly httpStatusCode: number; readonly requestId?: string; readonly attempts: number };
  readonly $fault: 'client' | 'server';

  constructor(details: ErrorDetails, statusCode: number, requestId: string | undefined, attempts: number) {
    super(details.message || `${details.code} (HTTP ${statusCode})`);
    this.name = details.code;
    this.$fault = statusCode >= 500 ? 'server' : 'client';
    this.$metadata = { httpStatusCode: statusCode, requestId, attempts };
  }
}

/** Error codes the SDK's standard retry mode retries, whatever the status. */
const THROTTLING_CODES = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'RequestTimeout',
  'RequestTimeoutException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);
const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);
const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);
const MAX_BACKOFF_MS = 20_000;

export function isRetryable(error: unknown): boolean {
  if (error instanceof AwsServiceError) {
    return RETRYABLE_STATUS.has(error.$metadata.httpStatusCode) || THROTTLING_CODES.has(error.name);
  }
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRYABLE_NETWORK_CODES.has(code);
}

/** Connections are reused across calls and invocations (the SDK does the same). */
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 50 });
const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 50 });

function requestIdOf(headers: http.IncomingHttpHeaders): string | undefined {
  const id = headers['x-amzn-requestid'] ?? headers['x-amz-request-id'];
  return typeof id === 'string' ? id : undefined;
}

function defined(record: Readonly<Record<string, string | undefined>> | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(record ?? {})) if (value !== undefined) result[key] = value;
  return result;
}

const USER_AGENT = `data-platform-lambda node/${process.versions.node}`;

export class AwsClient {
  private readonly credentials: CredentialsProvider;
  private readonly maxAttempts: number;
  private readonly socketTimeoutMs: number;
  private readonly retryBaseDelayMs: number;
  private resolved: { readonly region: string; readonly endpoint: URL; readonly isDefault: boolean } | undefined;

  /**
   * Nothing is read from the environment until the first call, so a module can create its clients at load time
   * (and tests can import it) without AWS_REGION.
   *
   * @param service signing name (`s3`, `rds-data`, `dynamodb`, `sqs`, `glue`)
   * @param parseError reads a failed response in the service's protocol
   * @param endpointPrefix host prefix of the public endpoint. @default service
   */
  constructor(
    readonly service: string,
    private readonly parseError: ErrorParser,
    private readonly options: AwsClientOptions = {},
    private readonly endpointPrefix = service,
  ) {
    const credentials = options.credentials ?? (() => environmentCredentials());
    this.credentials = typeof credentials === 'function' ? credentials : () => credentials;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.socketTimeoutMs = options.socketTimeoutMs ?? 30_000;
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 100;
  }

  private resolve(): { readonly region: string; readonly endpoint: URL; readonly isDefault: boolean } {
    if (this.resolved) return this.resolved;
    const region = this.options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (!region) throw new Error(`No AWS region for ${this.service}: set AWS_REGION (Lambda sets it)`);
    const envName = `AWS_ENDPOINT_URL_${this.service.toUpperCase().replace(/-/g, '_')}`;
    const configured = this.options.endpoint ?? process.env[envName] ?? process.env.AWS_ENDPOINT_URL;
    const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
    this.resolved = {
      region,
      endpoint: new URL(configured ?? `https://${this.endpointPrefix}.${region}.${suffix}`),
      isDefault: configured === undefined,
    };
    return this.resolved;
  }

  get region(): string {
    return this.resolve().region;
  }

  get endpoint(): URL {
    return this.resolve().endpoint;
  }

  /** Whether the endpoint is the service's public one (presigned S3 URLs then address buckets by host name). */
  get isDefaultEndpoint(): boolean {
    return this.resolve().isDefault;
  }

  async getCredentials(): Promise<AwsCredentials> {
    return this.credentials();
  }

  /** Sends a signed request and reads the whole response; a non-2xx answer becomes an {@link AwsServiceError}. */
  async send(request: AwsRequest): Promise<AwsResponse> {
    return this.withRetries(async (attempt) => {
      const response = await this.exchange(request);
      const body = await readAll(response.body);
      const buffered: AwsResponse = { statusCode: response.statusCode, headers: response.headers, body };
      if (buffered.statusCode >= 300) throw this.toError(buffered, attempt);
      return buffered;
    });
  }

  private toError(response: AwsResponse, attempts: number): AwsServiceError {
    let details: ErrorDetails;
    try {
      details = this.parseError(response);
    } catch {
      details = { code: `Http${response.statusCode}`, message: response.body.toString('utf8').slice(0, 500) };
    }
    return new AwsServiceError(details, response.statusCode, requestIdOf(response.headers), attempts);
  }

  private async withRetries<T>(call: (attempt: number) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call(attempt);
      } catch (error) {
        if (attempt >= this.maxAttempts || !isRetryable(error)) throw error;
        // Full jitter: a random delay up to base * 2^attempt spreads retries of many callers apart.
        const ceiling = Math.min(MAX_BACKOFF_MS, this.retryBaseDelayMs * 2 ** attempt);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
      }
    }
  }

  private async exchange(request: AwsRequest): Promise<AwsStreamResponse> {
    const secure = this.endpoint.protocol === 'https:';
    const hostname = this.endpoint.hostname;
    const host = this.endpoint.port ? `${hostname}:${this.endpoint.port}` : hostname;
    // An endpoint with a path (rare: some emulators) prefixes every request path.
    const basePath = this.endpoint.pathname.replace(/\/$/, '');
    const path = `${basePath}${request.path ?? '/'}`;
    const query = defined(request.query);
    const body = request.body ?? '';
    const headers = signRequest(
      { method: request.method, host, path, query, headers: defined(request.headers), body },
      { service: this.service, region: this.region, credentials: await this.credentials() },
    );
    const search = new URLSearchParams(query).toString().replace(/\+/g, '%20');
    const options: http.RequestOptions = {
      method: request.method,
      hostname,
      port: this.endpoint.port || undefined,
      path: search ? `${path}?${search}` : path,
      headers: { ...headers, 'user-agent': USER_AGENT, 'content-length': String(Buffer.byteLength(body)) },
      agent: secure ? httpsAgent : httpAgent,
      timeout: this.socketTimeoutMs,
    };
    return new Promise<AwsStreamResponse>((resolve, reject) => {
      const outgoing = (secure ? https : http).request(options, (incoming) => {
        resolve({ statusCode: incoming.statusCode ?? 0, headers: incoming.headers, body: incoming });
      });
      outgoing.on('timeout', () => {
        outgoing.destroy(
          Object.assign(new Error(`No answer from ${hostname} in ${this.socketTimeoutMs} ms`), {
            code: 'ETIMEDOUT',
          }),
        );
      });
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

// --------------------------------------------------------------------------------------------------------------------
// Error parsers of the JSON protocols.
// --------------------------------------------------------------------------------------------------------------------

/** `com.amazonaws.dynamodb.v20120810#ResourceNotFoundException` or `ValidationException:http://...` -> the name. */
function shortCode(text: string): string {
  return text.split('#').pop()!.split(':')[0].trim();
}

/** awsJson1_0 / awsJson1_1 / restJson1: the code is in `x-amzn-errortype`, `__type` or `code`. */
export const parseJsonError: ErrorParser = (response) => {
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(response.body.toString('utf8') || '{}');
  } catch {
    // Not JSON (a proxy's HTML page ...): the status and header still say what happened.
  }
  const header = response.headers['x-amzn-errortype'];
  const typeText =
    (typeof header === 'string' && header) ||
    (typeof body.__type === 'string' && body.__type) ||
    (typeof body.code === 'string' && body.code) ||
    `Http${response.statusCode}`;
  const message = body.message ?? body.Message ?? body.errorMessage ?? '';
  return { code: shortCode(typeText), message: String(message) };
};

/** An awsJson timestamp (epoch seconds; the SDK also accepts an ISO string) as a Date. */
export function dateFromJson(value: unknown): Date | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return new Date(Math.round(value * 1000));
  if (typeof value === 'string') {
    const date = /^-?\d+(\.\d+)?$/.test(value) ? new Date(Math.round(Number(value) * 1000)) : new Date(value);
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new Error(`AWS returned a timestamp that is not one: ${JSON.stringify(value)}`);
}

/** A JSON RPC service (awsJson 1.0 / 1.1: DynamoDB, SQS, Glue): POST / with `X-Amz-Target`. */
export class JsonRpcClient {
  readonly client: AwsClient;

  constructor(
    service: string,
    private readonly targetPrefix: string,
    private readonly jsonVersion: '1.0' | '1.1',
    options: AwsClientOptions = {},
  ) {
    this.client = new AwsClient(service, parseJsonError, options);
  }

  async call<T>(operation: string, input: object): Promise<T> {
    const response = await this.client.send({
      method: 'POST',
      path: '/',
      headers: {
        'content-type': `application/x-amz-json-${this.jsonVersion}`,
        'x-amz-target': `${this.targetPrefix}.${operation}`,
      },
      body: JSON.stringify(input),
    });
    const text = response.body.toString('utf8');
    return (text ? JSON.parse(text) : {}) as T;
  }
}
