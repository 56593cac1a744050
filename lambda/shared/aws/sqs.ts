/**
 * SQS over {@link JsonRpcClient}: SendMessage with the SDK's request and response shapes (see ./client.ts for why the
 * SDK client is not used at run time). SQS speaks awsJson1.0 (target prefix `AmazonSQS`); its errors name the modern
 * code in `__type` (`com.amazonaws.sqs#QueueDoesNotExist`), which is also the name of the SDK's exception.
 */
import { createHash } from 'node:crypto';
import type { SendMessageCommandInput, SendMessageCommandOutput } from '@aws-sdk/client-sqs';
import { type AwsClientOptions, JsonRpcClient } from './client';

export type SendMessageInput = SendMessageCommandInput;
export type SendMessageOutput = Omit<SendMessageCommandOutput, '$metadata'>;

/** Binary message attribute values travel as base64, like the SDK sends them. */
function toWire(input: SendMessageInput): object {
  if (!input.MessageAttributes) return input;
  const attributes: Record<string, object> = {};
  for (const [name, value] of Object.entries(input.MessageAttributes)) {
    attributes[name] = {
      ...value,
      BinaryValue: value.BinaryValue === undefined ? undefined : Buffer.from(value.BinaryValue).toString('base64'),
      BinaryListValues: value.BinaryListValues?.map((item) => Buffer.from(item).toString('base64')),
    };
  }
  return { ...input, MessageAttributes: attributes };
}

export class SqsClient {
  private readonly rpc: JsonRpcClient;

  constructor(options: AwsClientOptions = {}) {
    this.rpc = new JsonRpcClient('sqs', 'AmazonSQS', '1.0', options);
  }

  /** Sends one message; as the SDK does, fails when SQS's MD5 of the body does not match what was sent. */
  async sendMessage(input: SendMessageInput): Promise<SendMessageOutput> {
    const output = await this.rpc.call<SendMessageOutput>('SendMessage', toWire(input));
    const expected = createHash('md5')
      .update(input.MessageBody ?? '', 'utf8')
      .digest('hex');
    if (output.MD5OfMessageBody !== expected) {
      throw Object.assign(
        new Error(
          `InvalidChecksumError: SQS answered MD5OfMessageBody ${output.MD5OfMessageBody} for a body whose MD5 is ${expected}; the message may have been altered on the way`,
        ),
        { name: 'InvalidChecksumError' },
      );
    }
    return output;
  }
}
