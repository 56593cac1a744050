#!/usr/bin/env bash
# Bootstraps the account of one environment (dev, test, prod, ...) so the deployment account's pipelines may
# deploy into it: `cdk bootstrap` trusting the deployment account, with a scoped CloudFormation execution policy
# instead of the default full-administrator one. Account and region come from the validated config; see --help.
set -euo pipefail

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<USAGE
Usage: scripts/bootstrap-target-account.sh <env> [--profile <name>] [--policy-arn <arn>] [--yes] [--dry-run]

Bootstraps the account and region of config/environments/<env>.json so that the pipelines in the deployment account
(config/platform.json deployment.account) may deploy there. Run it once per environment with credentials for that
environment's account, after bootstrap-deployment-account.sh; it is idempotent.

It shows the caller identity and every command, asks y/n, refuses credentials of another account, then:
  1. creates or updates the customer-managed policy <prefix>-cdk-cfn-execution from
     scripts/policies/cloudformation-execution-policy.json (never a full-administrator policy), unless --policy-arn is given
  2. runs npx cdk bootstrap aws://<account>/<region> --trust <deployment account>
     --trust-for-lookup <deployment account> --cloudformation-execution-policies <that policy>

$COMMON_OPTIONS_HELP

$EXIT_CODES_HELP
USAGE
}

main() {
  parse_common_options usage "$@"
  if ((${#POSITIONAL[@]} != 1)); then
    die "$EXIT_USAGE" "expected exactly one environment name (received ${#POSITIONAL[@]} arguments). Fix: e.g. scripts/bootstrap-target-account.sh dev (one of the files in config/environments/)"
  fi
  create_policy_file
  load_config "$POLICY_FILE" environment "${POSITIONAL[0]}"
  EXECUTION_POLICY_ARN=${POLICY_ARN_OVERRIDE:-$CFG_POLICY_ARN}

  read_caller_identity "$CFG_ACCOUNT"
  echo "Bootstrap of the '$CFG_ENVIRONMENT' account of the '$CFG_PREFIX' data platform"
  echo "  caller:             $CALLER_ARN (account $CALLER_ACCOUNT)"
  echo "  target account:     $CFG_ACCOUNT (config/environments/$CFG_ENVIRONMENT.json)"
  echo "  environment:        aws://$CFG_ACCOUNT/$CFG_REGION"
  echo "  trusted deployer:   $CFG_DEPLOYMENT_ACCOUNT (config/platform.json deployment.account)"
  echo "  execution policy:   $EXECUTION_POLICY_ARN"
  require_account "$CFG_ACCOUNT" "the account of environment '$CFG_ENVIRONMENT' in config/environments/$CFG_ENVIRONMENT.json"

  bootstrap_command "aws://$CFG_ACCOUNT/$CFG_REGION" \
    --trust "$CFG_DEPLOYMENT_ACCOUNT" --trust-for-lookup "$CFG_DEPLOYMENT_ACCOUNT"
  print_plan "$POLICY_FILE" "${BOOTSTRAP_COMMAND[@]}"
  confirm
  run_bootstrap "$POLICY_FILE" "${BOOTSTRAP_COMMAND[@]}"
}

main "$@"
