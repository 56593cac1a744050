import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { EnvironmentConfig } from '../../../config/schema';
import { IamStack } from '../../../lib/stacks/iam-stack';
import { StorageStack } from '../../../lib/stacks/storage-stack';
import { exampleConfig, exampleEnvironment, testApp } from '../../helpers/app';

const DEPLOYMENT_ACCOUNT = exampleConfig().platform.deployment.account;

interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

function stacks(environment: EnvironmentConfig) {
  const app = testApp();
  const common = {
    prefix: `dp-${environment.name}`,
    environment,
    deploymentAccount: DEPLOYMENT_ACCOUNT,
    env: { account: environment.account, region: environment.region },
  };
  const storage = new StorageStack(app, 'Storage', common);
  const stack = new IamStack(app, 'Iam', { ...common, storage });
  return {
    app,
    common,
    storage,
    stack,
    // Lazy, so a test can add a later stack before the app synthesizes.
    get template() {
      return Template.fromStack(stack);
    },
  };
}

function roleId(template: Template, roleName: string): string {
  const ids = Object.keys(template.findResources('AWS::IAM::Role', { Properties: { RoleName: roleName } }));
  expect(ids).toHaveLength(1);
  return ids[0];
}

/** Every statement of every policy attached to a role (inline or `iam.Policy`). */
function statementsOf(template: Template, id: string): Statement[] {
  const role = template.findResources('AWS::IAM::Role')[id];
  const inline = (role.Properties.Policies ?? []).flatMap(
    (policy: { PolicyDocument: { Statement: Statement[] } }) => policy.PolicyDocument.Statement,
  );
  const attached = Object.values(
    template.findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([{ Ref: id }]) } }),
  ).flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
  return [...inline, ...attached];
}

const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

