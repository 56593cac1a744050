import type { Template } from 'aws-cdk-lib/assertions';

/**
 * Asserts the least-privilege rules every stack keeps: no `*` action, no wildcard action on a `*` resource, and no
 * managed policy other than Lambda basic execution (what aws-cdk-lib's own providers attach).
 */
export function expectLeastPrivilege(template: Template): void {
  const documents = [
    ...Object.values(template.findResources('AWS::IAM::Policy')).map((policy) => policy.Properties.PolicyDocument),
    ...Object.values(template.findResources('AWS::IAM::Role')).flatMap((role) =>
      (role.Properties.Policies ?? []).map((policy: { PolicyDocument: unknown }) => policy.PolicyDocument),
    ),
  ];
  expect(documents.length).toBeGreaterThan(0);
  for (const document of documents) {
    for (const statement of document.Statement) {
      const actions: string[] = [statement.Action].flat();
      const resources: unknown[] = [statement.Resource].flat();
      expect(actions).not.toContain('*');
      if (resources.includes('*')) expect(actions.filter((action) => action.includes('*'))).toEqual([]);
    }
  }
  for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
    for (const arn of role.Properties.ManagedPolicyArns ?? []) {
      expect(JSON.stringify(arn)).toMatch(/:iam::aws:policy\/service-role\/AWSLambdaBasicExecutionRole"/);
    }
  }
}

/** One allowed or denied action on one resource, as a role's policies grant it (statement shapes and Sids aside). */
export interface Permission {
  readonly effect: string;
  readonly action: string;
  readonly resource: unknown;
  readonly condition?: unknown;
}

/**
 * Every permission the policies of `template` give the role whose logical id starts with `rolePrefix` (its inline
 * policies and each AWS::IAM::Policy or ManagedPolicy naming it), one per action and resource, sorted; `service`
 * keeps those of one service (`s3`, `kms` ...). Grants may spread a role's statements over several policies and merge
 * them: this is what the role may do, whatever the shape.
 */
export function permissionsOfRole(template: Template, rolePrefix: string | RegExp, service?: string): Permission[] {
  const matches = (ref: unknown) => {
    const id = (ref as { Ref?: string })?.Ref ?? '';
    return typeof rolePrefix === 'string' ? id.startsWith(rolePrefix) : rolePrefix.test(id);
  };
  const documents: { Statement: Record<string, unknown>[] }[] = [];
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const policy of Object.values(template.findResources(type))) {
      if ((policy.Properties.Roles ?? []).some(matches)) documents.push(policy.Properties.PolicyDocument);
    }
  }
  for (const [id, role] of Object.entries(template.findResources('AWS::IAM::Role'))) {
    if (matches({ Ref: id }))
      documents.push(...(role.Properties.Policies ?? []).map((p: { PolicyDocument: never }) => p.PolicyDocument));
  }
  const permissions: Permission[] = [];
  for (const document of documents) {
    for (const statement of document.Statement) {
      for (const action of [statement.Action].flat() as string[]) {
        if (service !== undefined && !action.startsWith(`${service}:`)) continue;
        for (const resource of [statement.Resource].flat()) {
          permissions.push({
            effect: statement.Effect as string,
            action,
            resource,
            ...(statement.Condition === undefined ? {} : { condition: statement.Condition }),
          });
        }
      }
    }
  }
  return sortPermissions(permissions);
}

/** Permissions without duplicates, in the order {@link permissionsOfRole} returns them. */
export function sortPermissions(permissions: readonly Permission[]): Permission[] {
  const key = (p: Permission) => JSON.stringify([p.effect, p.action, p.resource, p.condition]);
  return [...new Map(permissions.map((p) => [key(p), p])).values()].sort((a, b) => (key(a) < key(b) ? -1 : 1));
}
