import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { withLambdaContext } from '../../../lambda/shared/logger';
import { REPO_ROOT } from '../../helpers/app';

function lambdaContext(requestId: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'dp-dev-validate',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:222222222222:function:dp-dev-validate',
    memoryLimitInMB: '256',
    awsRequestId: requestId,
    logGroupName: '/aws/lambda/dp-dev-validate',
    logStreamName: '2026/12/02/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

describe('withLambdaContext', () => {
  it('puts the request id and the cold start flag on every line, and clears appended keys after each invocation', async () => {
    const lines: Record<string, unknown>[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(JSON.parse(String(chunk)));
      return true;
    });
    // Set by Lambda for on-demand instances: Powertools reports a cold start only then.
    process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
    try {
      const log = new Logger({ serviceName: 'validate', logLevel: 'INFO' });
      const handler = withLambdaContext(async (event: { n: number }) => {
        log.info('first line');
        log.appendKeys({ dataset: 'clicks' });
        log.info('second line');
        return event.n * 2;
      }, log);
      expect(await handler({ n: 1 }, lambdaContext('req-1'))).toBe(2);
      expect(await handler({ n: 2 }, lambdaContext('req-2'))).toBe(4);
      log.info('between invocations');
    } finally {
      write.mockRestore();
      delete process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
    }
    expect(
      lines.map((line) => [line.message, line.function_request_id, line.cold_start, line.dataset ?? null]),
    ).toEqual([
      ['first line', 'req-1', true, null],
      ['second line', 'req-1', true, 'clicks'],
      ['first line', 'req-2', false, null],
      ['second line', 'req-2', false, 'clicks'],
      ['between invocations', 'req-2', false, null],
    ]);
    expect(lines[0]).toMatchObject({
      function_name: 'dp-dev-validate',
      function_arn: 'arn:aws:lambda:eu-west-1:222222222222:function:dp-dev-validate',
      function_memory_size: '256',
    });
  });

  it('wraps the handler export of every function', () => {
    const lambdaDir = path.join(REPO_ROOT, 'lambda');
    const functions = readdirSync(lambdaDir).filter((name) => existsSync(path.join(lambdaDir, name, 'handler.ts')));
    expect(functions.length).toBeGreaterThanOrEqual(11);
    const unwrapped = functions.filter(
      (name) =>
        !/^export const handler = withLambdaContext\(/m.test(
          readFileSync(path.join(lambdaDir, name, 'handler.ts'), 'utf8'),
        ),
    );
    expect(unwrapped).toEqual([]);
  });
});
