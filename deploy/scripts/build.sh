#!/usr/bin/env bash
# Build the image (webserver, daemon and run workers) from the repository root.
#
#   deploy/scripts/build.sh                     tag: the commit (see lib.sh), plus :latest
#   IMAGE_TAG=v1 PLATFORM=linux/arm64 deploy/scripts/build.sh
#
# PLATFORM (default linux/amd64) must match the stack's cpu_architecture (X86_64 / ARM64).
# Extra arguments go to `docker build` (e.g. --no-cache). Prints the image reference.
set -euo pipefail
# shellcheck source=deploy/scripts/lib.sh
. "$(dirname "$0")/lib.sh"

tag="$(image_tag)"
docker build \
    --platform "${PLATFORM:-linux/amd64}" \
    --tag "$IMAGE_NAME:$tag" \
    --tag "$IMAGE_NAME:latest" \
    --file "$REPO_ROOT/Dockerfile" \
    "$@" \
    "$REPO_ROOT"
echo "built $IMAGE_NAME:$tag"
