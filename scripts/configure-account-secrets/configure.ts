/**
 * The logic of scripts/configure-account-secrets.ts, taking SDK clients so tests can mock them at the API boundary.
 *
 * - every source: the caller must be in the deployment account (STS), otherwise nothing is touched;
 * - `github-token`: reads the token (stdin or hidden prompt), checks its shape, creates or updates the secret
 *   `source.tokenSecretName` (tagged), and prints only the secret ARN;
 * - `github-connection`: with `createConnection`, creates (or finds) the CodeConnections connection and explains the
 *   console handshake; otherwise checks the configured connection is AVAILABLE;
 * - `codecommit`: nothing to configure.
 */
import {
  type CodeStarConnectionsClient,
  type Connection,
  CreateConnectionCommand,
  GetConnectionCommand,
  ListConnectionsCommand,
} from '@aws-sdk/client-codestar-connections';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  TagResourceCommand,
  UpdateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import type { PlatformConfig } from '../../config/schema';
import {
  EXIT_CONNECTION_NOT_READY,
  EXIT_NO_CREDENTIALS,
  EXIT_UNEXPECTED,
  EXIT_USAGE,
  EXIT_WRONG_ACCOUNT,
  SetupError,
} from './errors';
import { checkGitHubTokenShape } from './token';

export interface ConfigureClients {
  readonly sts: STSClient;
  readonly secretsManager: SecretsManagerClient;
  readonly connections: CodeStarConnectionsClient;
}

export interface ConfigureIo {
  /** Reads the GitHub token (stdin or hidden prompt); called only for `github-token` sources. */
  readToken(): Promise<string>;
  /** The result (an ARN): the only thing written to stdout. */
  result(line: string): void;
  /** Progress and instructions (stderr). Never receives the token. */
  info(line: string): void;
}

export interface ConfigureOptions {
  readonly platform: PlatformConfig;
  /** Region of the Secrets Manager secret and of a new connection. */
  readonly region: string;
  /** Create the CodeConnections connection (github-connection sources). @default false */
  readonly createConnection?: boolean;
  /** KMS key for the token secret. @default - the account's aws/secretsmanager key */
  readonly kmsKeyId?: string;
}

export async function configureAccountSecrets(
  options: ConfigureOptions,
  clients: ConfigureClients,
  io: ConfigureIo,
): Promise<void> {
  const { platform } = options;
  const source = platform.source;
  if (options.createConnection && source.type !== 'github-connection') {
    throw new SetupError(
      EXIT_USAGE,
      `--create-connection applies to "github-connection" sources, but config/platform.json has source.type "${source.type}". Fix: drop --create-connection, or switch source.type to "github-connection"`,
    );
  }

  await requireDeploymentAccount(platform, clients.sts, io);

  switch (source.type) {
    case 'codecommit':
      io.info(
        `Source is the CodeCommit repository "${source.repositoryName}" in the deployment account: no secret or connection is needed. ${source.create ? 'The pipeline deploy creates the repository.' : 'The repository must already exist.'}`,
      );
      return;
    case 'github-token': {
      const token = await io.readToken();
      checkGitHubTokenShape(token);
      const arn = await upsertTokenSecret(options, source.tokenSecretName, token, clients.secretsManager, io);
      io.result(arn);
      return;
    }
    case 'github-connection':
      if (options.createConnection) {
        io.result(await createConnection(options, clients.connections, io));
      } else {
        io.result(await checkConnection(options, source.connectionArn, clients.connections, io));
      }
      return;
  }
}

async function requireDeploymentAccount(platform: PlatformConfig, sts: STSClient, io: ConfigureIo): Promise<void> {
  const expected = platform.deployment.account;
  let account: string | undefined;
  let arn: string | undefined;
  try {
    ({ Account: account, Arn: arn } = await sts.send(new GetCallerIdentityCommand({})));
  } catch (error) {
    throw new SetupError(
      EXIT_NO_CREDENTIALS,
      `no valid AWS credentials (sts:GetCallerIdentity failed: ${(error as Error).message}). Fix: sign in to the deployment account ${expected} (e.g. aws sso login --profile <name>) and pass --profile <name>`,
    );
  }
  if (account !== expected) {
    throw new SetupError(
      EXIT_WRONG_ACCOUNT,
      `the credentials belong to account ${account} (${arn}), but the deployment account in config/platform.json is ${expected}. Nothing was changed. Fix: use credentials for account ${expected} (--profile <name>)`,
    );
  }
  io.info(`Caller: ${arn} (deployment account ${expected})`);
}

async function upsertTokenSecret(
  options: ConfigureOptions,
  name: string,
  token: string,
  secretsManager: SecretsManagerClient,
  io: ConfigureIo,
): Promise<string> {
  const tags = Object.entries(options.platform.tags).map(([Key, Value]) => ({ Key, Value }));
  try {
    const created = await secretsManager.send(
      new CreateSecretCommand({
        Name: name,
        Description: `GitHub token read by the ${options.platform.prefix} data platform pipelines (scripts/configure-account-secrets.ts)`,
        SecretString: token,
        KmsKeyId: options.kmsKeyId,
        Tags: tags,
      }),
    );
    io.info(`Created secret "${name}" in ${options.region}`);
    return created.ARN!;
  } catch (error) {
    if ((error as Error).name !== 'ResourceExistsException') throw explainSecretError(error, name);
  }

  try {
    const updated = options.kmsKeyId
      ? await secretsManager.send(
          new UpdateSecretCommand({ SecretId: name, SecretString: token, KmsKeyId: options.kmsKeyId }),
        )
      : await secretsManager.send(new PutSecretValueCommand({ SecretId: name, SecretString: token }));
    if (tags.length > 0) await secretsManager.send(new TagResourceCommand({ SecretId: updated.ARN!, Tags: tags }));
    io.info(`Updated secret "${name}" in ${options.region} (new current version)`);
    return updated.ARN!;
  } catch (error) {
    throw explainSecretError(error, name);
  }
}

