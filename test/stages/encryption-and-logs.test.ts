/**
 * One walk over every resource of every stack of every environment of the example config (stages built as the
 * pipelines build them, asset bundling skipped): encryption, log retention and keys, as rules over the templates
 * rather than one assertion per resource, so a resource added later is held to them too.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { PRODUCTION_MIN_LOG_RETENTION_DAYS } from '../../config/schema';
import { DataPlatformStage } from '../../stages/data-platform-stage';
import { exampleConfig, testApp } from '../helpers/app';

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}
interface Statement {
  readonly Effect: string;
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/**
 * Lambda functions allowed to write to a log group their template does not create, with the reason. Empty: the
 * platform's functions and aws-cdk-lib's providers all log to log groups of their stack.
 */
const LOG_GROUP_EXCEPTIONS: Readonly<Record<string, string>> = {};
/**
 * Customer-managed keys beyond the platform key, by logical ID, with the reason. Empty: one key per environment
 * (the Storage stack's), used by every other stack.
 */
const EXTRA_KEYS: Readonly<Record<string, string>> = {};

/** Whether an IAM action pattern (`kms:*`, `kms:Create*`, `*`) covers `action`. */
function covers(pattern: string, action: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');
  return regex.test(action);
}

function allows(statement: Statement, action: string): boolean {
  if (statement.Effect !== 'Allow') return false;
  if (statement.NotAction !== undefined) return ![statement.NotAction].flat().some((p) => covers(p, action));
  return [statement.Action ?? []].flat().some((p) => covers(p, action));
}

