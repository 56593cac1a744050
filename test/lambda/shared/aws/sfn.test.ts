import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SfnClient } from '../../../../lambda/shared/aws/sfn';
import { type FakeAws, type FakeAwsHandler, clientOptions, startFakeAws } from '../../../helpers/fake-aws';

const STATE_MACHINE = 'arn:aws:states:eu-west-1:222222222222:stateMachine:dp-dev-batches';

let fake: FakeAws;
let answer: FakeAwsHandler;

/** StartExecution's answer as Step Functions gives it (API reference, StartExecution, Response Syntax). */
const started: FakeAwsHandler = (call) => ({
  body: {
    executionArn: `arn:aws:states:eu-west-1:222222222222:execution:dp-dev-batches:${(call.json as { name: string }).name}`,
    startDate: 1764576000.123,
  },
});

beforeAll(async () => {
  fake = await startFakeAws('states', (call) => answer(call));
});
afterAll(() => fake.stop());
beforeEach(() => {
  fake.calls.length = 0;
  answer = started;
});

const options = () => clientOptions(fake);

describe('SfnClient.startExecution', () => {
  it('sends awsJson1.0 AWSStepFunctions.StartExecution and returns the execution ARN and start date', async () => {
    const input = { stateMachineArn: STATE_MACHINE, name: 'impressions-abc', input: '{"dataset":"impressions"}' };
    await expect(new SfnClient(options()).startExecution(input)).resolves.toEqual({
      executionArn: 'arn:aws:states:eu-west-1:222222222222:execution:dp-dev-batches:impressions-abc',
      startDate: new Date(1764576000123),
    });
    const [call] = fake.calls;
    expect(call.target).toBe('AWSStepFunctions.StartExecution');
    expect(call.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(call.json).toEqual(input);
  });

  it('fails with the error Step Functions names (ExecutionAlreadyExists, HTTP 400), not retried', async () => {
    answer = () => ({
      status: 400,
      body: {
        __type: 'com.amazonaws.swf.service.v2.model#ExecutionAlreadyExists',
        message: 'Execution Already Exists',
      },
    });
    await expect(
      new SfnClient(options()).startExecution({ stateMachineArn: STATE_MACHINE, name: 'x', input: '{}' }),
    ).rejects.toMatchObject({ name: 'ExecutionAlreadyExists', $metadata: { httpStatusCode: 400, attempts: 1 } });
    expect(fake.calls).toHaveLength(1);
  });

  it('sends the body the AWS SDK sends and parses the answer as it does', async () => {
    const input = { stateMachineArn: STATE_MACHINE, name: 'clicks-1', input: '{"dataset":"clicks","iteration":0}' };
    const sdk = new SFNClient(options());
    const { $metadata, ...theirs } = await sdk.send(new StartExecutionCommand(input));
    sdk.destroy();
    const ours = await new SfnClient(options()).startExecution(input);
    expect(fake.calls[1].target).toBe(fake.calls[0].target);
    expect(fake.calls[1].json).toEqual(fake.calls[0].json);
    expect(ours).toEqual(theirs);
  });
});
