"""The helper scripts under deploy/scripts, run against recording stand-ins for `docker` and
`aws` (the `fake_tools` fixture)."""

from __future__ import annotations

import json
import os
import subprocess

from deploy_support import DEPLOY, DOCKERFILE, ROOT, SCRIPTS


def _run_script(
    name: str, fake_tools, *args: str, **env: str
) -> tuple[subprocess.CompletedProcess, list]:
    bin_dir, log = fake_tools
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "HF_", "IMAGE", "ECR_", "STACK_", "PLATFORM"))
    }
    base["PATH"] = f"{bin_dir}{os.pathsep}{base.get('PATH', '')}"
    proc = subprocess.run(
        ["bash", str(SCRIPTS / name), *args],
        env=base | env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return proc, calls


def test_build_script_builds_the_dockerfile_from_the_repository_root(fake_tools):
    proc, calls = _run_script("build.sh", fake_tools, IMAGE_TAG="t1")
    assert proc.returncode == 0, proc.stderr
    (call,) = calls
    assert call[:2] == ["docker", "build"]
    assert call[call.index("--file") + 1] == str(DOCKERFILE)
    assert call[call.index("--platform") + 1] == "linux/amd64"
    assert "hf-croissant-assets:t1" in call and call[-1] == str(ROOT)


def test_push_script_logs_in_to_ecr_and_pushes_the_tag(fake_tools):
    proc, calls = _run_script("push.sh", fake_tools, IMAGE_TAG="t1", AWS_REGION="eu-west-1")
    assert proc.returncode == 0, proc.stderr
    registry = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    assert ["aws", "sts", "get-caller-identity", "--query", "Account", "--output", "text"] in calls
    assert ["docker", "login", "--username", "AWS", "--password-stdin", registry] in calls
    assert ["docker", "push", f"{registry}/hf-croissant-assets:t1"] in calls
    assert "ecr-password" not in json.dumps(calls), "the password goes through stdin only"
    assert "-c image_tag=t1" in proc.stdout


def test_run_local_script_runs_the_snapshot_on_the_local_lake(fake_tools):
    proc, calls = _run_script(
        "run_local.sh", fake_tools, "--date", "2026-11-21", HF_TOKEN="hf_secret_value"
    )
    assert proc.returncode == 0, proc.stderr
    (call,) = calls
    assert call[:2] == ["docker", "run"]
    assert call[-4:] == ["hf-croissant-assets:latest", "snapshot", "--date", "2026-11-21"]
    assert "DAGSTER_HOME=/opt/dagster/app" in call  # the local (SQLite) instance
    assert f"{ROOT}/data:/opt/dagster/app/data" in call
    assert "HF_TOKEN" in call and "hf_secret_value" not in json.dumps(call)


def test_every_script_parses():
    for script in [*SCRIPTS.glob("*.sh"), DEPLOY / "entrypoint.sh", DEPLOY / "healthcheck.sh"]:
        shell = "sh" if script.parent == DEPLOY else "bash"
        assert subprocess.run([shell, "-n", str(script)]).returncode == 0, script
        if script.name != "lib.sh":
            assert os.access(script, os.X_OK), script
