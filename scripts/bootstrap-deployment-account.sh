#!/usr/bin/env bash
# Bootstraps the deployment (tooling) account that hosts the pipelines: `cdk bootstrap` with a scoped
# CloudFormation execution policy instead of the default full-administrator one. Account and region come from the
# validated config/platform.json; see --help.
set -euo pipefail

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<USAGE
Usage: scripts/bootstrap-deployment-account.sh [--profile <name>] [--policy-arn <arn>] [--yes] [--dry-run]

Bootstraps the deployment account of config/platform.json (deployment.account, in deployment.region and in every
environment's region) for the CDK pipelines. Run it once with credentials for that account, before the first
npx cdk deploy of the pipeline stacks; run it again after changing the policy or the regions (it is idempotent).

It shows the caller identity and every command, asks y/n, refuses credentials of another account, then:
  1. creates or updates the customer-managed policy <prefix>-cdk-cfn-execution from
     scripts/policies/cloudformation-execution-policy.json (never a full-administrator policy), unless --policy-arn is given
  2. runs npx cdk bootstrap aws://<account>/<region> --cloudformation-execution-policies <that policy>

$COMMON_OPTIONS_HELP

$EXIT_CODES_HELP
USAGE
}

main() {
  parse_common_options usage "$@"
  if [[ -n $GITHUB_REPO ]]; then
    die "$EXIT_USAGE" "--github-repo is for the environment accounts, where the workflows deploy. Fix: scripts/bootstrap-target-account.sh <env> --github-repo $GITHUB_REPO"
  fi
  if ((${#POSITIONAL[@]} > 0)); then
    die "$EXIT_USAGE" "unexpected argument '${POSITIONAL[0]}': the deployment account comes from config/platform.json. See --help"
  fi
  create_policy_file
  load_config "$POLICY_FILE" deployment
  EXECUTION_POLICY_ARN=${POLICY_ARN_OVERRIDE:-$CFG_POLICY_ARN}

  read_caller_identity "$CFG_ACCOUNT"
  local environments=() region
  for region in "${BOOTSTRAP_REGIONS[@]}"; do environments+=("aws://$CFG_ACCOUNT/$region"); done

  echo "Bootstrap of the deployment account of the '$CFG_PREFIX' data platform"
  echo "  caller:             $CALLER_ARN (account $CALLER_ACCOUNT)"
  echo "  deployment account: $CFG_ACCOUNT (config/platform.json)"
  echo "  environments:       ${environments[*]}"
  echo "  execution policy:   $EXECUTION_POLICY_ARN"
  require_account "$CFG_ACCOUNT" 'the deployment account in config/platform.json'

  bootstrap_command "${environments[@]}"
  print_plan "$POLICY_FILE" "${BOOTSTRAP_COMMAND[@]}"
  confirm
  run_bootstrap "$POLICY_FILE" "${BOOTSTRAP_COMMAND[@]}"
}

main "$@"
