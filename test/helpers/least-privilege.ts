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
