#!/bin/sh
# Container entrypoint: one image, the role is chosen at run time.
#
#   webserver [ARGS]   the Dagster UI on 0.0.0.0:$DAGSTER_WEBSERVER_PORT (default 3000)
#   daemon [ARGS]      dagster-daemon (schedules, the run queue, run monitoring)
#   snapshot [ARGS]    hf-croissant-snapshot: one day's job in-process (e.g. --date 2026-11-21)
#   explore [ARGS]     the read-only explorer (Datasette) on 0.0.0.0:$HF_CROISSANT_EXPLORE_PORT
#                      (default 8001), e.g. `explore --from-hub my-org/hf-datasets-croissant`
#   run CMD [ARGS]     any command, e.g. `run dagster asset list -m hf_croissant_assets.definitions`
#   CMD [ARGS]         anything else is executed as given; this is how the EcsRunLauncher's
#                      `dagster api execute_run ...` command reaches the run worker.
#
# Both Dagster services read $DAGSTER_HOME/dagster.yaml and $DAGSTER_HOME/workspace.yaml.
set -eu

: "${DAGSTER_HOME:?DAGSTER_HOME must be set (the image sets /opt/dagster/dagster_home)}"
workspace="${DAGSTER_WORKSPACE:-$DAGSTER_HOME/workspace.yaml}"
role_file="${HF_CROISSANT_ROLE_FILE:-/tmp/hf-croissant-role}"

# An empty token (the Secrets Manager secret before a token was put into it) means anonymous.
if [ -z "${HF_TOKEN:-}" ]; then
    unset HF_TOKEN 2>/dev/null || true
fi

role="${1:-webserver}"
[ "$#" -gt 0 ] && shift

# healthcheck.sh reads the role: only the webserver and the daemon have something to probe.
printf '%s\n' "$role" > "$role_file" 2>/dev/null || true

case "$role" in
    webserver)
        exec dagster-webserver --host 0.0.0.0 --port "${DAGSTER_WEBSERVER_PORT:-3000}" \
            --workspace "$workspace" "$@"
        ;;
    daemon)
        exec dagster-daemon run --workspace "$workspace" "$@"
        ;;
    snapshot)
        exec hf-croissant-snapshot "$@"
        ;;
    explore)
        exec hf-croissant explore --host 0.0.0.0 --port "${HF_CROISSANT_EXPLORE_PORT:-8001}" "$@"
        ;;
    run)
        if [ "$#" -eq 0 ]; then
            echo "entrypoint: 'run' needs a command, e.g. run dagster --help" >&2
            exit 64
        fi
        exec "$@"
        ;;
    *)
        exec "$role" "$@"
        ;;
esac
