/**
 * A local HTTP endpoint standing in for an AWS JSON service (RDS Data API, DynamoDB, SQS, Glue) in tests of the
 * Lambda's AWS clients (lambda/shared/aws). Every request's SigV4 signature is checked with the AWS SDK's own signer
 * (@smithy/signature-v4), so a test passes only when the request would also be accepted by AWS; answers come from the
 * test's handler, in the shapes AWS documents.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';

export const FAKE_CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'session-token-example',
};
export const FAKE_REGION = 'eu-west-1';

export interface FakeAwsCall {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** `X-Amz-Target` of JSON RPC calls (`DynamoDB_20120810.GetItem`). */
  readonly target?: string;
  /** The parsed JSON body, when there is one. */
  readonly json?: unknown;
}

export interface FakeAwsAnswer {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  /** An object is sent as JSON. */
  readonly body?: string | object;
}

export type FakeAwsHandler = (call: FakeAwsCall) => FakeAwsAnswer | Promise<FakeAwsAnswer>;

export interface FakeAws {
  /** `http://127.0.0.1:<port>`: give it to the client as `endpoint`. */
  readonly endpoint: string;
  readonly calls: FakeAwsCall[];
  stop(): Promise<void>;
}

/** The signature the AWS SDK computes for this request, over the headers the request says it signed. */
async function expectedAuthorization(
  service: string,
  method: string,
  rawPath: string,
  headers: IncomingHttpHeaders,
  body: string,
): Promise<string | undefined> {
  const authorization = headers.authorization;
  const signedNames = /SignedHeaders=([^,]+)/.exec(authorization ?? '')?.[1]?.split(';');
  const amzDate = headers['x-amz-date'];
  if (!signedNames || typeof amzDate !== 'string') return undefined;
  const signed: Record<string, string> = {};
  for (const name of signedNames) signed[name] = String(headers[name] ?? '');
  const [pathPart, search = ''] = rawPath.split('?');
  const query: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(search)) query[key] = value;
  const signer = new SignatureV4({
    credentials: FAKE_CREDENTIALS,
    region: FAKE_REGION,
    service,
    sha256: Sha256,
    uriEscapePath: service !== 's3',
    applyChecksum: service === 's3',
  });
  const signingDate = new Date(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
  const result = await signer.sign(
    {
      method,
      protocol: 'http:',
      hostname: String(headers.host).split(':')[0],
      path: pathPart,
      query,
      headers: signed,
      body,
    },
    { signingDate },
  );
  return String(result.headers.authorization);
}

/**
 * Starts the fake endpoint for `service` (its signing name). A request with a wrong signature is answered like AWS
 * does (403 InvalidSignatureException) and recorded, so the test fails on it.
 */
export async function startFakeAws(service: string, handler: FakeAwsHandler): Promise<FakeAws> {
  const calls: FakeAwsCall[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(request.url ?? '/', 'http://localhost');
      let json: unknown;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      const call: FakeAwsCall = {
        method: request.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: request.headers,
        body,
        target: typeof request.headers['x-amz-target'] === 'string' ? request.headers['x-amz-target'] : undefined,
        json,
      };
      calls.push(call);
      let answer: FakeAwsAnswer;
      const expected = await expectedAuthorization(service, call.method, request.url ?? '/', request.headers, body);
      if (expected === undefined || expected !== request.headers.authorization) {
        answer = {
          status: 403,
          headers: { 'x-amzn-errortype': 'InvalidSignatureException' },
          body: { message: `The request signature we calculated does not match (expected ${expected})` },
        };
      } else {
        try {
          answer = await handler(call);
        } catch (error) {
          answer = { status: 500, body: { message: (error as Error).message } };
        }
      }
      const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {});
      response.writeHead(answer.status ?? 200, {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-requestid': `req-${calls.length}`,
        ...answer.headers,
      });
      response.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Options for a lambda/shared/aws client that reach `fake` with the credentials it checks; retries wait ~1 ms. */
export function clientOptions(fake: FakeAws) {
  return { endpoint: fake.endpoint, region: FAKE_REGION, credentials: FAKE_CREDENTIALS, retryBaseDelayMs: 1 };
}

/**
 * What Lambda gives a function: its region and its role's credentials (here the ones the fakes check), so that the
 * clients a handler module creates at load time sign as they would in Lambda. Call before importing the module.
 */
export function setLambdaRoleEnvironment(): void {
  process.env.AWS_REGION = FAKE_REGION;
  process.env.AWS_ACCESS_KEY_ID = FAKE_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = FAKE_CREDENTIALS.secretAccessKey;
  process.env.AWS_SESSION_TOKEN = FAKE_CREDENTIALS.sessionToken;
}
