import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct, IDependable } from 'constructs';

export interface GrantPolicyProps {
  /** Roles (typically of an earlier stack) the policy is attached to. */
  readonly roles: readonly iam.IRole[];
}

/**
 * An `iam.Policy` of the granting stack that resources can grant to (`bucket.grantRead(policy, ...)`): for roles of an
 * earlier stack, whose own default policy must not name resources of a later one (the earlier stack would then
 * depend on the later: a cycle).
 */
export class GrantPolicy extends iam.Policy implements iam.IGrantable {
  readonly grantPrincipal: iam.IPrincipal;

  constructor(scope: Construct, id: string, props: GrantPolicyProps) {
    super(scope, id, { roles: [...props.roles] });
    this.grantPrincipal = new PolicyPrincipal((statement) => this.addStatements(statement), this, props.roles[0]);
  }
}

/**
 * Grants into one inline policy document of a role (`new iam.Role(..., { inlinePolicies: { X: grantee.document } })`):
 * no AWS::IAM::Policy resource of its own, for roles made by the hundred (one per table) in a stack that counts its
 * resources, and whose users (e.g. Glue table optimizers) must never run before their permissions exist.
 */
export class InlinePolicyGrantee implements iam.IGrantable {
  readonly grantPrincipal: iam.IPrincipal;

  constructor(
    /** The role the document is an inline policy of. */
    readonly role: iam.Role,
    readonly document: iam.PolicyDocument,
  ) {
    this.grantPrincipal = new PolicyPrincipal((statement) => document.addStatements(statement), role, role);
  }
}

/** Adds every statement granted to it to one policy; in resource policies it stands for the (first) role. */
class PolicyPrincipal extends iam.PrincipalBase {
  readonly assumeRoleAction: string;

  constructor(
    private readonly add: (statement: iam.PolicyStatement) => void,
    private readonly dependable: IDependable,
    private readonly role: iam.IRole,
  ) {
    super();
    this.assumeRoleAction = role.assumeRoleAction;
  }

  get policyFragment(): iam.PrincipalPolicyFragment {
    return this.role.policyFragment;
  }

  dedupeString(): string | undefined {
    return undefined;
  }

  override addToPrincipalPolicy(statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult {
    this.add(statement);
    return { statementAdded: true, policyDependable: this.dependable };
  }
}

/**
 * The construct whose cdk-nag findings cover the statements granted to `grantee`: the policy of a {@link GrantPolicy},
 * the role of an {@link InlinePolicyGrantee}, else the principal's role (which holds its default policy), else the grantee itself.
 */
export function grantAcknowledgementScope(grantee: iam.IGrantable): Construct {
  if (grantee instanceof GrantPolicy) return grantee;
  if (grantee instanceof InlinePolicyGrantee) return grantee.role;
  const principal = grantee.grantPrincipal as unknown as Partial<Construct>;
  if (principal.node !== undefined) return principal as Construct;
  return grantee as unknown as Construct;
}