function explainSecretError(error: unknown, name: string): Error {
  const { name: code, message } = error as Error;
  if (code === 'InvalidRequestException' && /deletion/i.test(message)) {
    return new SetupError(
      EXIT_UNEXPECTED,
      `secret "${name}" is scheduled for deletion, so it cannot be updated. Fix: aws secretsmanager restore-secret --secret-id ${name}, then run this again`,
    );
  }
  return new SetupError(EXIT_UNEXPECTED, `could not create or update secret "${name}": ${code}: ${message}`);
}

const CONNECTION_NAME_MAX = 32;

function connectionsConsoleUrl(region: string): string {
  return `https://${region}.console.aws.amazon.com/codesuite/settings/connections?region=${region}`;
}

function handshakeSteps(arn: string, region: string, repository: string): string[] {
  return [
    'Complete the GitHub handshake (once, in the AWS console; an API cannot do it):',
    `  1. Open ${connectionsConsoleUrl(region)}`,
    `  2. Select the connection ${arn.split('/').pop()} (status Pending) and choose "Update pending connection".`,
    `  3. In the GitHub window, install the AWS Connector for GitHub app on the owner of ${repository} (or choose it if it is installed), give it access to ${repository}, then choose "Connect".`,
    '  4. The status becomes Available.',
  ];
}

async function createConnection(
  options: ConfigureOptions,
  connections: CodeStarConnectionsClient,
  io: ConfigureIo,
): Promise<string> {
  const { platform, region } = options;
  const repository = platform.source.type === 'github-connection' ? platform.source.repository : '';
  const connectionName = `${platform.prefix}-github`.slice(0, CONNECTION_NAME_MAX);

  // Running the command twice must not leave two connections behind: reuse the one with our name.
  const existing = await findConnection(connections, connectionName);
  let arn: string;
  if (existing?.ConnectionArn) {
    arn = existing.ConnectionArn;
    io.info(`Connection "${connectionName}" already exists (status ${existing.ConnectionStatus}): ${arn}`);
  } else {
    const created = await connections.send(
      new CreateConnectionCommand({
        ConnectionName: connectionName,
        ProviderType: 'GitHub',
        Tags: Object.entries(platform.tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    arn = created.ConnectionArn!;
    io.info(`Created connection "${connectionName}" in ${region} (status PENDING): ${arn}`);
  }
  if (existing?.ConnectionStatus !== 'AVAILABLE') {
    for (const line of handshakeSteps(arn, region, repository)) io.info(line);
  }
  io.info('Then paste the ARN into config/platform.json:');
  io.info(`  "source": { "type": "github-connection", "repository": "${repository}", "connectionArn": "${arn}" }`);
  io.info('and run scripts/configure-account-secrets.ts again (without --create-connection) to check it is AVAILABLE.');
  return arn;
}

async function findConnection(connections: CodeStarConnectionsClient, name: string): Promise<Connection | undefined> {
  let nextToken: string | undefined;
  do {
    const page = await connections.send(
      new ListConnectionsCommand({ ProviderTypeFilter: 'GitHub', NextToken: nextToken }),
    );
    const match = page.Connections?.find((connection) => connection.ConnectionName === name);
    if (match) return match;
    nextToken = page.NextToken;
  } while (nextToken);
  return undefined;
}

async function checkConnection(
  options: ConfigureOptions,
  connectionArn: string,
  connections: CodeStarConnectionsClient,
  io: ConfigureIo,
): Promise<string> {
  const { platform } = options;
  const [, , , arnRegion, arnAccount] = connectionArn.split(':');
  const repository = platform.source.type === 'github-connection' ? platform.source.repository : '';
  if (arnAccount !== platform.deployment.account) {
    throw new SetupError(
      EXIT_CONNECTION_NOT_READY,
      `source.connectionArn ${connectionArn} is in account ${arnAccount}, not in the deployment account ${platform.deployment.account}. Fix: create the connection in the deployment account (--create-connection) and paste its ARN into config/platform.json`,
    );
  }

  let connection: Connection | undefined;
  try {
    ({ Connection: connection } = await connections.send(new GetConnectionCommand({ ConnectionArn: connectionArn })));
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') {
      throw new SetupError(
        EXIT_CONNECTION_NOT_READY,
        `connection ${connectionArn} (source.connectionArn in config/platform.json) does not exist. Fix: run scripts/configure-account-secrets.ts --create-connection and paste the new ARN into config/platform.json`,
      );
    }
    throw error;
  }

  const status = connection?.ConnectionStatus;
  if (status === 'AVAILABLE') {
    io.info(`Connection ${connection?.ConnectionName ?? ''} is AVAILABLE: the pipelines can read ${repository}.`);
    return connectionArn;
  }
  if (status === 'PENDING') {
    throw new SetupError(
      EXIT_CONNECTION_NOT_READY,
      [
        `connection ${connectionArn} is PENDING: the GitHub handshake was never completed, so the pipelines cannot read ${repository}.`,
        ...handshakeSteps(connectionArn, arnRegion, repository),
        'Then run this script again.',
      ].join('\n'),
    );
  }
  throw new SetupError(
    EXIT_CONNECTION_NOT_READY,
    `connection ${connectionArn} has status ${status}: it cannot be repaired. Fix: delete it in ${connectionsConsoleUrl(arnRegion)}, run scripts/configure-account-secrets.ts --create-connection, complete the handshake and paste the new ARN into config/platform.json`,
  );
}
