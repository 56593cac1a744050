import { Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledgeWildcardResources } from './nag-acknowledgements';

/** IAM's size limit of a customer managed policy document, whitespace excluded. */
export const MANAGED_POLICY_MAX_CHARS = 6144;
/** Room kept for the document's fixed parts (Version, Statement, Effect, Action, Sid, braces). */
const DOCUMENT_OVERHEAD_CHARS = 400;
/** Length assumed for a resource that is still a token at synth (an ARN of another stack). */
const UNRESOLVED_RESOURCE_CHARS = 256;

export interface ResourceScopedPoliciesProps {
  /** Roles the policies are attached to. */
  readonly roles: readonly iam.IRole[];
  readonly actions: readonly string[];
  /** One ARN (or ARN pattern) per dataset, typically: the list that grows with the configuration. */
  readonly resources: readonly string[];
  /** Why a resource that holds a wildcard is as narrow as it can be (cdk-nag AwsSolutions-IAM5). */
  readonly wildcardReason: (resource: string) => string;
}

/**
 * Allows `actions` on `resources` through customer managed policies of at most 6,144 characters each, as many as the
 * list needs. A grant that lists one ARN per dataset outgrows a role's inline policies (10,240 characters in all)
 * at around 100 datasets; managed policies keep the per-dataset scope: 10 of them per role (the default quota)
 * hold about 500 landing prefixes.
 */
export class ResourceScopedPolicies extends Construct {
  readonly policies: readonly iam.ManagedPolicy[];

  constructor(scope: Construct, id: string, props: ResourceScopedPoliciesProps) {
    super(scope, id);
    const budget =
      MANAGED_POLICY_MAX_CHARS - DOCUMENT_OVERHEAD_CHARS - props.actions.reduce((sum, a) => sum + a.length + 3, 0);
    const chunks: string[][] = [];
    let size = Number.POSITIVE_INFINITY;
    for (const resource of props.resources) {
      const cost = (Token.isUnresolved(resource) ? UNRESOLVED_RESOURCE_CHARS : resource.length) + 3;
      if (size + cost > budget) {
        chunks.push([]);
        size = 0;
      }
      chunks[chunks.length - 1].push(resource);
      size += cost;
    }
    this.policies = chunks.map((resources, index) => {
      const policy = new iam.ManagedPolicy(this, `Part${index + 1}`, {
        description: `${this.node.path} (${index + 1} of ${chunks.length})`.slice(0, 1000),
        roles: [...props.roles],
        statements: [new iam.PolicyStatement({ actions: [...props.actions], resources })],
      });
      acknowledgeWildcardResources(
        policy,
        resources
          .filter((resource) => resource.includes('*'))
          .map((resource) => ({ resource, reason: props.wildcardReason(resource) })),
      );
      return policy;
    });
  }
}
