import * as path from 'node:path';
import { AssetHashType, DockerImage, Duration, type ILocalBundling, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { type BuildOptions, buildSync } from 'esbuild';
import { METRICS_NAMESPACE } from '../../lambda/shared/metrics-contract';

/** Repository root, so entries can be given as `lambda/<name>/handler.ts`. */
const REPO_ROOT = path.resolve(__dirname, '..', '..');

/**
 * How every function is bundled (bench/lambdas.ts measures exactly this): one minified CommonJS file for Node.js 22
 * with a source map. `defines` are globals replaced at bundle time by their value as a JSON literal (esbuild
 * `define`): data the function carries from the synth (e.g. validate's dataset definitions) without a config file
 * to read, a schema to parse at cold start, or a generated module to keep in step.
 */
export function functionBundleOptions(
  handlerDir: string,
  outfile: string,
  defines: Readonly<Record<string, unknown>> = {},
): BuildOptions {
  return {
    entryPoints: [path.join(REPO_ROOT, 'lambda', handlerDir, 'handler.ts')],
    outfile,
    bundle: true,
    minify: true,
    // Error classes are named by their class (lambda/shared/errors.ts): Lambda reports that name as the errorType the
    // state machines' Retry/Catch rules match, so minification must not rename them.
    keepNames: true,
    sourcemap: true,
    sourcesContent: false,
    target: 'node22',
    platform: 'node',
    format: 'cjs',
    // Everything is bundled, the AWS SDK too (never the runtime's copy: its version is ours, tree-shaken and minified).
    // The API functions import no SDK client (lambda/shared/aws: a caller waits on their cold start); the asynchronous
    // ones use @aws-sdk/client-s3 and lib-storage.
    // The ES module builds first: the SDK's tree-shake a quarter smaller than its CommonJS ones (measured with
    // `npm run bench:lambdas`); the output stays CommonJS.
    mainFields: ['module', 'main'],
    // SQL migrations are the migrate function's text assets (lambda/migrate/sql, imported by migration-files.ts).
    loader: { '.sql': 'text' },
    define: Object.fromEntries(Object.entries(defines).map(([name, value]) => [name, JSON.stringify(value)])),
    logLevel: 'error',
  };
}

/**
 * Bundles in the synth process with esbuild's API. NodejsFunction runs `npx --no-install esbuild` per function
 * instead, and npm's start-up (~0.5 s each) was a third of `cdk synth`.
 */
class EsbuildLocalBundling implements ILocalBundling {
  // Plain fields: aws-cdk-lib keys its per-app bundling cache on them, so different defines never share a bundle.
  constructor(
    readonly handlerDir: string,
    readonly defines: Readonly<Record<string, unknown>>,
  ) {}

  tryBundle(outputDir: string): boolean {
    buildSync(functionBundleOptions(this.handlerDir, path.join(outputDir, 'index.js'), this.defines));
    return true;
  }
}

export interface PlatformFunctionProps {
  /** Directory under `lambda/` holding `handler.ts`, e.g. `validate`. */
  readonly handlerDir: string;
  /** Service name for Powertools logs, metrics and traces. */
  readonly serviceName: string;
  /** Metrics namespace. @default 'DataPlatform' */
  readonly metricsNamespace?: string;
  /** Environment variables (never secrets: pass a secret ARN and read it at run time). @default {} */
  readonly environment?: Record<string, string>;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** Log retention in days; from the environment config. */
  readonly logRetentionDays: number;
  /** Key that encrypts the log group and environment variables. */
  readonly encryptionKey: kms.IKey;
  /** Removal policy of the log group. @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** @default - not in a VPC (the platform reaches AWS services through public endpoints, no NAT needed) */
  readonly vpc?: ec2.IVpc;
  /** @default - none */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** @default - none */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /** @default - unreserved */
  readonly reservedConcurrentExecutions?: number;
  /** Function description. @default - none */
  readonly description?: string;
  /**
   * Globals the handler reads, replaced at bundle time by their value as a JSON literal (esbuild `define`); never
   * secrets (they are readable in the deployed code). @default {}
   */
  readonly bundleDefines?: Readonly<Record<string, unknown>>;
  /**
   * Why the role's `Resource::*` statements cannot be narrower, when the function is granted more than X-Ray (e.g.
   * secretsmanager:GetRandomPassword). @default - X-Ray tracing only
   */
  readonly starResourceReason?: string;
}

/**
 * Stands in for the log group while `lambda.Function` is constructed, which only checks its shape and reads its name
 * into the logging config; the constructor then sets that config to the real group (see `logGroup`).
 */
const PENDING_LOG_GROUP = {
  logGroupName: 'pending',
  logGroupRef: { logGroupName: 'pending' },
  addStream: () => undefined,
  grant: () => undefined,
} as unknown as logs.ILogGroup;

/** Why `Resource::*` is granted to every function: X-Ray's actions have no resource type. */
const TRACING_STAR_REASON =
  'X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords) supports no resource-level permissions';

/**
 * The one way this app builds a Lambda function: Node.js 22 on arm64, X-Ray tracing, an encrypted log group with
 * retention, esbuild bundling (minified, source maps). It is the function itself (grant to it, add event sources to
 * it) and acknowledges the cdk-nag findings every such function has, on itself and its role.
 */
export class PlatformFunction extends lambda.Function {
  /** The function's directory under lambda/ (its handler.ts and contract.ts). */
  readonly handlerDir: string;
  private readonly platformLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PlatformFunctionProps) {
    super(scope, id, {
      code: lambda.Code.fromAsset(path.join(REPO_ROOT, 'lambda', props.handlerDir), {
        // The bundle's own hash: functions sharing code in lambda/shared change when it changes.
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          local: new EsbuildLocalBundling(props.handlerDir, props.bundleDefines ?? {}),
          // Required by the API, never used: local bundling cannot fail for want of a tool (esbuild is a dependency).
          image: DockerImage.fromRegistry('public.ecr.aws/sam/build-nodejs22.x'),
        },
      }),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      tracing: lambda.Tracing.ACTIVE,
      timeout: props.timeout ?? Duration.seconds(30),
      memorySize: props.memorySize ?? 256,
      // The log group is this function's child `Logs` (created below: it needs `this` as its scope); a placeholder
      // here keeps aws-cdk-lib from creating its own (@aws-cdk/aws-lambda:useCdkManagedLogGroup).
      logGroup: PENDING_LOG_GROUP,
      loggingFormat: lambda.LoggingFormat.JSON,
      environmentEncryption: props.encryptionKey,
      description: props.description,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: props.securityGroups,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? METRICS_NAMESPACE,
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
    });
    this.handlerDir = props.handlerDir;
    this.platformLogGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetentionDays as logs.RetentionDays,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    const cfnFunction = this.node.defaultChild as lambda.CfnFunction;
    cfnFunction.loggingConfig = { logFormat: lambda.LoggingFormat.JSON, logGroup: this.platformLogGroup.logGroupName };
    this.acknowledgeFindings(props.starResourceReason ?? TRACING_STAR_REASON);
  }

  /** The function's own encrypted log group, with the environment's retention. */
  override get logGroup(): logs.ILogGroup {
    return this.platformLogGroup;
  }

  private acknowledgeFindings(starReason: string): void {
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is the runtime the platform fixes in PlatformFunction (supported LTS); upgrades go through it',
    });
    Validations.of(this.role as iam.IRole).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'The AWS-maintained policy lets the function write its own logs and nothing else',
      },
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: starReason },
    );
  }
}
