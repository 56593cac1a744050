# shellcheck shell=bash
# Shared by scripts/bootstrap-deployment-account.sh and scripts/bootstrap-target-account.sh: option parsing, the
# validated configuration, the caller identity check, the idempotent execution-policy upsert and `cdk bootstrap`.
# Written for bash 3.2 too (macOS): no mapfile, no empty "${array[@]}" under `set -u`.
# shellcheck disable=SC2034 # the EXIT_*, *_HELP and CFG_* variables are read by the scripts that source this file

readonly EXIT_UNEXPECTED=1
readonly EXIT_USAGE=2
readonly EXIT_NO_AWS_CLI=3
readonly EXIT_NO_CREDENTIALS=4
readonly EXIT_WRONG_ACCOUNT=5
readonly EXIT_ABORTED=6
readonly EXIT_INVALID_CONFIG=7

readonly UNKNOWN_CALLER='<caller account unknown in dry run>'

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly REPO_ROOT

readonly EXIT_CODES_HELP="Exit codes:
  0  done (or dry run printed)
  1  unexpected failure (an aws or cdk command failed; its message is above)
  2  usage error: unknown option, missing or unknown environment name
  3  the AWS CLI (aws) is not installed
  4  no valid AWS credentials (missing or expired; run aws sso login or pass --profile)
  5  the credentials belong to another account than the configuration expects
  6  aborted at the confirmation prompt
  7  the configuration in config/ is invalid (the message names the file, key, value and fix)"

readonly COMMON_OPTIONS_HELP="Options:
  --profile <name>     AWS CLI profile, passed to every aws and cdk command
  --policy-arn <arn>   use this existing managed policy as the CloudFormation execution policy instead of
                       creating or updating the scoped one from scripts/policies/cloudformation-execution-policy.json
  --yes                do not ask for confirmation
  --dry-run            print the exact commands and change nothing (works without AWS credentials)
  --help               show this help"

DRY_RUN=false
ASSUME_YES=false
PROFILE=''
POLICY_ARN_OVERRIDE=''
GITHUB_REPO=''
POSITIONAL=()

die() {
  local code=$1
  shift
  printf 'error: %s\n' "$*" >&2
  exit "$code"
}

# Parses the options shared by both scripts; other words land in POSITIONAL. $1 is the usage function to call.
parse_common_options() {
  local usage=$1
  shift
  while (($# > 0)); do
    case $1 in
      --help | -h)
        "$usage"
        exit 0
        ;;
      --yes | -y) ASSUME_YES=true ;;
      --dry-run) DRY_RUN=true ;;
      --profile | --policy-arn | --github-repo)
        [[ $# -ge 2 && -n $2 && $2 != --* ]] || die "$EXIT_USAGE" "$1 needs a value, e.g. $1 $(example_for "$1"). See --help"
        case $1 in
          --profile) PROFILE=$2 ;;
          --policy-arn) POLICY_ARN_OVERRIDE=$2 ;;
          *) GITHUB_REPO=$2 ;;
        esac
        shift
        ;;
      --profile=* | --policy-arn=* | --github-repo=*)
        die "$EXIT_USAGE" "write ${1%%=*} and its value as two words (received '$1'). Fix: ${1%%=*} ${1#*=}"
        ;;
      -*) die "$EXIT_USAGE" "unknown option '$1'. Fix: see --help" ;;
      *) POSITIONAL+=("$1") ;;
    esac
    shift
  done
  if [[ -n $POLICY_ARN_OVERRIDE && ! $POLICY_ARN_OVERRIDE =~ ^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$ ]]; then
    die "$EXIT_USAGE" "--policy-arn '$POLICY_ARN_OVERRIDE' is not an IAM managed policy ARN. Fix: e.g. arn:aws:iam::123456789012:policy/my-cfn-exec"
  fi
  if [[ -n $GITHUB_REPO && ! $GITHUB_REPO =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]]; then
    die "$EXIT_USAGE" "--github-repo '$GITHUB_REPO' is not owner/name. Fix: e.g. --github-repo my-org/data-platform"
  fi
}

example_for() {
  case $1 in
    --profile) echo 'dev-admin' ;;
    --github-repo) echo 'my-org/data-platform' ;;
    *) echo 'arn:aws:iam::123456789012:policy/my-cfn-exec' ;;
  esac
}

