/**
 * HTTP seams of the data-path checks: SigV4-signed requests (the API with IAM auth, and Cognito's admin API, whose SDK
 * client is not a dependency of this repository) and the Cognito user-pool calls the integration test makes.
 * Every request goes through an injectable `fetch`, so the tests never reach the network.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { STSClient } from '@aws-sdk/client-sts';
import { SignatureV4 } from '@smithy/signature-v4';
import type { CheckContext } from '../context';
import { CheckFailedError } from '../runner';

export type Fetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
) => Promise<{
  readonly status: number;
  text(): Promise<string>;
}>;

/** The credentials every client of the check context uses (the assumed integration-test role in the pipeline). */
async function credentialsOf(context: CheckContext) {
  const provider = context.clients.get(STSClient).config.credentials;
  return provider();
}

/** Signs a request with SigV4 for `service` in the context's region and sends it. */
export async function signedFetch(
  context: CheckContext,
  fetchImpl: Fetch,
  service: string,
  request: { url: string; method: string; headers: Record<string, string>; body?: string },
): Promise<{ status: number; text: string }> {
  const url = new URL(request.url);
  const signer = new SignatureV4({
    service,
    region: context.region,
    credentials: await credentialsOf(context),
    sha256: Sha256,
  });
  const signed = await signer.sign({
    method: request.method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: { ...request.headers, host: url.host },
    body: request.body,
  });
  // fetch sets Host itself (the same value that was signed).
  const { host: _host, ...headers } = signed.headers as Record<string, string>;
  const response = await fetchImpl(request.url, { method: request.method, headers, body: request.body });
  return { status: response.status, text: await response.text() };
}

/**
 * One call of the Cognito user pools API (JSON 1.1 protocol), e.g. `AdminCreateUser`. A non-2xx answer throws an
 * Error named after the exception Cognito returns (e.g. `UserNotFoundException`).
 */
export async function cognitoCall<T = Record<string, unknown>>(
  context: CheckContext,
  fetchImpl: Fetch,
  operation: string,
  input: Record<string, unknown>,
): Promise<T> {
  const { status, text } = await signedFetch(context, fetchImpl, 'cognito-idp', {
    url: `https://cognito-idp.${context.region}.amazonaws.com/`,
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `AWSCognitoIdentityProviderService.${operation}`,
    },
    body: JSON.stringify(input),
  });
  const body = parseJson(text) as Record<string, unknown> | undefined;
  if (status < 200 || status >= 300) {
    const type = String(body?.__type ?? `HTTP ${status}`);
    const error = new Error(`${operation}: ${String(body?.message ?? body?.Message ?? text).slice(0, 300)}`);
    error.name = type.slice(type.lastIndexOf('#') + 1);
    throw error;
  }
  return (body ?? {}) as T;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The reason an API error answer gives (`message` of the platform's JSON errors), else the start of the body. */
export function apiErrorReason(status: number, text: string): string {
  const body = parseJson(text) as { message?: unknown; type?: unknown } | undefined;
  if (body && typeof body.message === 'string') {
    return `${status} ${body.message}${typeof body.type === 'string' ? ` (${body.type})` : ''}`;
  }
  return `${status} ${text.slice(0, 200).replace(/\s+/g, ' ') || '(empty body)'}`;
}

/** A throwaway user in a created user pool, signed in with the admin username/password flow. */
export interface TestUser {
  readonly userPoolId: string;
  readonly username: string;
}

export async function createAndSignIn(
  context: CheckContext,
  fetchImpl: Fetch,
  pool: { userPoolId: string; clientId: string },
  username: string,
  password: string,
): Promise<{ user: TestUser; idToken?: string; challenge?: string }> {
  const { userPoolId, clientId } = pool;
  await cognitoCall(context, fetchImpl, 'AdminCreateUser', {
    UserPoolId: userPoolId,
    Username: username,
    MessageAction: 'SUPPRESS',
    TemporaryPassword: password,
    UserAttributes: [
      { Name: 'email', Value: username },
      { Name: 'email_verified', Value: 'true' },
    ],
  });
  const user = { userPoolId, username };
  await cognitoCall(context, fetchImpl, 'AdminSetUserPassword', {
    UserPoolId: userPoolId,
    Username: username,
    Password: password,
    Permanent: true,
  });
  const auth = await cognitoCall<{ AuthenticationResult?: { IdToken?: string }; ChallengeName?: string }>(
    context,
    fetchImpl,
    'AdminInitiateAuth',
    {
      UserPoolId: userPoolId,
      ClientId: clientId,
      AuthFlow: 'ADMIN_USER_PASSWORD_AUTH',
      AuthParameters: { USERNAME: username, PASSWORD: password },
    },
  );
  if (auth.ChallengeName) return { user, challenge: auth.ChallengeName };
  const idToken = auth.AuthenticationResult?.IdToken;
  if (!idToken) throw new CheckFailedError(`AdminInitiateAuth for ${username} returned no IdToken and no challenge`);
  return { user, idToken };
}

export async function deleteUser(context: CheckContext, fetchImpl: Fetch, user: TestUser): Promise<void> {
  await cognitoCall(context, fetchImpl, 'AdminDeleteUser', { UserPoolId: user.userPoolId, Username: user.username });
}

/**
 * The request of `POST /v1/datasets/{dataset}/events` sending `records` as NDJSON (one object per line), the way a
 * producer does: the data-path check can send its sample rows through the events route as well as the objects route.
 */
export function eventsRequest(
  apiUrl: string,
  dataset: string,
  records: readonly Record<string, unknown>[],
): { url: string; method: 'POST'; headers: Record<string, string>; body: string } {
  const base = apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`;
  return {
    url: `${base}v1/datasets/${encodeURIComponent(dataset)}/events`,
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: records.map((record) => `${JSON.stringify(record)}\n`).join(''),
  };
}

/**
 * Checks the answer of an events request that sent `sent` records: 202 with every record stored, else a
 * CheckFailedError naming the status and reason (a 207 or 503 names how many records the stream did not store).
 * Returns the line the check reports.
 */
export function checkEventsAnswer(url: string, sent: number, response: { status: number; text: string }): string {
  const body = parseJson(response.text) as { records?: unknown; stored?: unknown; failed?: unknown } | undefined;
  if (response.status === 207 || (response.status === 503 && typeof body?.failed === 'number')) {
    throw new CheckFailedError(
      `POST ${url} answered ${response.status}: the stream stored ${String(body?.stored)} of ${String(body?.records)} records (${String(body?.failed)} failed)`,
    );
  }
  if (response.status !== 202) {
    throw new CheckFailedError(`POST ${url} answered ${apiErrorReason(response.status, response.text)}`);
  }
  if (body?.records !== sent || body?.stored !== sent || body?.failed !== 0) {
    throw new CheckFailedError(
      `POST ${url} answered 202 but not for the ${sent} records sent: ${response.text.slice(0, 300)}`,
    );
  }
  return `202, ${sent} records into the dataset's event stream`;
}
