import { Stack, Validations } from 'aws-cdk-lib';
// cdk-nag's own flattening (not re-exported from its index): finding ids are built with it, so ours match exactly.
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import type { IConstruct } from 'constructs';

/** A wildcard resource of a policy on the acknowledging construct, and why it is as narrow as it can be. */
export interface WildcardResource {
  /** The resource exactly as written in the policy statement (tokens allowed). */
  readonly resource: string;
  readonly reason: string;
}

/**
 * Acknowledges `AwsSolutions-IAM5[Resource::<resource>]` on `scope` for each resource, by its exact finding id.
 *
 * The id is the resource as it appears in the template, which depends on the feature flags (a literal partition or
 * `<AWS::Partition>`) and, for values of other stacks, on import names that only exist once the app has resolved its
 * references. So the ids are computed in the validation phase, which runs after that and before the policy
 * validation plugins (cdk-nag) read the acknowledgements.
 */
export function acknowledgeWildcardResources(scope: IConstruct, wildcards: readonly WildcardResource[]): void {
  scope.node.addValidation({
    validate: () => {
      const stack = Stack.of(scope);
      Validations.of(scope).acknowledge(
        ...wildcards.map(({ resource, reason }) => ({
          id: `AwsSolutions-IAM5[Resource::${flattenCfnReference(stack.resolve(resource))}]`,
          reason,
        })),
      );
      return [];
    },
  });
}

/** Acknowledges `<arn>:*` (every version and alias of one function, as the Step Functions Lambda tasks grant). */
export function acknowledgeQualifierWildcards(scope: IConstruct, arns: readonly string[], reason: string): void {
  acknowledgeWildcardResources(
    scope,
    arns.map((arn) => ({ resource: `${arn}:*`, reason })),
  );
}