describe.each(['dev', 'prod'] as const)('IamStack (%s example)', (name) => {
  const environment = exampleEnvironment(name);
  const { template } = stacks(environment);
  const account = environment.account;
  const bucket = (zone: string) => `arn:aws:s3:::dp-${name}-${zone}-${account}-eu-west-1`;

  it.each(['data-engineer', 'data-analyst'])(
    'lets only MFA-authenticated principals of the account assume %s',
    (role) => {
      template.hasResourceProperties('AWS::IAM::Role', {
        RoleName: `dp-${name}-${role}`,
        MaxSessionDuration: 3600,
        AssumeRolePolicyDocument: {
          Statement: [
            {
              Action: 'sts:AssumeRole',
              Effect: 'Allow',
              Principal: { AWS: `arn:aws:iam::${account}:root` },
              Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
            },
          ],
        },
      });
    },
  );

  it('lets only the integration-test runner role of the deployment account assume the integration-test role', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: `dp-${name}-integration-test`,
      MaxSessionDuration: 3600,
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: {
              AWS: `arn:aws:iam::${DEPLOYMENT_ACCOUNT}:root`,
            },
            Condition: {
              ArnEquals: {
                'aws:PrincipalArn': `arn:aws:iam::${DEPLOYMENT_ACCOUNT}:role/dp-${name}-integration-test-runner`,
              },
            },
          },
        ],
      },
    });
  });

  it('lets the analyst read curated and decrypt through S3, and nothing else', () => {
    const statements = statementsOf(template, roleId(template, `dp-${name}-data-analyst`));
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      expect(statement.Effect).toBe('Allow');
      const resources = asList(statement.Resource);
      const actions = asList(statement.Action);
      if (actions.every((action) => action.startsWith('kms:'))) {
        expect(actions).toEqual(['kms:Decrypt']);
        expect(statement.Condition).toEqual({ StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } });
        // Exactly one resource: the platform key of the Storage stack.
        expect(resources).toHaveLength(1);
        expect(JSON.stringify(resources[0])).toMatch(
          /^\{"Fn::GetStackOutput":\{.*"OutputName":"PublishOutputFnGetAttKey[0-9A-F]+Arn/,
        );
      } else {
        expect(
          resources.every((resource) => resource === bucket('curated') || resource === `${bucket('curated')}/*`),
        ).toBe(true);
        for (const action of actions) {
          expect(['s3:GetObject', 's3:ListBucket', 's3:GetBucketLocation']).toContain(action);
        }
      }
    }
    const allActions = statements.flatMap((statement) => asList(statement.Action));
    expect(allActions).toEqual(expect.arrayContaining(['s3:GetObject', 's3:ListBucket', 'kms:Decrypt']));
  });

  it('gives the data engineer read/write on landing, curated and artifacts, delete on landing, nothing on logs', () => {
    const statements = statementsOf(template, roleId(template, `dp-${name}-data-engineer`));
    const allowed = (action: string, resource: string) =>
      statements.some(
        (statement) => asList(statement.Action).includes(action) && asList(statement.Resource).includes(resource),
      );
    for (const zone of ['landing', 'curated', 'artifacts']) {
      expect(allowed('s3:GetObject', `${bucket(zone)}/*`)).toBe(true);
      expect(allowed('s3:PutObject', `${bucket(zone)}/*`)).toBe(true);
      expect(allowed('s3:ListBucket', bucket(zone))).toBe(true);
    }
    expect(allowed('s3:DeleteObject', `${bucket('landing')}/*`)).toBe(true);
    expect(allowed('s3:DeleteObjectVersion', `${bucket('landing')}/*`)).toBe(true);
    expect(JSON.stringify(statements)).not.toContain(bucket('logs'));
  });

  it('gives the integration-test role read-only checks of the buckets, network, key and stacks', () => {
    const statements = statementsOf(template, roleId(template, `dp-${name}-integration-test`));
    const actions = statements.flatMap((statement) => asList(statement.Action));
    expect(actions.sort()).toEqual(
      [
        'cloudformation:DescribeStacks',
        'ec2:DescribeFlowLogs',
        'ec2:DescribeVpcEndpoints',
        'ec2:DescribeVpcs',
        'kms:DescribeKey',
        'kms:GetKeyRotationStatus',
        's3:GetBucketPolicy',
        's3:GetBucketPublicAccessBlock',
        's3:GetBucketVersioning',
        's3:GetEncryptionConfiguration',
        's3:ListBucket',
      ].sort(),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: 'cloudformation:DescribeStacks',
        Resource: `arn:aws:cloudformation:eu-west-1:${account}:stack/dp-${name}-*/*`,
      }),
    );
    const bucketStatement = statements.find((statement) => asList(statement.Action).includes('s3:ListBucket'));
    // The cdk.json flags sort policy resources; the set is what matters.
    expect([...(bucketStatement!.Resource as string[])].sort()).toEqual(
      ['landing', 'curated', 'logs', 'artifacts'].map(bucket).sort(),
    );
  });

  it('grants no "*" action and no service-wide action on "*" resources, and attaches no managed policy', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    expect(policies.length).toBe(3);
    for (const policy of policies) {
      for (const statement of policy.Properties.PolicyDocument.Statement as Statement[]) {
        const actions = asList(statement.Action);
        expect(actions.some((action) => action === '*' || action.endsWith(':*'))).toBe(false);
        if (asList(statement.Resource).includes('*')) {
          expect(actions.every((action) => /^ec2:Describe[A-Za-z]+$/.test(action))).toBe(true);
        }
      }
    }
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe('IamStack contracts', () => {
  it('lets a later stack grant a role more through an iam.Policy of its own, without a dependency cycle', () => {
    const { app, common, stack } = stacks(exampleEnvironment('dev'));
    const later = new Stack(app, 'Catalog', { env: common.env });
    new iam.Policy(later, 'AnalystAthena', {
      roles: [stack.dataAnalystRole],
      statements: [
        new iam.PolicyStatement({
          actions: ['athena:StartQueryExecution'],
          resources: ['arn:aws:athena:eu-west-1:222222222222:workgroup/dp-dev'],
        }),
      ],
    });
    expect(() => app.synth()).not.toThrow();
    Template.fromStack(later).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ 'Fn::GetStackOutput': Match.objectLike({ OutputName: Match.stringLikeRegexp('DataAnalystRole') }) }],
    });
  });

  it('deploys after Storage', () => {
    const { storage, stack } = stacks(exampleEnvironment('prod'));
    expect(stack.dependencies).toContain(storage);
  });

  it('does not let the data engineer delete landing objects when another role is the configured deleter', () => {
    const prod = exampleEnvironment('prod');
    const { template } = stacks({ ...prod, storage: { ...prod.storage, landingDeleterRoleName: 'landing-janitor' } });
    const statements = statementsOf(template, roleId(template, 'dp-prod-data-engineer'));
    const landingObjects = 'arn:aws:s3:::dp-prod-landing-444444444444-eu-west-1/*';
    const landingActions = statements
      .filter((statement) => asList(statement.Resource).includes(landingObjects))
      .flatMap((statement) => asList(statement.Action));
    expect(landingActions).toContain('s3:PutObject');
    expect(landingActions).not.toContain('s3:DeleteObject');
    expect(landingActions).not.toContain('s3:DeleteObjectVersion');
  });

  it('uses the existing key when one is configured', () => {
    const prod = exampleEnvironment('prod');
    const existingKeyArn = 'arn:aws:kms:eu-west-1:444444444444:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
    const { template } = stacks({ ...prod, storage: { ...prod.storage, existingKmsKeyArn: existingKeyArn } });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Action: 'kms:Decrypt', Resource: existingKeyArn })]),
      },
    });
  });
});
