#!/usr/bin/env bash
# Fake AWS CLI for test/scripts/bootstrap.test.ts: records its argv (one JSON array per line in $FAKE_LOG_DIR/aws.log)
# and answers the calls the bootstrap scripts make. FAKE_ACCOUNT unset = expired credentials; a document.json in
# $FAKE_LOG_DIR = the execution policy exists with that default document. FAKE_OIDC_CLIENT_IDS set = the GitHub OIDC
# provider exists with those audiences; FAKE_ROLES_EXIST set = every role exists.
set -euo pipefail
node -e 'require("fs").appendFileSync(process.env.FAKE_LOG_DIR + "/aws.log", JSON.stringify(process.argv.slice(1)) + "\n")' -- "$@"
args=" $* "
case $args in
  *" sts get-caller-identity "*)
    if [[ -z ${FAKE_ACCOUNT:-} ]]; then
      echo 'An error occurred (ExpiredToken) when calling the GetCallerIdentity operation: The security token included in the request is expired' >&2
      exit 254
    fi
    printf '%s\t%s\n' "$FAKE_ACCOUNT" "arn:aws:sts::$FAKE_ACCOUNT:assumed-role/Admin/someone"
    ;;
  *" get-policy "*"Policy.DefaultVersionId"*) echo v5 ;;
  *" get-policy "*)
    if [[ ! -f $FAKE_LOG_DIR/document.json ]]; then
      echo 'An error occurred (NoSuchEntity) when calling the GetPolicy operation: Policy does not exist' >&2
      exit 254
    fi
    echo '{}'
    ;;
  *" get-policy-version "*) cat "$FAKE_LOG_DIR/document.json" ;;
  *" list-policy-versions "*"length(Versions)"*) echo "${FAKE_VERSION_COUNT:-1}" ;;
  *" list-policy-versions "*) printf '2024-03-01T00:00:00Z\tv3\n2024-01-01T00:00:00Z\tv1\n2024-02-01T00:00:00Z\tv2\n' ;;
  *" get-open-id-connect-provider "*)
    if [[ -z ${FAKE_OIDC_CLIENT_IDS:-} ]]; then
      echo 'An error occurred (NoSuchEntity) when calling the GetOpenIDConnectProvider operation: OpenIDConnect Provider not found' >&2
      exit 254
    fi
    echo "$FAKE_OIDC_CLIENT_IDS"
    ;;
  *" get-role "*)
    if [[ -z ${FAKE_ROLES_EXIST:-} ]]; then
      echo 'An error occurred (NoSuchEntity) when calling the GetRole operation: The role cannot be found' >&2
      exit 254
    fi
    echo '{}'
    ;;
  *) echo '{}' ;;
esac
