/**
 * scripts/configure-account-secrets.ts with the AWS APIs mocked at the SDK boundary (aws-sdk-client-mock).
 * Example config: deployment account 111111111111, source github-connection.
 */
import { EventEmitter } from 'node:events';
import { Readable, Writable } from 'node:stream';
import {
  CodeStarConnectionsClient,
  CreateConnectionCommand,
  GetConnectionCommand,
  ListConnectionsCommand,
} from '@aws-sdk/client-codestar-connections';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  SecretsManagerClient,
  TagResourceCommand,
  UpdateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import type { PlatformConfig } from '../../config/schema';
import { main, parseArgs } from '../../scripts/configure-account-secrets';
import {
  type ConfigureIo,
  type ConfigureOptions,
  configureAccountSecrets,
} from '../../scripts/configure-account-secrets/configure';
import { SetupError } from '../../scripts/configure-account-secrets/errors';
import { checkGitHubTokenShape, promptHidden, type TtyInput } from '../../scripts/configure-account-secrets/token';
import { exampleConfig } from '../helpers/app';

const DEPLOYMENT = '111111111111';
const CLASSIC_TOKEN = `ghp_${'A1b2C3d4E5'.repeat(3)}z9Y8x7`;
const FINE_GRAINED_TOKEN = `github_pat_${'a'.repeat(22)}_${'B'.repeat(59)}`;
const SECRET_ARN = `arn:aws:secretsmanager:eu-west-1:${DEPLOYMENT}:secret:github-token-AbCdEf`;
const CONNECTION_ARN = `arn:aws:codeconnections:eu-west-1:${DEPLOYMENT}:connection/00000000-0000-0000-0000-000000000000`;
const NEW_CONNECTION_ARN = `arn:aws:codeconnections:eu-west-1:${DEPLOYMENT}:connection/11111111-2222-3333-4444-555555555555`;

const sts = mockClient(STSClient);
const secretsManager = mockClient(SecretsManagerClient);
const connections = mockClient(CodeStarConnectionsClient);

function platformWith(source: PlatformConfig['source']): PlatformConfig {
  return { ...exampleConfig().platform, source };
}
const tokenPlatform = platformWith({
  type: 'github-token',
  repository: 'my-org/data-platform',
  tokenSecretName: 'github-token',
});

/** Captured io: what the script would print on stdout (result) and stderr (info). */
function captureIo(token = CLASSIC_TOKEN) {
  const captured = { results: [] as string[], info: [] as string[], tokenReads: 0 };
  const io: ConfigureIo = {
    readToken: async () => {
      captured.tokenReads++;
      return token;
    },
    result: (line) => captured.results.push(line),
    info: (line) => captured.info.push(line),
  };
  return { io, captured };
}

async function run(options: Partial<ConfigureOptions> & { platform: PlatformConfig }, token = CLASSIC_TOKEN) {
  const { io, captured } = captureIo(token);
  const clients = {
    sts: new STSClient({ region: 'eu-west-1' }),
    secretsManager: new SecretsManagerClient({ region: 'eu-west-1' }),
    connections: new CodeStarConnectionsClient({ region: 'eu-west-1' }),
  };
  const error = await configureAccountSecrets({ region: 'eu-west-1', ...options }, clients, io).then(
    () => undefined,
    (e: unknown) => e as SetupError,
  );
  return { ...captured, error };
}

/** Every argument sent to a mocked client, except the SecretString fields that must hold the token. */
function argumentsOutsideSecretString(): string {
  const calls = [...sts.calls(), ...secretsManager.calls(), ...connections.calls()];
  return JSON.stringify(
    calls.map((call) => {
      const { SecretString: _secret, ...rest } = (call.args[0] as unknown as { input: Record<string, unknown> }).input;
      return rest;
    }),
  );
}

beforeEach(() => {
  sts.reset();
  secretsManager.reset();
  connections.reset();
  sts
    .on(GetCallerIdentityCommand)
    .resolves({ Account: DEPLOYMENT, Arn: `arn:aws:sts::${DEPLOYMENT}:assumed-role/Admin/me` });
});

