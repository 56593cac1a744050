import { GetJobRunCommand, GlueClient as SdkGlueClient } from '@aws-sdk/client-glue';
import { dateFromJson } from '../../../lambda/shared/aws/client';
import { GlueClient } from '../../../lambda/job-auditor/glue';
import { type FakeAws, type FakeAwsHandler, clientOptions, startFakeAws } from '../../helpers/fake-aws';

let fake: FakeAws;
let answer: FakeAwsHandler;

beforeAll(async () => {
  fake = await startFakeAws('glue', (call) => answer(call));
});
afterAll(() => fake.stop());
beforeEach(() => {
  fake.calls.length = 0;
});

const options = () => clientOptions(fake);

/** GetJobRun's answer as Glue gives it: timestamps are epoch seconds with a fraction. */
const jobRunAnswer = {
  JobRun: {
    Id: 'jr_0123456789abcdef',
    Attempt: 0,
    JobName: 'dp-dev-curate',
    JobMode: 'SCRIPT',
    StartedOn: 1795342200.123,
    LastModifiedOn: 1795342499.5,
    CompletedOn: 1795342499,
    JobRunState: 'FAILED',
    Arguments: { '--run_id': 'exec-123', '--dataset': 'impressions' },
    ErrorMessage: 'An error occurred while calling o123.pyWriteDynamicFrame.',
    PredecessorRuns: [],
    AllocatedCapacity: 2,
    ExecutionTime: 290,
    Timeout: 60,
    MaxCapacity: 2,
    WorkerType: 'G.1X',
    NumberOfWorkers: 2,
    LogGroupName: '/aws-glue/jobs',
    GlueVersion: '5.0',
    ExecutionClass: 'STANDARD',
  },
};

describe('GlueClient.getJobRun', () => {
  it('sends awsJson1.1 AWSGlue.GetJobRun and returns the run with Dates', async () => {
    answer = () => ({ headers: { 'content-type': 'application/x-amz-json-1.1' }, body: jobRunAnswer });
    const { JobRun: run } = await new GlueClient(options()).getJobRun({
      JobName: 'dp-dev-curate',
      RunId: 'jr_0123456789abcdef',
      PredecessorsIncluded: false,
    });
    expect(run?.StartedOn).toEqual(new Date('2026-11-22T10:10:00.123Z'));
    expect(run?.LastModifiedOn).toEqual(new Date('2026-11-22T10:14:59.500Z'));
    expect(run?.CompletedOn).toEqual(new Date('2026-11-22T10:14:59.000Z'));
    expect(run?.Arguments?.['--run_id']).toBe('exec-123');
    expect(run?.JobRunState).toBe('FAILED');
    const [call] = fake.calls;
    expect(call.method).toBe('POST');
    expect(call.target).toBe('AWSGlue.GetJobRun');
    expect(call.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(call.json).toEqual({ JobName: 'dp-dev-curate', RunId: 'jr_0123456789abcdef', PredecessorsIncluded: false });
  });

  it('leaves absent timestamps undefined', async () => {
    answer = () => ({ body: { JobRun: { Id: 'jr_1', Arguments: {} } } });
    const { JobRun: run } = await new GlueClient(options()).getJobRun({ JobName: 'j', RunId: 'jr_1' });
    expect(run).toEqual({ Id: 'jr_1', Arguments: {} });
  });

  it('fails with EntityNotFoundException (HTTP 400) for an unknown run', async () => {
    answer = () => ({
      status: 400,
      body: { __type: 'EntityNotFoundException', Message: 'Job run jr_nope not found' },
    });
    await expect(new GlueClient(options()).getJobRun({ JobName: 'j', RunId: 'jr_nope' })).rejects.toMatchObject({
      name: 'EntityNotFoundException',
      message: 'Job run jr_nope not found',
      $metadata: { httpStatusCode: 400, attempts: 1 },
    });
  });

  it('retries ThrottlingException up to 3 attempts, then fails with it', async () => {
    answer = () => ({ status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } });
    await expect(new GlueClient(options()).getJobRun({ JobName: 'j', RunId: 'jr_1' })).rejects.toMatchObject({
      name: 'ThrottlingException',
      message: 'Rate exceeded',
      $metadata: { attempts: 3 },
    });
    expect(fake.calls).toHaveLength(3);
  });

  it('reads the answer as the AWS SDK does', async () => {
    answer = () => ({ body: jobRunAnswer });
    const input = { JobName: 'dp-dev-curate', RunId: 'jr_0123456789abcdef', PredecessorsIncluded: false };
    const sdk = new SdkGlueClient(options());
    const { $metadata, ...theirs } = await sdk.send(new GetJobRunCommand(input));
    sdk.destroy();
    const ours = await new GlueClient(options()).getJobRun(input);
    expect(fake.calls[1].target).toBe(fake.calls[0].target);
    expect(fake.calls[1].json).toEqual(fake.calls[0].json);
    expect(ours).toEqual(theirs);
  });
});

describe('dateFromJson', () => {
  it('reads epoch seconds and ISO strings, and refuses anything else', () => {
    expect(dateFromJson(0)).toEqual(new Date(0));
    expect(dateFromJson('1795428600.5')).toEqual(new Date(1795428600500));
    expect(dateFromJson('2026-11-22T08:10:00Z')).toEqual(new Date('2026-11-22T08:10:00Z'));
    expect(dateFromJson(undefined)).toBeUndefined();
    expect(() => dateFromJson('soon')).toThrow(/not one/);
    expect(() => dateFromJson(true)).toThrow(/not one/);
  });
});
