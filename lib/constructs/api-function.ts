import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { PlatformFunction } from './platform-function';

/** What every function behind an API route shares (the Api stack hands the same values to each route construct). */
export interface ApiFunctionSettings {
  /** The platform key: encrypts the function's log group and environment. */
  readonly key: kms.IKey;
  /** Retention of the function's log group; from the environment config. */
  readonly logRetentionDays: number;
  /** Removal policy of the function's log group. */
  readonly removalPolicy: RemovalPolicy;
}

export interface ApiFunctionProps extends ApiFunctionSettings {
  /** Directory under `lambda/` holding `handler.ts`; the service name is `api-<handlerDir>`. */
  readonly handlerDir: string;
  readonly environment: Record<string, string>;
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** @default - PlatformFunction's default (256 MB) */
  readonly memorySize?: number;
}

/** A function behind an API route: a PlatformFunction named `api-<handlerDir>` with a caller-facing 10 s timeout. */
export function apiFunction(scope: Construct, id: string, props: ApiFunctionProps): PlatformFunction {
  return new PlatformFunction(scope, id, {
    handlerDir: props.handlerDir,
    serviceName: `api-${props.handlerDir}`,
    environment: props.environment,
    timeout: props.timeout ?? Duration.seconds(10),
    memorySize: props.memorySize,
    logRetentionDays: props.logRetentionDays,
    encryptionKey: props.key,
    logRemovalPolicy: props.removalPolicy,
  });
}
