#!/usr/bin/env bash
# Bootstraps the account of one environment (dev, test, prod, ...) so the deployment account's pipelines may
# deploy into it: `cdk bootstrap` trusting the deployment account, with a scoped CloudFormation execution policy
# instead of the default full-administrator one. Account and region come from the validated config; see --help.
set -euo pipefail

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<USAGE
Usage: scripts/bootstrap-target-account.sh <env> [--profile <name>] [--policy-arn <arn>] [--github-repo <owner/name>]
       [--yes] [--dry-run]

Bootstraps the account and region of config/environments/<env>.json so that the pipelines in the deployment account
(config/platform.json deployment.account) may deploy there. Run it once per environment with credentials for that
environment's account, after bootstrap-deployment-account.sh; it is idempotent.

It shows the caller identity and every command, asks y/n, refuses credentials of another account, then:
  1. creates or updates the customer-managed policy <prefix>-cdk-cfn-execution from
     scripts/policies/cloudformation-execution-policy.json (never a full-administrator policy), unless --policy-arn is given
  2. runs npx cdk bootstrap aws://<account>/<region> --trust <deployment account>
     --trust-for-lookup <deployment account> --cloudformation-execution-policies <that policy>
     (with delivery.engine "github-actions": no --trust, nothing in the deployment account deploys here)
  3. with --github-repo, or delivery.engine "github-actions" (then the configured repository): creates the GitHub
     Actions OIDC identity provider when absent and the role <prefix>-<env>-github-deploy (plus <prefix>-<env>-github-diff
     for production) trusting only that repository's deploying branch, or its GitHub Environment when the environment
     needs an approval (scripts/policies/github-roles.ts). A repository rename: run again with the new --github-repo.

$COMMON_OPTIONS_HELP
  --github-repo <owner/name>  GitHub repository whose workflows deploy this environment (see step 3)

$EXIT_CODES_HELP
USAGE
}

main() {
  parse_common_options usage "$@"
  if ((${#POSITIONAL[@]} != 1)); then
    die "$EXIT_USAGE" "expected exactly one environment name (received ${#POSITIONAL[@]} arguments). Fix: e.g. scripts/bootstrap-target-account.sh dev (one of the files in config/environments/)"
  fi
  create_policy_file
  create_github_dir
  local github_options=(--github-dir "$GITHUB_DIR")
  if [[ -n $GITHUB_REPO ]]; then github_options+=(--github-repo "$GITHUB_REPO"); fi
  load_config "$POLICY_FILE" environment "${POSITIONAL[0]}" "${github_options[@]}"
  EXECUTION_POLICY_ARN=${POLICY_ARN_OVERRIDE:-$CFG_POLICY_ARN}

  read_caller_identity "$CFG_ACCOUNT"
  echo "Bootstrap of the '$CFG_ENVIRONMENT' account of the '$CFG_PREFIX' data platform"
  echo "  caller:             $CALLER_ARN (account $CALLER_ACCOUNT)"
  echo "  target account:     $CFG_ACCOUNT (config/environments/$CFG_ENVIRONMENT.json)"
  echo "  environment:        aws://$CFG_ACCOUNT/$CFG_REGION"
  if [[ $CFG_DELIVERY_ENGINE == github-actions ]]; then
    echo "  trusted deployer:   none: GitHub Actions deploys from this account (config/platform.json delivery.engine)"
  else
    echo "  trusted deployer:   $CFG_DEPLOYMENT_ACCOUNT (config/platform.json deployment.account)"
  fi
  echo "  execution policy:   $EXECUTION_POLICY_ARN"
  if ((${#GITHUB_ROLES[@]} > 0)); then echo "  GitHub repository:  $CFG_GITHUB_REPOSITORY (OIDC, no access keys)"; fi
  require_account "$CFG_ACCOUNT" "the account of environment '$CFG_ENVIRONMENT' in config/environments/$CFG_ENVIRONMENT.json"

  if [[ $CFG_DELIVERY_ENGINE == github-actions ]]; then
    bootstrap_command "aws://$CFG_ACCOUNT/$CFG_REGION"
  else
    bootstrap_command "aws://$CFG_ACCOUNT/$CFG_REGION" \
      --trust "$CFG_DEPLOYMENT_ACCOUNT" --trust-for-lookup "$CFG_DEPLOYMENT_ACCOUNT"
  fi
  print_plan "$POLICY_FILE" "${BOOTSTRAP_COMMAND[@]}"
  if ((${#GITHUB_ROLES[@]} > 0)); then print_github_plan; fi
  confirm
  run_bootstrap "$POLICY_FILE" "${BOOTSTRAP_COMMAND[@]}"
  if ! $DRY_RUN && ((${#GITHUB_ROLES[@]} > 0)); then setup_github_oidc; fi
}

main "$@"