describe('deployment account check', () => {
  test('fails for credentials of another account, naming both, before reading the token or touching anything', async () => {
    sts
      .on(GetCallerIdentityCommand)
      .resolves({ Account: '222222222222', Arn: 'arn:aws:sts::222222222222:assumed-role/Admin/me' });
    const result = await run({ platform: tokenPlatform });
    expect(result.error).toBeInstanceOf(SetupError);
    expect(result.error?.exitCode).toBe(5);
    expect(result.error?.message).toMatch(
      /account 222222222222 .* deployment account in config\/platform.json is 111111111111/,
    );
    expect(result.tokenReads).toBe(0);
    expect(secretsManager.calls()).toHaveLength(0);
    expect(connections.calls()).toHaveLength(0);
  });

  test('fails with exit code 4 when the credentials are missing or expired', async () => {
    sts
      .on(GetCallerIdentityCommand)
      .rejects(
        Object.assign(new Error('The security token included in the request is expired'), { name: 'ExpiredToken' }),
      );
    const result = await run({ platform: tokenPlatform });
    expect(result.error?.exitCode).toBe(4);
    expect(result.error?.message).toContain('The security token included in the request is expired');
    expect(result.error?.message).toContain('Fix: sign in to the deployment account 111111111111');
  });
});

describe('github-token source', () => {
  test('creates the secret named in config, tagged, and returns only its ARN', async () => {
    secretsManager.on(CreateSecretCommand).resolves({ ARN: SECRET_ARN, Name: 'github-token' });
    const result = await run({ platform: tokenPlatform });
    expect(result.error).toBeUndefined();
    expect(result.results).toEqual([SECRET_ARN]);
    expect(secretsManager.commandCalls(CreateSecretCommand)[0].args[0].input).toEqual(
      expect.objectContaining({
        Name: 'github-token',
        SecretString: CLASSIC_TOKEN,
        KmsKeyId: undefined,
        Tags: [
          { Key: 'project', Value: 'data-platform' },
          { Key: 'owner', Value: 'platform-team' },
        ],
      }),
    );
    expect(secretsManager.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  });

  test('updates the value (and the tags) when the secret already exists', async () => {
    secretsManager
      .on(CreateSecretCommand)
      .rejects(new ResourceExistsException({ message: 'the secret github-token already exists.', $metadata: {} }));
    secretsManager.on(PutSecretValueCommand).resolves({ ARN: SECRET_ARN, VersionId: 'v2' });
    secretsManager.on(TagResourceCommand).resolves({});
    const result = await run({ platform: tokenPlatform }, FINE_GRAINED_TOKEN);
    expect(result.error).toBeUndefined();
    expect(result.results).toEqual([SECRET_ARN]);
    expect(secretsManager.commandCalls(PutSecretValueCommand)[0].args[0].input).toEqual({
      SecretId: 'github-token',
      SecretString: FINE_GRAINED_TOKEN,
    });
    expect(secretsManager.commandCalls(TagResourceCommand)[0].args[0].input.SecretId).toBe(SECRET_ARN);
  });

  test('uses the KMS key given with --kms-key-id, also when updating', async () => {
    secretsManager.on(CreateSecretCommand).rejects(new ResourceExistsException({ message: 'exists', $metadata: {} }));
    secretsManager.on(UpdateSecretCommand).resolves({ ARN: SECRET_ARN });
    const result = await run({ platform: tokenPlatform, kmsKeyId: 'alias/platform-secrets' });
    expect(result.error).toBeUndefined();
    expect(secretsManager.commandCalls(CreateSecretCommand)[0].args[0].input.KmsKeyId).toBe('alias/platform-secrets');
    expect(secretsManager.commandCalls(UpdateSecretCommand)[0].args[0].input).toEqual({
      SecretId: 'github-token',
      SecretString: CLASSIC_TOKEN,
      KmsKeyId: 'alias/platform-secrets',
    });
  });

  test('fails for a token of the wrong shape without storing or showing it', async () => {
    const wrong = 'gho_notapersonalaccesstoken1234567890';
    const result = await run({ platform: tokenPlatform }, wrong);
    expect(result.error?.exitCode).toBe(9);
    expect(result.error?.message).toContain(`(${wrong.length} characters, not shown)`);
    expect(result.error?.message).not.toContain(wrong);
    expect(secretsManager.calls()).toHaveLength(0);
  });

  test('fails with the restore command when the secret is scheduled for deletion', async () => {
    secretsManager.on(CreateSecretCommand).rejects(new ResourceExistsException({ message: 'exists', $metadata: {} }));
    secretsManager.on(PutSecretValueCommand).rejects(
      Object.assign(new Error("You can't perform this operation on the secret because it was marked for deletion."), {
        name: 'InvalidRequestException',
      }),
    );
    const result = await run({ platform: tokenPlatform });
    expect(result.error?.message).toContain('aws secretsmanager restore-secret --secret-id github-token');
  });

  test('the token never appears in any output, message or argument other than the SecretString', async () => {
    secretsManager.on(CreateSecretCommand).rejects(new ResourceExistsException({ message: 'exists', $metadata: {} }));
    secretsManager.on(PutSecretValueCommand).resolves({ ARN: SECRET_ARN });
    const result = await run({ platform: tokenPlatform });
    expect(result.results.join('\n') + result.info.join('\n')).not.toContain(CLASSIC_TOKEN);
    expect(argumentsOutsideSecretString()).not.toContain(CLASSIC_TOKEN);
    expect(secretsManager.commandCalls(PutSecretValueCommand)[0].args[0].input.SecretString).toBe(CLASSIC_TOKEN);
  });
});

describe('github-connection source', () => {
  const connectionPlatform = exampleConfig().platform;

  test('returns the ARN of an AVAILABLE connection', async () => {
    connections.on(GetConnectionCommand).resolves({
      Connection: { ConnectionArn: CONNECTION_ARN, ConnectionName: 'dp-github', ConnectionStatus: 'AVAILABLE' },
    });
    const result = await run({ platform: connectionPlatform });
    expect(result.error).toBeUndefined();
    expect(result.results).toEqual([CONNECTION_ARN]);
    expect(result.info.join('\n')).toContain('is AVAILABLE');
    expect(connections.commandCalls(GetConnectionCommand)[0].args[0].input).toEqual({ ConnectionArn: CONNECTION_ARN });
  });

  test('fails for a PENDING connection with the console steps of the handshake', async () => {
    connections.on(GetConnectionCommand).resolves({
      Connection: { ConnectionArn: CONNECTION_ARN, ConnectionName: 'dp-github', ConnectionStatus: 'PENDING' },
    });
    const result = await run({ platform: connectionPlatform });
    expect(result.error?.exitCode).toBe(8);
    expect(result.error?.message).toContain('is PENDING');
    expect(result.error?.message).toContain(
      'https://eu-west-1.console.aws.amazon.com/codesuite/settings/connections?region=eu-west-1',
    );
    expect(result.error?.message).toContain('"Update pending connection"');
    expect(result.error?.message).toContain('my-org/data-platform');
  });

  test('fails for a connection in ERROR, saying to recreate it', async () => {
    connections.on(GetConnectionCommand).resolves({ Connection: { ConnectionStatus: 'ERROR' } });
    const result = await run({ platform: connectionPlatform });
    expect(result.error?.exitCode).toBe(8);
    expect(result.error?.message).toMatch(/status ERROR.*--create-connection/);
  });

  test('fails for a connection that does not exist', async () => {
    connections
      .on(GetConnectionCommand)
      .rejects(Object.assign(new Error('Connection not found'), { name: 'ResourceNotFoundException' }));
    const result = await run({ platform: connectionPlatform });
    expect(result.error?.exitCode).toBe(8);
    expect(result.error?.message).toContain(
      'does not exist. Fix: run scripts/configure-account-secrets.ts --create-connection',
    );
  });

  test('fails for a connection ARN of another account without calling CodeConnections', async () => {
    const foreign = CONNECTION_ARN.replace(DEPLOYMENT, '999999999999');
    const result = await run({
      platform: platformWith({ type: 'github-connection', repository: 'my-org/data-platform', connectionArn: foreign }),
    });
    expect(result.error?.exitCode).toBe(8);
    expect(result.error?.message).toContain('is in account 999999999999, not in the deployment account 111111111111');
    expect(connections.calls()).toHaveLength(0);
  });

  test('--create-connection creates a GitHub connection and says how to finish the handshake and where to paste the ARN', async () => {
    connections.on(ListConnectionsCommand).resolves({ Connections: [] });
    connections.on(CreateConnectionCommand).resolves({ ConnectionArn: NEW_CONNECTION_ARN });
    const result = await run({ platform: connectionPlatform, createConnection: true });
    expect(result.error).toBeUndefined();
    expect(result.results).toEqual([NEW_CONNECTION_ARN]);
    expect(connections.commandCalls(CreateConnectionCommand)[0].args[0].input).toEqual({
      ConnectionName: 'dp-github',
      ProviderType: 'GitHub',
      Tags: [
        { Key: 'project', Value: 'data-platform' },
        { Key: 'owner', Value: 'platform-team' },
      ],
    });
    const info = result.info.join('\n');
    expect(info).toContain('"Update pending connection"');
    expect(info).toContain('paste the ARN into config/platform.json');
    expect(info).toContain(`"connectionArn": "${NEW_CONNECTION_ARN}"`);
  });

  test('--create-connection reuses the connection it created before instead of adding a second one', async () => {
    connections
      .on(ListConnectionsCommand)
      .resolvesOnce({ Connections: [{ ConnectionName: 'other' }], NextToken: 'page2' })
      .resolvesOnce({
        Connections: [{ ConnectionName: 'dp-github', ConnectionArn: NEW_CONNECTION_ARN, ConnectionStatus: 'PENDING' }],
      });
    const result = await run({ platform: connectionPlatform, createConnection: true });
    expect(result.results).toEqual([NEW_CONNECTION_ARN]);
    expect(connections.commandCalls(CreateConnectionCommand)).toHaveLength(0);
    expect(connections.commandCalls(ListConnectionsCommand)[1].args[0].input.NextToken).toBe('page2');
    expect(result.info.join('\n')).toContain('already exists (status PENDING)');
  });

  test('fails for --create-connection with another source type, before any AWS call', async () => {
    const result = await run({ platform: tokenPlatform, createConnection: true });
    expect(result.error?.exitCode).toBe(2);
    expect(result.error?.message).toContain('source.type "github-token"');
    expect(sts.calls()).toHaveLength(0);
  });
});

test('codecommit source: says nothing is needed and changes nothing', async () => {
  const result = await run({
    platform: platformWith({ type: 'codecommit', repositoryName: 'data-platform', create: false }),
  });
  expect(result.error).toBeUndefined();
  expect(result.results).toEqual([]);
  expect(result.info.join('\n')).toContain('no secret or connection is needed');
  expect(secretsManager.calls()).toHaveLength(0);
  expect(connections.calls()).toHaveLength(0);
});

describe('token shape', () => {
  test.each([
    ['classic', CLASSIC_TOKEN],
    ['fine-grained', FINE_GRAINED_TOKEN],
  ])('accepts a %s token', (kind, token) => {
    expect(checkGitHubTokenShape(token)).toBe(kind);
  });

  test.each([
    ['too short', 'ghp_abc'],
    ['an OAuth token', `gho_${'a'.repeat(36)}`],
    ['a token with a space', `ghp_${'a'.repeat(35)} `],
    ['empty input', ''],
  ])('fails for %s', (_label, token) => {
    expect(() => checkGitHubTokenShape(token)).toThrow(/is not a GitHub personal access token/);
  });
});

describe('hidden prompt', () => {
  class FakeTty extends EventEmitter implements TtyInput {
    rawModes: boolean[] = [];
    setRawMode(mode: boolean) {
      this.rawModes.push(mode);
      return this;
    }
    setEncoding() {
      return this;
    }
    resume() {
      return this;
    }
    pause() {
      return this;
    }
  }
  const capture = () => {
    let text = '';
    const stream = new Writable({
      write(chunk, _encoding, done) {
        text += chunk.toString();
        done();
      },
    });
    return { stream, text: () => text };
  };

  test('echoes nothing, handles Backspace, and restores the terminal', async () => {
    const tty = new FakeTty();
    const output = capture();
    const answer = promptHidden('Token: ', tty, output.stream);
    tty.emit('data', `${CLASSIC_TOKEN}X`);
    tty.emit('data', '\u007f\r');
    await expect(answer).resolves.toBe(CLASSIC_TOKEN);
    expect(output.text()).toBe('Token: \n');
    expect(tty.rawModes).toEqual([true, false]);
  });

  test('fails with exit code 6 on Ctrl-C', async () => {
    const tty = new FakeTty();
    const answer = promptHidden('Token: ', tty, capture().stream);
    tty.emit('data', 'ghp_\u0003');
    await expect(answer).rejects.toMatchObject({ exitCode: 6 });
  });
});

describe('command line', () => {
  test('fails for a token passed as an argument, without echoing it', () => {
    for (const argv of [[CLASSIC_TOKEN], ['--token', CLASSIC_TOKEN], [`--token=${CLASSIC_TOKEN}`]]) {
      let error: SetupError | undefined;
      try {
        parseArgs(argv);
      } catch (e) {
        error = e as SetupError;
      }
      expect(error?.exitCode).toBe(2);
      expect(error?.message).toContain('tokens are never read from the command line');
      expect(error?.message).not.toContain(CLASSIC_TOKEN);
    }
  });

  test('fails for a region that is not an AWS region', () => {
    expect(() => parseArgs(['--region', 'eu-west-9'])).toThrow('--region "eu-west-9" is not an AWS region code');
  });

  test('parses the options', () => {
    expect(
      parseArgs(['--profile', 'tooling', '--region', 'eu-central-1', '--create-connection', '--kms-key-id', 'alias/k']),
    ).toEqual({
      profile: 'tooling',
      region: 'eu-central-1',
      createConnection: true,
      kmsKeyId: 'alias/k',
      help: false,
    });
  });

  test('the whole CLI with a piped token prints only the ARN on stdout and never the token', async () => {
    // The example config uses a connection; point the CLI at a copy whose source is a token.
    const { mkdtempSync, cpSync, writeFileSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const configDir = mkdtempSync(path.join(tmpdir(), 'config-'));
    cpSync(path.join(__dirname, '..', '..', 'config'), configDir, {
      recursive: true,
      filter: (src) => !src.endsWith('.ts'),
    });
    const platformFile = path.join(configDir, 'platform.json');
    const platformJson = JSON.parse(readFileSync(platformFile, 'utf8'));
    platformJson.source = { type: 'github-token', repository: 'my-org/data-platform', tokenSecretName: 'github-token' };
    writeFileSync(platformFile, JSON.stringify(platformJson));

    secretsManager.on(CreateSecretCommand).resolves({ ARN: SECRET_ARN });
    const stdout: string[] = [];
    const stderr: string[] = [];
    const outSpy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => stdout.push(String(chunk)) > 0);
    const errSpy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => stderr.push(String(chunk)) > 0);
    const consoleSpies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((method) =>
      jest.spyOn(console, method).mockImplementation(() => undefined),
    );
    const previousDir = process.env.DATA_PLATFORM_CONFIG_DIR;
    process.env.DATA_PLATFORM_CONFIG_DIR = configDir;
    let code: number;
    try {
      code = await main([], Readable.from([`${CLASSIC_TOKEN}\n`]) as unknown as NodeJS.ReadStream);
    } finally {
      if (previousDir === undefined) delete process.env.DATA_PLATFORM_CONFIG_DIR;
      else process.env.DATA_PLATFORM_CONFIG_DIR = previousDir;
      outSpy.mockRestore();
      errSpy.mockRestore();
      rmSync(configDir, { recursive: true, force: true });
    }
    const consoleOutput = consoleSpies.flatMap((spy) => spy.mock.calls.map((call) => call.map(String).join(' ')));
    for (const spy of consoleSpies) spy.mockRestore();

    expect({ code, stdout, stderr }).toEqual({ code: 0, stdout: [`${SECRET_ARN}\n`], stderr: expect.any(Array) });
    expect([...stdout, ...stderr, ...consoleOutput].join('')).not.toContain(CLASSIC_TOKEN);
    expect(secretsManager.commandCalls(CreateSecretCommand)[0].args[0].input.SecretString).toBe(CLASSIC_TOKEN);
  });
});
