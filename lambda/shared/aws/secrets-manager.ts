/**
 * Secrets Manager over {@link JsonRpcClient}: the five operations the data mart's migrate and rotation functions call,
 * with the SDK's request and response shapes (see ./client.ts for why the SDK client is not used at run time).
 * Secrets Manager speaks awsJson1.1 (target prefix `secretsmanager`); its errors name the code in `__type`
 * (`ResourceNotFoundException`), which is also the name of the SDK's exception.
 *
 * Why this client rather than `@aws-sdk/client-secrets-manager` in a function that runs once a month: every function
 * calls the JSON services one way (signing checked against the SDK's signer, the SDK's retry policy, one set of
 * tests), and the migrate function, which also reads the login secrets, stays as small as it is. The wire format is the SDK's input JSON as it is.
 */
import type {
  DescribeSecretCommandInput,
  DescribeSecretCommandOutput,
  GetRandomPasswordCommandInput,
  GetRandomPasswordCommandOutput,
  GetSecretValueCommandInput,
  GetSecretValueCommandOutput,
  PutSecretValueCommandInput,
  PutSecretValueCommandOutput,
  UpdateSecretVersionStageCommandInput,
  UpdateSecretVersionStageCommandOutput,
} from '@aws-sdk/client-secrets-manager';
import { type AwsClientOptions, JsonRpcClient } from './client';

type WithoutMetadata<T> = Omit<T, '$metadata'>;

export type DescribeSecretInput = DescribeSecretCommandInput;
export type DescribeSecretOutput = WithoutMetadata<DescribeSecretCommandOutput>;
export type GetSecretValueInput = GetSecretValueCommandInput;
/** SecretBinary is never used by the platform's secrets: only SecretString is read. */
export type GetSecretValueOutput = Omit<WithoutMetadata<GetSecretValueCommandOutput>, 'SecretBinary'>;
export type PutSecretValueInput = Omit<PutSecretValueCommandInput, 'SecretBinary'>;
export type PutSecretValueOutput = WithoutMetadata<PutSecretValueCommandOutput>;
export type UpdateSecretVersionStageInput = UpdateSecretVersionStageCommandInput;
export type UpdateSecretVersionStageOutput = WithoutMetadata<UpdateSecretVersionStageCommandOutput>;
export type GetRandomPasswordInput = GetRandomPasswordCommandInput;
export type GetRandomPasswordOutput = WithoutMetadata<GetRandomPasswordCommandOutput>;

/** What code needs of Secrets Manager: {@link SecretsManagerClient}, or a stand-in in tests. */
export interface SecretsManagerApi {
  describeSecret(input: DescribeSecretInput): Promise<DescribeSecretOutput>;
  getSecretValue(input: GetSecretValueInput): Promise<GetSecretValueOutput>;
  putSecretValue(input: PutSecretValueInput): Promise<PutSecretValueOutput>;
  updateSecretVersionStage(input: UpdateSecretVersionStageInput): Promise<UpdateSecretVersionStageOutput>;
  getRandomPassword(input: GetRandomPasswordInput): Promise<GetRandomPasswordOutput>;
}

/** Dates come as epoch seconds (awsJson timestamps); the SDK turns them into Date objects. */
function epochToDate(value: unknown): Date | undefined {
  return typeof value === 'number' ? new Date(value * 1000) : undefined;
}

export class SecretsManagerClient implements SecretsManagerApi {
  private readonly rpc: JsonRpcClient;

  constructor(options: AwsClientOptions = {}) {
    this.rpc = new JsonRpcClient('secretsmanager', 'secretsmanager', '1.1', options);
  }

  async describeSecret(input: DescribeSecretInput): Promise<DescribeSecretOutput> {
    const output = await this.rpc.call<Record<string, unknown>>('DescribeSecret', input);
    for (const key of ['LastRotatedDate', 'LastChangedDate', 'LastAccessedDate', 'DeletedDate', 'NextRotationDate']) {
      if (key in output) output[key] = epochToDate(output[key]);
    }
    if (output.CreatedDate !== undefined) output.CreatedDate = epochToDate(output.CreatedDate);
    return output as DescribeSecretOutput;
  }

  async getSecretValue(input: GetSecretValueInput): Promise<GetSecretValueOutput> {
    const output = await this.rpc.call<Record<string, unknown>>('GetSecretValue', input);
    if (output.CreatedDate !== undefined) output.CreatedDate = epochToDate(output.CreatedDate);
    return output as GetSecretValueOutput;
  }

  putSecretValue(input: PutSecretValueInput): Promise<PutSecretValueOutput> {
    return this.rpc.call('PutSecretValue', input);
  }

  updateSecretVersionStage(input: UpdateSecretVersionStageInput): Promise<UpdateSecretVersionStageOutput> {
    return this.rpc.call('UpdateSecretVersionStage', input);
  }

  getRandomPassword(input: GetRandomPasswordInput): Promise<GetRandomPasswordOutput> {
    return this.rpc.call('GetRandomPassword', input);
  }
}