# Runs the TypeScript config printer from the repository's own node_modules (no npx network lookups).
print_config() {
  local tsx="$REPO_ROOT/node_modules/.bin/tsx"
  [[ -x $tsx ]] || die "$EXIT_UNEXPECTED" "$tsx not found. Fix: run npm ci in $REPO_ROOT first"
  "$tsx" "$REPO_ROOT/scripts/print-config.ts" "$@"
}

# Loads KEY=value lines from print-config into CFG_<KEY> variables and TAGS (never eval: values are data).
# $1: policy file to render the account's execution policy into ('' for none); the rest: print-config arguments.
load_config() {
  local policy_file=$1 output line key value
  shift
  if [[ -n $policy_file ]]; then set -- "$@" --policy-file "$policy_file"; fi
  output=$(print_config "$@") || exit $?
  TAGS=()
  BOOTSTRAP_REGIONS=()
  GITHUB_ROLES=()
  while IFS= read -r line; do
    key=${line%%=*}
    value=${line#*=}
    case $key in
      TAG) TAGS+=("$value") ;;
      GITHUB_ROLE) GITHUB_ROLES+=("$value") ;;
      GITHUB_REPOSITORY) CFG_GITHUB_REPOSITORY=$value ;;
      OIDC_PROVIDER_ARN) CFG_OIDC_PROVIDER_ARN=$value ;;
      OIDC_PROVIDER_URL) CFG_OIDC_PROVIDER_URL=$value ;;
      OIDC_AUDIENCE) CFG_OIDC_AUDIENCE=$value ;;
      DELIVERY_ENGINE) CFG_DELIVERY_ENGINE=$value ;;
      BOOTSTRAP_REGION) BOOTSTRAP_REGIONS+=("$value") ;;
      ACCOUNT) CFG_ACCOUNT=$value ;;
      REGION) CFG_REGION=$value ;;
      PREFIX) CFG_PREFIX=$value ;;
      ENVIRONMENT) CFG_ENVIRONMENT=$value ;;
      DEPLOYMENT_ACCOUNT) CFG_DEPLOYMENT_ACCOUNT=$value ;;
      POLICY_NAME) CFG_POLICY_NAME=$value ;;
      POLICY_ARN) CFG_POLICY_ARN=$value ;;
      *) ;; # other keys are informational
    esac
  done <<<"$output"
}

# `aws` with --profile when one was given.
aws_cli() {
  if [[ -n $PROFILE ]]; then aws --profile "$PROFILE" "$@"; else aws "$@"; fi
}

# Prints a command the way a shell reads it back: plain words as they are, others in single quotes.
quoted() {
  local word out='' squote="'"
  for word in "$@"; do
    if [[ $word =~ ^[A-Za-z0-9_./:=@,+-]+$ ]]; then
      out+="$word "
    else
      out+="'${word//$squote/$squote\\$squote$squote}' "
    fi
  done
  printf '%s' "${out% }"
}

# Sets CALLER_ACCOUNT and CALLER_ARN from `aws sts get-caller-identity`. A dry run goes on without the CLI or
# credentials; a real run stops with exit code 3 or 4 and says how to fix it.
read_caller_identity() {
  local expected=$1 identity profile_hint=''
  [[ -n $PROFILE ]] && profile_hint=" --profile $PROFILE"
  CALLER_ACCOUNT=$UNKNOWN_CALLER
  CALLER_ARN='unknown'
  if ! command -v aws >/dev/null 2>&1; then
    $DRY_RUN && return 0
    die "$EXIT_NO_AWS_CLI" "the AWS CLI (aws) is not on PATH. Fix: install AWS CLI v2 (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html), then sign in to account $expected"
  fi
  if ! identity=$(aws_cli sts get-caller-identity --query '[Account,Arn]' --output text 2>&1); then
    $DRY_RUN && return 0
    die "$EXIT_NO_CREDENTIALS" "no valid AWS credentials (aws sts get-caller-identity$profile_hint failed: ${identity//$'\n'/ }). Fix: sign in to account $expected (e.g. aws sso login$profile_hint) or pass --profile <name>"
  fi
  read -r CALLER_ACCOUNT CALLER_ARN <<<"$identity"
  if [[ ! $CALLER_ACCOUNT =~ ^[0-9]{12}$ ]]; then
    die "$EXIT_NO_CREDENTIALS" "aws sts get-caller-identity$profile_hint answered '$identity', not an account ID. Fix: check the profile's configuration"
  fi
}

