import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Repository root, so entries can be given as `lambda/<name>/handler.ts`. */
const REPO_ROOT = path.resolve(__dirname, '..', '..');

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
}

/**
 * The one way this app builds a Lambda function: Node.js 22 on arm64, X-Ray tracing, an encrypted log group with
 * retention, esbuild bundling (minified, source maps).
 */
export class PlatformFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PlatformFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetentionDays as logs.RetentionDays,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.function = new nodejs.NodejsFunction(this, 'Resource', {
      entry: path.join(REPO_ROOT, 'lambda', props.handlerDir, 'handler.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      tracing: lambda.Tracing.ACTIVE,
      timeout: props.timeout ?? Duration.seconds(30),
      memorySize: props.memorySize ?? 256,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environmentEncryption: props.encryptionKey,
      description: props.description,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: props.securityGroups,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? 'DataPlatform',
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      projectRoot: REPO_ROOT,
      bundling: {
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        target: 'node22',
        format: nodejs.OutputFormat.CJS,
        // Functions call AWS through lambda/shared/aws, not the SDK (its clients cost 55-90 ms of cold start). Should
        // an SDK import slip in, it stays external (the runtime has one) instead of bloating the bundle;
        // test/app.test.ts fails on it.
        externalModules: ['@aws-sdk/*', 'pg-native'],
        // pg's optional native binding is never used.
        esbuildArgs: { '--log-level': 'error' },
      },
    });
  }
}
