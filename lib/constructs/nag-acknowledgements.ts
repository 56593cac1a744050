import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * How cdk-nag names a resolved ARN in a finding id: `<LogicalId.Arn>` for a same-stack Fn::GetAtt, the export name
 * for a cross-stack Fn::ImportValue, the text itself for a literal.
 */
export function nagResourceName(resolved: unknown): string {
  if (typeof resolved === 'string') return resolved;
  const value = resolved as Record<string, unknown>;
  if (Array.isArray(value['Fn::GetAtt'])) return `<${(value['Fn::GetAtt'] as string[]).join('.')}>`;
  if (typeof value['Fn::ImportValue'] === 'string') return value['Fn::ImportValue'];
  throw new Error(`Cannot name ${JSON.stringify(resolved)} the way cdk-nag does. Fix: extend nagResourceName`);
}

/**
 * Acknowledges `AwsSolutions-IAM5[Resource::<arn>:*]` on `scope` for each ARN, by its exact finding id.
 *
 * A cross-stack ARN becomes an `Fn::ImportValue` of an export whose name (with a hash) only exists once the app has
 * resolved its references, so the ids are computed in the validation phase, which runs after that and before the
 * policy validation plugins (cdk-nag) read the acknowledgements.
 */
export function acknowledgeQualifierWildcards(scope: IConstruct, arns: readonly string[], reason: string): void {
  scope.node.addValidation({
    validate: () => {
      const stack = Stack.of(scope);
      Validations.of(scope).acknowledge(
        ...arns.map((arn) => ({ id: `AwsSolutions-IAM5[Resource::${nagResourceName(stack.resolve(arn))}:*]`, reason })),
      );
      return [];
    },
  });
}