# Refuses to go on when the credentials belong to another account than `expected` (the configuration's).
require_account() {
  local expected=$1 what=$2
  [[ $CALLER_ACCOUNT == "$UNKNOWN_CALLER" || $CALLER_ACCOUNT == "$expected" ]] && return 0
  die "$EXIT_WRONG_ACCOUNT" "the credentials belong to account $CALLER_ACCOUNT ($CALLER_ARN), but $what is account $expected. Fix: use credentials for account $expected (e.g. --profile <profile of $expected>) or correct the account in config/"
}

# Asks y/n unless --yes or --dry-run. A closed stdin counts as "no".
confirm() {
  $ASSUME_YES && return 0
  $DRY_RUN && return 0
  local answer=''
  printf 'Proceed? [y/N] '
  read -r answer || true
  case $answer in
    y | Y | yes | YES) return 0 ;;
    *) die "$EXIT_ABORTED" "aborted: nothing was changed (answer was '${answer}'; pass --yes to skip this question)" ;;
  esac
}

# Sets POLICY_FILE to a private temporary file for the rendered execution policy ('' when --policy-arn replaces
# it). The file is removed on exit, except after a dry run, which keeps it for review.
POLICY_FILE=''
KEEP_POLICY_FILE=false
create_policy_file() {
  trap remove_temporary_files EXIT
  [[ -n $POLICY_ARN_OVERRIDE ]] && return 0
  POLICY_FILE=$(mktemp "${TMPDIR:-/tmp}/cdk-cfn-execution-policy.XXXXXX")
}

# Sets GITHUB_DIR to a private temporary directory for the GitHub OIDC role documents (kept after a dry run).
GITHUB_DIR=''
create_github_dir() {
  trap remove_temporary_files EXIT
  GITHUB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/github-oidc-roles.XXXXXX")
}

remove_temporary_files() {
  $KEEP_POLICY_FILE && return 0
  if [[ -n $POLICY_FILE ]]; then rm -f "$POLICY_FILE"; fi
  if [[ -n $GITHUB_DIR ]]; then rm -rf "$GITHUB_DIR"; fi
}

# Prints the commands the plan will run. $1: policy file ('' when --policy-arn is used); the rest: cdk bootstrap argv.
print_plan() {
  local policy_file=$1
  shift
  local policy_arn=$EXECUTION_POLICY_ARN
  echo 'Commands:'
  if [[ -n $policy_file ]]; then
    echo "  # execution policy $policy_arn, created or updated from $policy_file:"
    echo "  $(aws_profiled_words) $(quoted iam get-policy --policy-arn "$policy_arn")"
    echo "  # when it does not exist yet:"
    echo "  $(aws_profiled_words) $(quoted iam create-policy --policy-name "$CFG_POLICY_NAME" --policy-document "file://$policy_file" --description "$(policy_description)")"
    echo "  # when it exists with another document (the oldest non-default version is deleted first when 5 exist):"
    echo "  $(aws_profiled_words) $(quoted iam create-policy-version --policy-arn "$policy_arn" --policy-document "file://$policy_file" --set-as-default)"
  else
    echo "  # execution policy $policy_arn given with --policy-arn: used as is"
  fi
  echo "  $(quoted "$@")"
}

policy_description() {
  echo "CloudFormation execution policy of the ${CFG_PREFIX} data platform CDK deployments (scripts/policies/cloudformation-execution-policy.json)"
}

# Plan lines show `aws --profile x` exactly as run.
aws_profiled_words() {
  if [[ -n $PROFILE ]]; then printf 'aws --profile %s' "$(quoted "$PROFILE")"; else printf 'aws'; fi
}

