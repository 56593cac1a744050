import {
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient as SdkSecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { SecretsManagerClient } from '../../../../lambda/shared/aws/secrets-manager';
import { clientOptions, type FakeAws, type FakeAwsHandler, startFakeAws } from '../../../helpers/fake-aws';
import { FakeSecretsManager } from '../../../helpers/fake-secrets-manager';

let fake: FakeAws;
let store: FakeSecretsManager;
let answer: FakeAwsHandler;

beforeAll(async () => {
  fake = await startFakeAws('secretsmanager', (call) => answer(call));
});
afterAll(() => fake.stop());
beforeEach(() => {
  fake.calls.length = 0;
  store = new FakeSecretsManager();
  answer = store.handle;
});

const ours = () => new SecretsManagerClient(clientOptions(fake));
/** The AWS SDK's client on the same endpoint: the reference for the wire format and the answers. */
const sdk = () => new SdkSecretsManagerClient({ ...clientOptions(fake), maxAttempts: 1 });
const withoutMetadata = ({ $metadata: _metadata, ...rest }: { $metadata: unknown }) => rest;

describe('SecretsManagerClient matches @aws-sdk/client-secrets-manager on the wire', () => {
  it('sends what the SDK sends and returns what it returns, for each operation the functions call', async () => {
    const arn = store.addSecret('reader', { username: 'mart_reader_a', password: 'p'.repeat(32) });
    const token = '0b7f3c3e-8d1f-4c57-9a4e-2f9d8e1c6a01';
    const calls: [string, () => Promise<unknown>, () => Promise<unknown>][] = [
      [
        'DescribeSecret',
        () => sdk().send(new DescribeSecretCommand({ SecretId: arn })),
        () => ours().describeSecret({ SecretId: arn }),
      ],
      [
        'GetSecretValue',
        () => sdk().send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSCURRENT' })),
        () => ours().getSecretValue({ SecretId: arn, VersionStage: 'AWSCURRENT' }),
      ],
      [
        'PutSecretValue',
        () =>
          sdk().send(
            new PutSecretValueCommand({
              SecretId: arn,
              ClientRequestToken: token,
              SecretString: '{"username":"mart_reader_b","password":"ä\\"x"}',
              VersionStages: ['AWSPENDING'],
            }),
          ),
        () =>
          ours().putSecretValue({
            SecretId: arn,
            ClientRequestToken: token,
            SecretString: '{"username":"mart_reader_b","password":"ä\\"x"}',
            VersionStages: ['AWSPENDING'],
          }),
      ],
      [
        'GetRandomPassword',
        () => sdk().send(new GetRandomPasswordCommand({ PasswordLength: 32, ExcludePunctuation: true })),
        () => ours().getRandomPassword({ PasswordLength: 32, ExcludePunctuation: true }),
      ],
    ];
    store.nextPassword = () => 'A'.repeat(32);
    for (const [operation, viaSdk, viaOurs] of calls) {
      const expected = withoutMetadata((await viaSdk()) as { $metadata: unknown });
      const sdkCall = fake.calls.at(-1);
      await expect(viaOurs()).resolves.toEqual(expected);
      const ourCall = fake.calls.at(-1);
      expect({ operation, target: ourCall?.target, body: ourCall?.json }).toEqual({
        operation,
        target: `secretsmanager.${operation}`,
        body: sdkCall?.json,
      });
      expect(ourCall?.headers['content-type']).toBe('application/x-amz-json-1.1');
    }
  });

  it('moves a stage as the SDK does', async () => {
    const arn = store.addSecret(
      'loader',
      { username: 'mart_loader_a', password: 'p'.repeat(32) },
      { versionId: 'v1'.padEnd(32, '0') },
    );
    await ours().putSecretValue({
      SecretId: arn,
      ClientRequestToken: 'v2'.padEnd(32, '0'),
      SecretString: '{}',
      VersionStages: ['AWSPENDING'],
    });
    const input = {
      SecretId: arn,
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: 'v2'.padEnd(32, '0'),
      RemoveFromVersionId: 'v1'.padEnd(32, '0'),
    };
    await ours().updateSecretVersionStage(input);
    const ourBody = fake.calls.at(-1)?.json;
    // Moved back by the SDK, then forth again: the same request body both ways.
    await sdk().send(
      new UpdateSecretVersionStageCommand({
        ...input,
        MoveToVersionId: input.RemoveFromVersionId,
        RemoveFromVersionId: input.MoveToVersionId,
      }),
    );
    await sdk().send(new UpdateSecretVersionStageCommand(input));
    expect(fake.calls.at(-1)?.json).toEqual(ourBody);
    expect(store.stages(arn)).toEqual({
      ['v1'.padEnd(32, '0')]: ['AWSPREVIOUS'],
      ['v2'.padEnd(32, '0')]: ['AWSPENDING', 'AWSCURRENT'],
    });
  });

  it('turns epoch-second dates into Date objects, as the SDK does', async () => {
    answer = () => ({ body: { ARN: 'arn', Name: 'n', LastRotatedDate: 1_795_000_000.5, CreatedDate: 1_700_000_000 } });
    const described = withoutMetadata(await sdk().send(new DescribeSecretCommand({ SecretId: 'arn' })));
    await expect(ours().describeSecret({ SecretId: 'arn' })).resolves.toEqual(described);
    expect(described).toMatchObject({ LastRotatedDate: new Date(1_795_000_000_500) });
    answer = () => ({ body: { ARN: 'arn', Name: 'n', CreatedDate: 1_700_000_000, SecretString: 's' } });
    const value = withoutMetadata(await sdk().send(new GetSecretValueCommand({ SecretId: 'arn' })));
    await expect(ours().getSecretValue({ SecretId: 'arn' })).resolves.toEqual(value);
    expect(value).toMatchObject({ CreatedDate: new Date(1_700_000_000_000) });
  });

  it('fails with the error Secrets Manager names, like the SDK exception', async () => {
    await expect(
      ours().getSecretValue({ SecretId: 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:none' }),
    ).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: "Secrets Manager can't find the specified secret.",
      $metadata: { httpStatusCode: 400 },
    });
    await expect(
      sdk().send(new GetSecretValueCommand({ SecretId: 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:none' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('retries throttling, then succeeds', async () => {
    let throttled = 2;
    answer = (call) =>
      throttled-- > 0
        ? { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } }
        : store.handle(call);
    await expect(ours().getRandomPassword({ PasswordLength: 32 })).resolves.toMatchObject({
      RandomPassword: expect.stringMatching(/^.{32}$/),
    });
    expect(fake.calls).toHaveLength(3);
  });
});
