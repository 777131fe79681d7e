#!/bin/sh
# Container health, by role (written by entrypoint.sh):
#   webserver  GET http://127.0.0.1:$DAGSTER_WEBSERVER_PORT/server_info answers 200
#   daemon     `dagster-daemon liveness-check`: the daemon's heartbeats are recent
#   explore    GET Datasette's -/versions.json on 127.0.0.1:$HF_CROISSANT_EXPLORE_PORT answers 200
#   other      run workers, snapshot, one-off commands: healthy while running
# No curl in the slim image: the HTTP probe uses the image's Python.
set -eu

role_file="${HF_CROISSANT_ROLE_FILE:-/tmp/hf-croissant-role}"
role="$(cat "$role_file" 2>/dev/null || echo other)"

case "$role" in
    webserver)
        exec python -c '
import os, sys, urllib.request
url = "http://127.0.0.1:%s/server_info" % os.environ.get("DAGSTER_WEBSERVER_PORT", "3000")
try:
    with urllib.request.urlopen(url, timeout=5) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception as exc:
    print(f"webserver unhealthy: {url}: {exc}", file=sys.stderr)
    sys.exit(1)
'
        ;;
    daemon)
        exec dagster-daemon liveness-check
        ;;
    explore)
        exec python -c '
import os, sys, urllib.request
port = os.environ.get("HF_CROISSANT_EXPLORE_PORT", "8001")
url = "http://127.0.0.1:%s/%s" % (port, "-/versions.json")
try:
    with urllib.request.urlopen(url, timeout=5) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception as exc:
    print(f"explorer unhealthy: {url}: {exc}", file=sys.stderr)
    sys.exit(1)
'
        ;;
    *)
        exit 0
        ;;
esac
