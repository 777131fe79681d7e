#!/usr/bin/env bash
# Run the image on this machine in the embedded mode: the repository's ./data lake, DuckDB file
# and SQLite Dagster instance (the repo-root dagster.yaml), exactly like hf-croissant-snapshot.
#
#   deploy/scripts/run_local.sh                         today's snapshot
#   deploy/scripts/run_local.sh --date 2026-11-21 --select hf_datasets,hf_croissant,duckdb_tables
#   ROLE=webserver deploy/scripts/run_local.sh          the UI on http://127.0.0.1:${PORT:-3000}
#
# HF_* and AWS_* variables of your shell are passed through by name (HF_TOKEN, HF_ENDPOINT,
# HF_CROISSANT_LAKE=s3://..., ...): nothing is baked into the image. An HF_ENDPOINT on
# 127.0.0.1/localhost (the emulator) uses the host network.
set -euo pipefail
# shellcheck source=deploy/scripts/lib.sh
. "$(dirname "$0")/lib.sh"

image="${IMAGE:-$IMAGE_NAME:latest}"
role="${ROLE:-snapshot}"
mkdir -p "$REPO_ROOT/data"

opts=(--rm --init
    --user "$(id -u):$(id -g)" --env HOME=/tmp
    --env DAGSTER_HOME=/opt/dagster/app
    --volume "$REPO_ROOT/data:/opt/dagster/app/data")
[ -t 0 ] && [ -t 1 ] && opts+=(--interactive --tty)
while IFS= read -r name; do
    case "$name" in
        HF_* | AWS_*) opts+=(--env "$name") ;;
    esac
done < <(compgen -e)
case "${HF_ENDPOINT:-}" in
    http://127.0.0.1* | http://localhost*) opts+=(--network host) ;;
    *) [ "$role" = webserver ] && opts+=(--publish "127.0.0.1:${PORT:-3000}:3000") ;;
esac

exec docker run "${opts[@]}" "$image" "$role" "$@"
