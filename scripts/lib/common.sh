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
      --profile | --policy-arn)
        [[ $# -ge 2 && -n $2 && $2 != --* ]] || die "$EXIT_USAGE" "$1 needs a value, e.g. $1 $(example_for "$1"). See --help"
        if [[ $1 == --profile ]]; then PROFILE=$2; else POLICY_ARN_OVERRIDE=$2; fi
        shift
        ;;
      --profile=* | --policy-arn=*)
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
}

example_for() {
  if [[ $1 == --profile ]]; then echo 'dev-admin'; else echo 'arn:aws:iam::123456789012:policy/my-cfn-exec'; fi
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
  while IFS= read -r line; do
    key=${line%%=*}
    value=${line#*=}
    case $key in
      TAG) TAGS+=("$value") ;;
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
  [[ -n $POLICY_ARN_OVERRIDE ]] && return 0
  POLICY_FILE=$(mktemp "${TMPDIR:-/tmp}/cdk-cfn-execution-policy.XXXXXX")
  trap remove_policy_file EXIT
}

remove_policy_file() {
  if [[ -n $POLICY_FILE ]] && ! $KEEP_POLICY_FILE; then rm -f "$POLICY_FILE"; fi
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