describe('every stack of every environment', () => {
  const config = exampleConfig();
  const app = testApp();
  const environments = config.environments.map((environment) => {
    const stage = new DataPlatformStage(app, `${environment.name}Stage`, {
      platform: config.platform,
      environment,
      datasets: config.datasets,
    });
    const stacks = stage.node.children.filter((child): child is Stack => child instanceof Stack);
    return {
      environment,
      stacks: stacks.map((stack) => ({
        name: stack.stackName,
        resources: (Template.fromStack(stack).toJSON().Resources ?? {}) as Record<string, CfnResource>,
      })),
    };
  });

  test('encrypts every log group, queue, topic, bucket, trail and query result with the one platform key, keeps logs for the configured time (a year in production), and gives every function a log group of its template', () => {
    const violations: string[] = [];
    const walked: Record<string, number> = {};
    for (const { environment, stacks } of environments) {
      // The platform key: the one AWS::KMS::Key of the environment; the other stacks reference it by its logical ID.
      const keys = stacks.flatMap(({ name, resources }) =>
        Object.entries(resources)
          .filter(([, resource]) => resource.Type === 'AWS::KMS::Key')
          .map(([id, resource]) => ({ stack: name, id, resource })),
      );
      const platformKeys = keys.filter((key) => !(key.id in EXTRA_KEYS));
      if (platformKeys.length !== 1) {
        violations.push(
          `${environment.name}: ${platformKeys.length} customer-managed keys (${keys.map((k) => `${k.stack}/${k.id}`).join(', ')}); one per environment, or a justified EXTRA_KEYS entry`,
        );
      }
      const platformKeyId = platformKeys[0]?.id ?? '(none)';
      const byPlatformKey = (value: unknown) => value !== undefined && JSON.stringify(value).includes(platformKeyId);

      for (const { name, resources } of stacks) {
        for (const [id, resource] of Object.entries(resources)) {
          const where = `${name}/${id}`;
          const properties = resource.Properties ?? {};
          walked[resource.Type] = (walked[resource.Type] ?? 0) + 1;
          switch (resource.Type) {
            case 'AWS::Logs::LogGroup': {
              if (!byPlatformKey(properties.KmsKeyId))
                violations.push(`${where}: log group not encrypted with the platform key`);
              const days = properties.RetentionInDays as number | undefined;
              if (days === undefined) violations.push(`${where}: log group without retention`);
              else if (environment.production && days < PRODUCTION_MIN_LOG_RETENTION_DAYS) {
                violations.push(`${where}: production log group kept ${days} days`);
              }
              break;
            }
            case 'AWS::Lambda::Function': {
              const logGroup = (properties.LoggingConfig as { LogGroup?: { Ref?: string } } | undefined)?.LogGroup;
              const target = logGroup?.Ref === undefined ? undefined : resources[logGroup.Ref];
              if (target?.Type !== 'AWS::Logs::LogGroup' && !(id in LOG_GROUP_EXCEPTIONS)) {
                violations.push(`${where}: function logs to a log group its template does not create`);
              }
              break;
            }
            case 'AWS::SQS::Queue':
              if (!byPlatformKey(properties.KmsMasterKeyId))
                violations.push(`${where}: queue not encrypted with the platform key`);
              break;
            case 'AWS::SNS::Topic':
              if (!byPlatformKey(properties.KmsMasterKeyId))
                violations.push(`${where}: topic not encrypted with the platform key`);
              break;
            case 'AWS::Athena::WorkGroup': {
              const encryption = (
                properties.WorkGroupConfiguration as {
                  ResultConfiguration?: { EncryptionConfiguration?: { EncryptionOption?: string; KmsKey?: unknown } };
                }
              ).ResultConfiguration?.EncryptionConfiguration;
              if (encryption?.EncryptionOption !== 'SSE_KMS' || !byPlatformKey(encryption.KmsKey)) {
                violations.push(`${where}: query results not SSE-KMS with the platform key`);
              }
              break;
            }
            case 'AWS::CloudTrail::Trail':
              if (!byPlatformKey(properties.KMSKeyId))
                violations.push(`${where}: trail log files not encrypted with the platform key`);
              break;
            case 'AWS::S3::Bucket': {
              // Every bucket but the server access log bucket (S3 logging cannot write to SSE-KMS) uses the key.
              const rules = (
                properties.BucketEncryption as {
                  ServerSideEncryptionConfiguration: {
                    ServerSideEncryptionByDefault: { SSEAlgorithm: string; KMSMasterKeyID?: unknown };
                  }[];
                }
              ).ServerSideEncryptionConfiguration;
              const byDefault = rules[0]?.ServerSideEncryptionByDefault;
              const isAccessLogBucket =
                properties.LoggingConfiguration === undefined && byDefault?.SSEAlgorithm === 'AES256';
              if (
                !isAccessLogBucket &&
                !(byDefault?.SSEAlgorithm === 'aws:kms' && byPlatformKey(byDefault.KMSMasterKeyID))
              ) {
                violations.push(`${where}: bucket not SSE-KMS with the platform key`);
              }
              if (!isAccessLogBucket && properties.LoggingConfiguration === undefined) {
                violations.push(`${where}: bucket without server access logs`);
              }
              break;
            }
            case 'AWS::KMS::Key': {
              if (properties.EnableKeyRotation !== true) violations.push(`${where}: key without rotation`);
              const statements = (properties.KeyPolicy as { Statement: Statement[] }).Statement;
              for (const statement of statements.filter((s) => allows(s, 'kms:CreateGrant'))) {
                if (statement.Condition?.Bool?.['kms:GrantIsForAWSResource'] !== 'true') {
                  violations.push(
                    `${where}: key policy allows kms:CreateGrant without kms:GrantIsForAWSResource: ${JSON.stringify(statement)}`,
                  );
                }
              }
              break;
            }
          }
        }
      }
    }
    expect(violations).toEqual([]);
    // The walk saw the resources it judges (three environments of seven stacks each), so the rules are not vacuous.
    // Seven stacks of DESIGN and the Operations stack (alarms, dashboards).
    expect(environments.map((e) => e.stacks.length)).toEqual([8, 8, 8]);
    // One data-events trail per environment of the example config (each creates its own).
    expect(walked['AWS::CloudTrail::Trail']).toBe(3);
    expect(walked['AWS::S3::Bucket']).toBeGreaterThanOrEqual(15);
    // Lower bounds (other work adds resources); the key count is exact: one per environment.
    expect(walked['AWS::KMS::Key']).toBe(3);
    for (const type of ['AWS::Athena::WorkGroup', 'AWS::SNS::Topic']) expect(walked[type]).toBeGreaterThanOrEqual(3);
    expect(walked['AWS::SQS::Queue']).toBeGreaterThanOrEqual(9);
    expect(walked['AWS::Lambda::Function']).toBeGreaterThanOrEqual(3 * 12);
    expect(walked['AWS::Logs::LogGroup']).toBeGreaterThanOrEqual(walked['AWS::Lambda::Function']);
  });

  test('the key policy rule catches what aws-cdk-lib grants by default (kms:* for the account)', () => {
    expect(allows({ Effect: 'Allow', Action: 'kms:*' }, 'kms:CreateGrant')).toBe(true);
    expect(allows({ Effect: 'Allow', Action: ['kms:Create*'] }, 'kms:CreateGrant')).toBe(true);
    expect(allows({ Effect: 'Allow', NotAction: 'kms:Decrypt' }, 'kms:CreateGrant')).toBe(true);
    expect(allows({ Effect: 'Allow', Action: ['kms:CreateAlias', 'kms:Encrypt'] }, 'kms:CreateGrant')).toBe(false);
    expect(allows({ Effect: 'Deny', Action: 'kms:*' }, 'kms:CreateGrant')).toBe(false);
  });
});
