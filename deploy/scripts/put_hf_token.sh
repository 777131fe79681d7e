#!/usr/bin/env bash
# Store the Hugging Face token in the stack's secret (read from the terminal without echo, or
# from stdin; never passed as a command-line argument, never written to disk).
#
#   deploy/scripts/put_hf_token.sh               prompts for the token
#   printf %s "$HF_TOKEN" | deploy/scripts/put_hf_token.sh
#
# Run tasks read it when they start: the next run uses it, nothing needs a restart.
set -euo pipefail
# shellcheck source=deploy/scripts/lib.sh
. "$(dirname "$0")/lib.sh"

secret="$(stack_output HfTokenSecretArn)"
[ -n "$secret" ] && [ "$secret" != None ] || die "stack $STACK_NAME has no HfTokenSecretArn output"

if [ -t 0 ]; then
    read -r -s -p "Hugging Face token (hf_...): " token
    echo
else
    IFS= read -r token || true
fi
case "$token" in
    "" | *[!A-Za-z0-9_-]*) die "that does not look like a Hugging Face token (hf_...)" ;;
esac

printf '{"HF_TOKEN":"%s"}' "$token" |
    aws secretsmanager put-secret-value --region "$(aws_region)" --secret-id "$secret" \
        --secret-string file:///dev/stdin >/dev/null
echo "stored the token in $secret"
