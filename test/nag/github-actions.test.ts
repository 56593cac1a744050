/**
 * The `github-actions` delivery engine's synth: every environment's stage directly under the App (no pipeline
 * stack), the same stack names as in the pipelines, cdk-nag clean, and the integration-test role trusting the
 * workflow's deploy role instead of the pipeline's runner.
 */
import { Stack, Stage } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { AppConfig } from '../../config/schema';
import { addPlatform } from '../../lib/platform-app';
import { STAGE_STACK_SUFFIXES } from '../../stages/stack-names';
import { exampleConfig } from '../helpers/app';
import { formatViolations } from '../helpers/nag';
import { flaggedApp } from '../lib/pipeline/flagged-app';
import { synthAndReadViolations } from '../lib/pipeline/nag-report';
import { createDataPlatformStage } from '../../stages/data-platform-stage';

const example = exampleConfig();
const config: AppConfig = {
  ...example,
  platform: { ...example.platform, delivery: { engine: 'github-actions', github: {} } },
};

describe('synth with the GitHub Actions engine', () => {
  // addPlatform registers cdk-nag itself, as bin/ does.
  const app = flaggedApp();
  const stages = addPlatform(app, config, createDataPlatformStage);
  const violations = synthAndReadViolations(app);

  test('holds one stage per environment under the App and no pipeline stack', () => {
    // Besides the stages, the App holds only the construct tree metadata that synth adds.
    const children = app.node.children.filter((child) => child.node.id !== 'Tree');
    expect(children.map((child) => child.node.id)).toEqual(['Dev', 'Test', 'Prod']);
    expect(children.every((child) => child instanceof Stage)).toBe(true);
    expect(stages).toHaveLength(3);
  });

  test('names the stacks as the pipelines do: <prefix>-<env>-<stack>', () => {
    for (const [index, name] of ['dev', 'test', 'prod'].entries()) {
      const stacks = stages[index].node.children.filter((child): child is Stack => child instanceof Stack);
      expect(stacks.map((stack) => stack.stackName)).toEqual(
        STAGE_STACK_SUFFIXES.map((suffix) => `dp-${name}-${suffix}`),
      );
    }
  });

  test('has no cdk-nag errors', () => {
    expect(formatViolations(violations).filter((violation) => violation.startsWith('error'))).toEqual([]);
  });

  test("lets only the environment's GitHub deploy role assume the integration-test role", () => {
    const iam = stages[0].node.findChild('Iam') as Stack;
    Template.fromStack(iam).hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'dp-dev-integration-test',
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { AWS: 'arn:aws:iam::222222222222:root' },
            Condition: { ArnEquals: { 'aws:PrincipalArn': 'arn:aws:iam::222222222222:role/dp-dev-github-deploy' } },
          },
        ],
      },
    });
  });
});
