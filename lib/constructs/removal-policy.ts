import { RemovalPolicy } from 'aws-cdk-lib';
import type { EnvironmentConfig } from '../../config/schema';

/**
 * The removal policy of an environment's stateful resources: RETAIN unless its config says
 * `storage.removalPolicy: "destroy"` (which config refuses for production without a written waiver).
 */
export function removalPolicyOf(environment: Pick<EnvironmentConfig, 'storage'>): RemovalPolicy {
  return environment.storage.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
}
