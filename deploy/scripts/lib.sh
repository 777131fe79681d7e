# Shared by the deploy scripts (sourced, not run). Bash.
# shellcheck shell=bash

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
IMAGE_NAME="${IMAGE_NAME:-hf-croissant-assets}"
ECR_REPOSITORY="${ECR_REPOSITORY:-hf-croissant-assets}"
STACK_NAME="${STACK_NAME:-HfCroissant}"

die() {
    printf '%s: %s\n' "$(basename "$0")" "$*" >&2
    exit 1
}

# IMAGE_TAG, else the commit (12 hex) with -dirty when the work tree has changes: the same tag for
# build.sh and push.sh, and a new tag (so a new ECS task definition revision) for every change.
image_tag() {
    if [ -n "${IMAGE_TAG:-}" ]; then
        printf '%s\n' "$IMAGE_TAG"
        return
    fi
    local tag
    tag="$(git -C "$REPO_ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo dev)"
    if [ -n "$(git -C "$REPO_ROOT" status --porcelain 2>/dev/null)" ]; then
        tag="${tag}-dirty"
    fi
    printf '%s\n' "$tag"
}

aws_region() {
    local region="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
    [ -n "$region" ] || region="$(aws configure get region 2>/dev/null || true)"
    [ -n "$region" ] || die "no AWS region: set AWS_REGION (or aws configure set region ...)"
    printf '%s\n' "$region"
}

aws_account() {
    if [ -n "${AWS_ACCOUNT_ID:-}" ]; then
        printf '%s\n' "$AWS_ACCOUNT_ID"
        return
    fi
    aws sts get-caller-identity --query Account --output text ||
        die "cannot read the AWS account (aws sts get-caller-identity): are credentials set?"
}

# stack_output KEY: one output of the deployed stack $STACK_NAME.
stack_output() {
    aws cloudformation describe-stacks --stack-name "$STACK_NAME" --region "$(aws_region)" \
        --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue | [0]" --output text
}
