import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import type { Construct } from 'constructs';

export interface ApiWebAclProps {
  /** Name of the web ACL and of its metric, e.g. `dp-prod-api`. */
  readonly name: string;
  /** Requests one IP may make in 5 minutes before it is blocked. */
  readonly rateLimitPer5Minutes: number;
}

/**
 * A WAF web ACL on `stage`: a per-IP rate limit plus the AWS managed common and known-bad-input rules. Its resources
 * are created directly in `scope` as `WebAcl` and `WebAclAssociation` (no construct of their own: the Api stack passes
 * itself, and their logical IDs stay those of the stack's first web ACL).
 */
export function addApiWebAcl(scope: Construct, stage: apigw.Stage, props: ApiWebAclProps): wafv2.CfnWebACL {
  const visibility = (metricName: string) => ({
    cloudWatchMetricsEnabled: true,
    sampledRequestsEnabled: true,
    metricName,
  });
  const managed = (name: string, priority: number, overrides: string[] = []) => ({
    name,
    priority,
    overrideAction: { none: {} },
    statement: {
      managedRuleGroupStatement: {
        vendorName: 'AWS',
        name,
        ruleActionOverrides: overrides.map((rule) => ({ name: rule, actionToUse: { count: {} } })),
      },
    },
    visibilityConfig: visibility(name),
  });
  const webAcl = new wafv2.CfnWebACL(scope, 'WebAcl', {
    name: props.name,
    scope: 'REGIONAL',
    defaultAction: { allow: {} },
    visibilityConfig: visibility(props.name),
    rules: [
      {
        name: 'RateLimitPerIp',
        priority: 0,
        action: { block: {} },
        statement: { rateBasedStatement: { limit: props.rateLimitPer5Minutes, aggregateKeyType: 'IP' } },
        visibilityConfig: visibility('RateLimitPerIp'),
      },
      // Documents up to API Gateway's 10 MB are the point of the ingestion route: the 8 KB body rule only counts.
      managed('AWSManagedRulesCommonRuleSet', 1, ['SizeRestrictions_BODY']),
      managed('AWSManagedRulesKnownBadInputsRuleSet', 2),
    ],
  });
  const association = new wafv2.CfnWebACLAssociation(scope, 'WebAclAssociation', {
    resourceArn: stage.stageArn,
    webAclArn: webAcl.attrArn,
  });
  // The stage ARN is built from names, not a reference: without this the association could be created first.
  association.node.addDependency(stage);
  return webAcl;
}
