import { type App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { acknowledgeQualifierWildcards } from '../../../lib/constructs/nag-acknowledgements';
import { formatViolations, nagApp, nagViolations } from '../../helpers/nag';

/** A role in one stack allowed to invoke `<fn ARN>:*` of a function in another stack: the cdk-nag IAM5 shape. */
function invokeAcrossStacks(app: App, acknowledge: boolean) {
  const env = { account: '222222222222', region: 'eu-west-1' };
  const producer = new Stack(app, 'Producer', { env });
  const fn = new lambda.Function(producer, 'Fn', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
  });
  const consumer = new Stack(app, 'Consumer', { env });
  const role = new iam.Role(consumer, 'Role', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com') });
  role.addToPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [`${fn.functionArn}:*`] }));
  if (acknowledge) acknowledgeQualifierWildcards(role, [fn.functionArn], 'versions of that one function');
  return consumer;
}

const iam5 = (app: App, stack: Stack) =>
  formatViolations(nagViolations(app, stack)).filter((v) => v.includes('AwsSolutions-IAM5'));

describe('acknowledgeQualifierWildcards', () => {
  test('acknowledges the <ARN>:* finding of a function in another stack by its exact id', () => {
    const app = nagApp();
    expect(iam5(app, invokeAcrossStacks(app, true))).toEqual([]);
  });

  test('without it the same policy is reported (the test above can fail)', () => {
    const app = nagApp();
    expect(iam5(app, invokeAcrossStacks(app, false))).toHaveLength(1);
  });
});
