#!/usr/bin/env bash
# Push the image built by build.sh to the stack's ECR repository (created by the
# <stack>Image stack: `cd deploy/cdk && cdk deploy HfCroissantImage`).
#
#   deploy/scripts/push.sh                      account from AWS_ACCOUNT_ID or `aws sts`,
#                                               region from AWS_REGION / AWS_DEFAULT_REGION / aws config
#
# Pushes :<tag> and :latest; deploy the tag with `cdk deploy HfCroissant -c image_tag=<tag>`.
set -euo pipefail
# shellcheck source=deploy/scripts/lib.sh
. "$(dirname "$0")/lib.sh"

tag="$(image_tag)"
region="$(aws_region)"
account="$(aws_account)"
registry="$account.dkr.ecr.$region.amazonaws.com"
remote="$registry/$ECR_REPOSITORY"

aws ecr describe-repositories --region "$region" --repository-names "$ECR_REPOSITORY" >/dev/null ||
    die "ECR repository $ECR_REPOSITORY not found in $region: first run (cd deploy/cdk && cdk deploy ${STACK_NAME}Image)"
docker image inspect "$IMAGE_NAME:$tag" >/dev/null ||
    die "no local image $IMAGE_NAME:$tag: run deploy/scripts/build.sh first"

aws ecr get-login-password --region "$region" |
    docker login --username AWS --password-stdin "$registry"
for t in "$tag" latest; do
    docker tag "$IMAGE_NAME:$tag" "$remote:$t"
    docker push "$remote:$t"
done
echo "pushed $remote:$tag"
echo "deploy it with: (cd deploy/cdk && cdk deploy $STACK_NAME -c image_tag=$tag)"