# Creates the policy or adds a default version when the document changed; a no-op when it is already current.
upsert_policy() {
  local policy_arn=$1 policy_file=$2 errors current default_version count oldest
  errors=$(mktemp "${TMPDIR:-/tmp}/get-policy.XXXXXX")
  if ! aws_cli iam get-policy --policy-arn "$policy_arn" >/dev/null 2>"$errors"; then
    if ! grep -q 'NoSuchEntity' "$errors"; then
      cat "$errors" >&2
      rm -f "$errors"
      die "$EXIT_UNEXPECTED" "could not read policy $policy_arn (see the message above). Fix: the caller needs iam:GetPolicy, iam:CreatePolicy and iam:CreatePolicyVersion"
    fi
    rm -f "$errors"
    echo "Creating policy $policy_arn"
    aws_cli iam create-policy --policy-name "$CFG_POLICY_NAME" --policy-document "file://$policy_file" \
      --description "$(policy_description)" >/dev/null
    return 0
  fi
  rm -f "$errors"
  default_version=$(aws_cli iam get-policy --policy-arn "$policy_arn" --query 'Policy.DefaultVersionId' --output text)
  current=$(aws_cli iam get-policy-version --policy-arn "$policy_arn" --version-id "$default_version" \
    --query 'PolicyVersion.Document' --output json)
  if same_json "$current" "$policy_file"; then
    echo "Policy $policy_arn is up to date (version $default_version)"
    return 0
  fi
  count=$(aws_cli iam list-policy-versions --policy-arn "$policy_arn" --query 'length(Versions)' --output text)
  if ((count >= 5)); then
    # IAM keeps at most five versions: drop the oldest one that is not the default.
    # shellcheck disable=SC2016 # the backticks are a JMESPath literal, not a command substitution
    oldest=$(aws_cli iam list-policy-versions --policy-arn "$policy_arn" \
      --query 'Versions[?IsDefaultVersion==`false`].[CreateDate,VersionId]' --output text | sort | head -n 1 | cut -f 2)
    echo "Deleting the oldest policy version $oldest (IAM keeps five)"
    aws_cli iam delete-policy-version --policy-arn "$policy_arn" --version-id "$oldest"
  fi
  echo "Updating policy $policy_arn (new default version)"
  aws_cli iam create-policy-version --policy-arn "$policy_arn" --policy-document "file://$policy_file" \
    --set-as-default >/dev/null
}

# True when the JSON text $1 and the JSON file $2 hold the same document (key order ignored).
same_json() {
  node -e '
    const canonical = (v) => Array.isArray(v) ? v.map(canonical)
      : v && typeof v === "object" ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])])) : v;
    const stored = JSON.parse(process.argv[1]);
    const wanted = JSON.parse(require("fs").readFileSync(process.argv[2], "utf8"));
    process.exit(JSON.stringify(canonical(stored)) === JSON.stringify(canonical(wanted)) ? 0 : 1);
  ' "$1" "$2"
}

# Bootstraps after the plan is confirmed: upsert the policy (unless --policy-arn), then run cdk bootstrap ($@).
run_bootstrap() {
  local policy_file=$1
  shift
  if $DRY_RUN; then
    KEEP_POLICY_FILE=true
    echo
    echo "Dry run: nothing was changed.${policy_file:+ The rendered policy is kept at $policy_file for review.}"
    return 0
  fi
  if [[ -n $policy_file ]]; then upsert_policy "$EXECUTION_POLICY_ARN" "$policy_file"; fi
  echo "+ $(quoted "$@")"
  (cd "$REPO_ROOT" && "$@")
}

# cdk bootstrap argv shared by both scripts; callers append their own flags. Sets BOOTSTRAP_COMMAND.
bootstrap_command() {
  BOOTSTRAP_COMMAND=(npx cdk bootstrap "$@" --cloudformation-execution-policies "$EXECUTION_POLICY_ARN" --termination-protection)
  local tag
  for tag in ${TAGS[@]+"${TAGS[@]}"}; do BOOTSTRAP_COMMAND+=(--tags "$tag"); done
  if [[ -n $PROFILE ]]; then BOOTSTRAP_COMMAND+=(--profile "$PROFILE"); fi
}

