/**
 * The RDS Data API (restJson1) over {@link AwsClient}: the four operations the functions call, with the SDK's request
 * and response shapes (see ./client.ts for why the SDK client is not used at run time).
 *
 * Wire format: POST /<Operation> with a JSON body whose members are named like the SDK's input; blobs are base64
 * strings both ways (`Field.blobValue`), which this module converts from and to `Uint8Array` as the SDK does.
 */
import type {
  BeginTransactionCommandInput,
  BeginTransactionCommandOutput,
  CommitTransactionCommandInput,
  CommitTransactionCommandOutput,
  ExecuteStatementCommandInput,
  ExecuteStatementCommandOutput,
  Field,
  RollbackTransactionCommandInput,
  RollbackTransactionCommandOutput,
} from '@aws-sdk/client-rds-data';
import { AwsClient, type AwsClientOptions, parseJsonError } from './client';

type WithoutMetadata<T> = Omit<T, '$metadata'>;

export type ExecuteStatementInput = ExecuteStatementCommandInput;
export type ExecuteStatementOutput = WithoutMetadata<ExecuteStatementCommandOutput>;
export type BeginTransactionInput = BeginTransactionCommandInput;
export type BeginTransactionOutput = WithoutMetadata<BeginTransactionCommandOutput>;
export type CommitTransactionInput = CommitTransactionCommandInput;
export type CommitTransactionOutput = WithoutMetadata<CommitTransactionCommandOutput>;
export type RollbackTransactionInput = RollbackTransactionCommandInput;
export type RollbackTransactionOutput = WithoutMetadata<RollbackTransactionCommandOutput>;

/** What code needs of the Data API: {@link RdsDataClient}, or an in-memory stand-in in tests. */
export interface RdsDataApi {
  executeStatement(input: ExecuteStatementInput): Promise<ExecuteStatementOutput>;
  beginTransaction(input: BeginTransactionInput): Promise<BeginTransactionOutput>;
  commitTransaction(input: CommitTransactionInput): Promise<CommitTransactionOutput>;
  rollbackTransaction(input: RollbackTransactionInput): Promise<RollbackTransactionOutput>;
}

/** A field as sent: the blob as base64 (the other members are JSON as they are). */
function fieldToWire(field: Field): unknown {
  if (field.blobValue === undefined) return field;
  return { ...field, blobValue: Buffer.from(field.blobValue).toString('base64') };
}

/** A field as the SDK returns it: the blob as bytes. */
function fieldFromWire(field: Field): Field {
  const blob = (field as { blobValue?: unknown }).blobValue;
  if (typeof blob !== 'string') return field;
  return { ...field, blobValue: new Uint8Array(Buffer.from(blob, 'base64')) } as Field;
}

export class RdsDataClient implements RdsDataApi {
  private readonly client: AwsClient;

  constructor(options: AwsClientOptions = {}) {
    this.client = new AwsClient('rds-data', parseJsonError, options);
  }

  async executeStatement(input: ExecuteStatementInput): Promise<ExecuteStatementOutput> {
    const body = {
      ...input,
      parameters: input.parameters?.map((parameter) =>
        parameter.value === undefined ? parameter : { ...parameter, value: fieldToWire(parameter.value) },
      ),
    };
    const output = await this.call<ExecuteStatementOutput>('/Execute', body);
    if (output.records) output.records = output.records.map((record) => record.map(fieldFromWire));
    if (output.generatedFields) output.generatedFields = output.generatedFields.map(fieldFromWire);
    return output;
  }

  beginTransaction(input: BeginTransactionInput): Promise<BeginTransactionOutput> {
    return this.call('/BeginTransaction', input);
  }

  commitTransaction(input: CommitTransactionInput): Promise<CommitTransactionOutput> {
    return this.call('/CommitTransaction', input);
  }

  rollbackTransaction(input: RollbackTransactionInput): Promise<RollbackTransactionOutput> {
    return this.call('/RollbackTransaction', input);
  }

  private async call<T extends object>(path: string, input: object): Promise<T> {
    const response = await this.client.send({
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(input),
    });
    const text = response.body.toString('utf8');
    const output = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    // Absent members stay absent (the SDK leaves them undefined; JSON null means the same).
    for (const [key, value] of Object.entries(output)) if (value === null) delete output[key];
    return output as T;
  }
}
