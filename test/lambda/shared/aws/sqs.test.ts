import { createHash } from 'node:crypto';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SqsClient } from '../../../../lambda/shared/aws/sqs';
import { type FakeAws, type FakeAwsHandler, clientOptions, startFakeAws } from '../../../helpers/fake-aws';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/222222222222/dp-dev-export-jobs';

let fake: FakeAws;
let answer: FakeAwsHandler;

const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');
/** SendMessage's answer as SQS gives it (API reference, SendMessage, Response Syntax). */
const sent: FakeAwsHandler = (call) => ({
  body: {
    MD5OfMessageBody: md5((call.json as { MessageBody: string }).MessageBody),
    MessageId: '5fea7756-0ea4-451a-a703-a558b933e274',
  },
});

beforeAll(async () => {
  fake = await startFakeAws('sqs', (call) => answer(call));
});
afterAll(() => fake.stop());
beforeEach(() => {
  fake.calls.length = 0;
  answer = sent;
});

const options = () => clientOptions(fake);

describe('SqsClient.sendMessage', () => {
  it('sends awsJson1.0 AmazonSQS.SendMessage and returns the message id', async () => {
    const body = JSON.stringify({ id: '0b7f3c3e-8d1f-4c57-9a4e-2f9d8e1c6a01', note: 'ä ö ✓' });
    await expect(new SqsClient(options()).sendMessage({ QueueUrl: QUEUE_URL, MessageBody: body })).resolves.toEqual({
      MD5OfMessageBody: md5(body),
      MessageId: '5fea7756-0ea4-451a-a703-a558b933e274',
    });
    const [call] = fake.calls;
    expect(call.method).toBe('POST');
    expect(call.path).toBe('/');
    expect(call.target).toBe('AmazonSQS.SendMessage');
    expect(call.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(call.json).toEqual({ QueueUrl: QUEUE_URL, MessageBody: body });
  });

  it('sends delay and message attributes, binary values as base64', async () => {
    await new SqsClient(options()).sendMessage({
      QueueUrl: QUEUE_URL,
      MessageBody: 'x',
      DelaySeconds: 5,
      MessageAttributes: {
        kind: { DataType: 'String', StringValue: 'export' },
        raw: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2, 3]) },
      },
    });
    expect(fake.calls[0].json).toEqual({
      QueueUrl: QUEUE_URL,
      MessageBody: 'x',
      DelaySeconds: 5,
      MessageAttributes: {
        kind: { DataType: 'String', StringValue: 'export' },
        raw: { DataType: 'Binary', BinaryValue: 'AQID' },
      },
    });
  });

  it('fails when the MD5 SQS reports does not match the body sent, as the SDK does', async () => {
    answer = () => ({ body: { MD5OfMessageBody: md5('something else'), MessageId: 'm-1' } });
    await expect(new SqsClient(options()).sendMessage({ QueueUrl: QUEUE_URL, MessageBody: 'x' })).rejects.toMatchObject(
      {
        name: 'InvalidChecksumError',
      },
    );
  });

  it('fails with the error SQS names (QueueDoesNotExist, HTTP 400)', async () => {
    answer = () => ({
      status: 400,
      headers: { 'x-amzn-query-error': 'AWS.SimpleQueueService.NonExistentQueue;Sender' },
      body: { __type: 'com.amazonaws.sqs#QueueDoesNotExist', message: 'The specified queue does not exist.' },
    });
    await expect(new SqsClient(options()).sendMessage({ QueueUrl: QUEUE_URL, MessageBody: 'x' })).rejects.toMatchObject(
      {
        name: 'QueueDoesNotExist',
        message: 'The specified queue does not exist.',
        $metadata: { httpStatusCode: 400, attempts: 1 },
      },
    );
    expect(fake.calls).toHaveLength(1);
  });

  it('sends the body the AWS SDK sends', async () => {
    const input = {
      QueueUrl: QUEUE_URL,
      MessageBody: '{"id":"x"}',
      DelaySeconds: 0,
      MessageAttributes: { raw: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2, 3]) } },
    };
    const sdk = new SQSClient(options());
    const { $metadata, ...theirs } = await sdk.send(new SendMessageCommand(input));
    sdk.destroy();
    const ours = await new SqsClient(options()).sendMessage(input);
    expect(fake.calls[1].target).toBe(fake.calls[0].target);
    expect(fake.calls[1].json).toEqual(fake.calls[0].json);
    expect(ours).toEqual(theirs);
  });
});