# Prints the GitHub Actions OIDC part of the plan: the identity provider and, per role, its exact trust.
print_github_plan() {
  local line name seconds subject
  echo "GitHub Actions OIDC for repository $CFG_GITHUB_REPOSITORY (role documents in $GITHUB_DIR):"
  echo "  # identity provider $CFG_OIDC_PROVIDER_ARN, created when absent:"
  echo "  $(aws_profiled_words) $(quoted iam get-open-id-connect-provider --open-id-connect-provider-arn "$CFG_OIDC_PROVIDER_ARN")"
  echo "  $(aws_profiled_words) $(quoted iam create-open-id-connect-provider --url "$CFG_OIDC_PROVIDER_URL" --client-id-list "$CFG_OIDC_AUDIENCE")"
  for line in "${GITHUB_ROLES[@]}"; do
    read -r name seconds subject <<<"$line"
    echo "  # role $name: only sts:AssumeRoleWithWebIdentity with aud $CFG_OIDC_AUDIENCE and sub $subject"
    echo "  $(aws_profiled_words) $(quoted iam get-role --role-name "$name")"
    echo "  # when it does not exist yet:"
    echo "  $(aws_profiled_words) $(quoted iam create-role --role-name "$name" --assume-role-policy-document "file://$GITHUB_DIR/$name.trust.json" --max-session-duration "$seconds" --description "$(cat "$GITHUB_DIR/$name.description")")"
    echo "  # when it exists (e.g. after a repository rename):"
    echo "  $(aws_profiled_words) $(quoted iam update-assume-role-policy --role-name "$name" --policy-document "file://$GITHUB_DIR/$name.trust.json")"
    echo "  $(aws_profiled_words) $(quoted iam update-role --role-name "$name" --max-session-duration "$seconds" --description "$(cat "$GITHUB_DIR/$name.description")")"
    echo "  # its only permissions:"
    echo "  $(aws_profiled_words) $(quoted iam put-role-policy --role-name "$name" --policy-name "$name" --policy-document "file://$GITHUB_DIR/$name.policy.json")"
  done
}

# Creates the GitHub OIDC identity provider when absent (adding the audience when missing), then creates or updates
# each role's trust and replaces its inline policy. Idempotent: a second run changes nothing but rewrites the same
# documents.
setup_github_oidc() {
  local errors client_ids line name seconds subject
  errors=$(mktemp "${TMPDIR:-/tmp}/github-oidc.XXXXXX")
  if client_ids=$(aws_cli iam get-open-id-connect-provider --open-id-connect-provider-arn "$CFG_OIDC_PROVIDER_ARN" \
    --query ClientIDList --output text 2>"$errors"); then
    if [[ " $client_ids " == *[[:space:]]"$CFG_OIDC_AUDIENCE"[[:space:]]* ]]; then
      echo "OIDC provider $CFG_OIDC_PROVIDER_ARN exists"
    else
      echo "Adding the audience $CFG_OIDC_AUDIENCE to $CFG_OIDC_PROVIDER_ARN"
      aws_cli iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn "$CFG_OIDC_PROVIDER_ARN" \
        --client-id "$CFG_OIDC_AUDIENCE"
    fi
  elif grep -q 'NoSuchEntity' "$errors"; then
    echo "Creating OIDC provider $CFG_OIDC_PROVIDER_ARN"
    aws_cli iam create-open-id-connect-provider --url "$CFG_OIDC_PROVIDER_URL" --client-id-list "$CFG_OIDC_AUDIENCE" >/dev/null
  else
    cat "$errors" >&2
    rm -f "$errors"
    die "$EXIT_UNEXPECTED" "could not read the OIDC provider $CFG_OIDC_PROVIDER_ARN (see the message above). Fix: the caller needs iam:GetOpenIDConnectProvider and iam:CreateOpenIDConnectProvider"
  fi
  for line in "${GITHUB_ROLES[@]}"; do
    read -r name seconds subject <<<"$line"
    upsert_github_role "$name" "$seconds" "$subject" "$errors"
  done
  rm -f "$errors"
}

upsert_github_role() {
  local name=$1 seconds=$2 subject=$3 errors=$4 description
  description=$(cat "$GITHUB_DIR/$name.description")
  if aws_cli iam get-role --role-name "$name" >/dev/null 2>"$errors"; then
    echo "Updating role $name (trusts $subject)"
    aws_cli iam update-assume-role-policy --role-name "$name" --policy-document "file://$GITHUB_DIR/$name.trust.json"
    aws_cli iam update-role --role-name "$name" --max-session-duration "$seconds" --description "$description"
  elif grep -q 'NoSuchEntity' "$errors"; then
    echo "Creating role $name (trusts $subject)"
    aws_cli iam create-role --role-name "$name" --assume-role-policy-document "file://$GITHUB_DIR/$name.trust.json" \
      --max-session-duration "$seconds" --description "$description" >/dev/null
  else
    cat "$errors" >&2
    die "$EXIT_UNEXPECTED" "could not read role $name (see the message above). Fix: the caller needs iam:GetRole, iam:CreateRole, iam:UpdateRole, iam:UpdateAssumeRolePolicy and iam:PutRolePolicy"
  fi
  aws_cli iam put-role-policy --role-name "$name" --policy-name "$name" --policy-document "file://$GITHUB_DIR/$name.policy.json"
}
