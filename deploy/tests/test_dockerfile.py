"""The Dockerfile (no Docker engine here): structure, paths, commands, hadolint; and the image's
entrypoint and health check scripts, run for real."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest
from deploy_support import CDK_SOURCES, DEPLOY, DOCKERFILE, ROOT, VENV_BIN


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    logical, current = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    assert not current, "dangling line continuation"
    result = []
    for text in logical:
        keyword, _, rest = text.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, rest in _instructions():
        if keyword == "FROM":
            stages.append([])
        assert stages, "instruction before FROM"
        stages[-1].append((keyword, rest))
    return stages


def _dockerignore_excludes(path: str) -> bool:
    patterns = [
        p.strip()
        for p in (ROOT / ".dockerignore").read_text().splitlines()
        if p.strip() and not p.strip().startswith("#")
    ]
    parts = Path(path).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        globs = [pattern, pattern.replace("**/", "")] if "**/" in pattern else [pattern]
        if any(fnmatch(c, g) for c in candidates for g in globs):
            excluded = not negate
    return excluded


def _copies(stage: list[tuple[str, str]]) -> list[tuple[list[str], str, list[str]]]:
    """(flags, destination, sources) of each COPY/ADD in a stage."""
    found = []
    for keyword, rest in stage:
        if keyword in ("COPY", "ADD"):
            words = shlex.split(rest)
            flags = [w for w in words if w.startswith("--")]
            paths = [w for w in words if not w.startswith("--")]
            found.append((flags, paths[-1], paths[:-1]))
    return found


def test_dockerfile_base_image_is_pinned_to_an_exact_python_3_11_slim():
    froms = [rest for keyword, rest in _instructions() if keyword == "FROM"]
    assert froms
    for rest in froms:
        assert re.fullmatch(
            r"python:3\.11\.\d+-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?( +AS +\w+)?", rest, re.I
        ), rest
    assert len({rest.split()[0] for rest in froms}) == 1, "every stage on the same base"


def test_dockerfile_runs_as_a_non_root_user_with_dagster_home():
    final = _stages()[-1]
    users = [rest for keyword, rest in final if keyword == "USER"]
    assert users, "no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    run_text = " ".join(rest for keyword, rest in final if keyword == "RUN")
    assert re.search(rf"useradd\b[^&]*--uid {re.escape(user)}\b", run_text), "the user is created"
    env_text = " ".join(rest for keyword, rest in final if keyword == "ENV")
    assert re.search(r"\bDAGSTER_HOME=/\S+", env_text)
    dagster_home = re.search(r"\bDAGSTER_HOME=(\S+)", env_text).group(1)
    destinations = {dest: sources for _, dest, sources in _copies(final)}
    assert destinations[f"{dagster_home}/dagster.yaml"] == ["deploy/dagster.prod.yaml"]
    assert destinations[f"{dagster_home}/workspace.yaml"] == ["workspace.yaml"]
    # No secret is baked: nothing named like one in ENV/ARG.
    for keyword, rest in _instructions():
        if keyword in ("ENV", "ARG"):
            assert not re.search(r"TOKEN|SECRET|PASSWORD|AWS_ACCESS", rest, re.I), rest


def test_dockerfile_copies_only_existing_paths_that_reach_the_build_context():
    copies = [c for stage in _stages() for c in _copies(stage)]
    assert copies
    for flags, _dest, sources in copies:
        if any(f.startswith("--from=") for f in flags):
            continue
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
            assert not _dockerignore_excludes(source), f"COPY {source}: excluded by .dockerignore"
    # and what must not reach the image stays out of the build context
    for private in ("data", ".env", ".git", "hf_croissant_assets_tests", "deploy/cdk"):
        assert _dockerignore_excludes(private), private


def test_dockerfile_installs_the_package_from_pyproject():
    build = _stages()[0]
    copied = [s for _, _, sources in _copies(build) for s in sources]
    assert "pyproject.toml" in copied and "hf_croissant_assets" in copied
    runs = [rest for keyword, rest in build if keyword == "RUN"]
    assert any("pyproject.toml" in r and "'deploy'" in r and "pip install" in r for r in runs)
    assert any(re.search(r"pip install (--[\w-]+ )*\.( |$)", r) for r in runs)
    # the runtime stage takes the virtualenv from the build stage
    final_copies = _copies(_stages()[-1])
    assert (["--from=build"], "/opt/venv", ["/opt/venv"]) in final_copies


def _final_entrypoint() -> tuple[list[str], list[str], str]:
    final = _stages()[-1]
    entrypoint = json.loads(next(rest for k, rest in reversed(final) if k == "ENTRYPOINT"))
    cmd = json.loads(next(rest for k, rest in reversed(final) if k == "CMD"))
    healthcheck = next(rest for k, rest in reversed(final) if k == "HEALTHCHECK")
    return entrypoint, cmd, healthcheck


def _image_path_to_repo(image_path: str) -> Path:
    """An image path under /opt/dagster/app -> its source in the repository (via the COPYs)."""
    for flags, dest, sources in _copies(_stages()[-1]):
        if any(f.startswith("--from=") for f in flags):
            continue
        for source in sources:
            target = dest if not dest.endswith("/") else dest + Path(source).name
            if not dest.startswith("/"):
                target = "/opt/dagster/app/" + dest.removeprefix("./")
                if dest.endswith("/"):
                    target += Path(source).name
            if target.rstrip("/") == image_path:
                return ROOT / source
    raise AssertionError(f"{image_path} is not copied into the image")


def test_dockerfile_entrypoint_and_healthcheck_scripts_exist_and_are_executable():
    entrypoint, cmd, healthcheck = _final_entrypoint()
    assert cmd == ["webserver"]
    assert "CMD" in healthcheck and "--interval" in healthcheck
    health_path = json.loads(healthcheck.split("CMD", 1)[1].strip())[0]
    for image_path in (entrypoint[0], health_path):
        source = _image_path_to_repo(image_path)
        assert source.is_file() and os.access(source, os.X_OK), source
        assert subprocess.run(["sh", "-n", str(source)]).returncode == 0, source
    # The ECS health checks of the stack name the same script and commands.
    cdk_sources = "\n".join(p.read_text() for p in sorted(CDK_SOURCES.rglob("*.py")))
    assert f'"{health_path}"' in cdk_sources


def test_dockerfile_exposes_the_webserver_and_the_explorer_ports():
    exposed = set()
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("EXPOSE "):
            exposed |= set(line.split()[1:])
    script = (DEPLOY / "entrypoint.sh").read_text()
    explore_port = re.search(r"HF_CROISSANT_EXPLORE_PORT:-(\d+)", script)
    assert explore_port is not None
    assert exposed == {"3000", explore_port.group(1)}


def test_the_commands_the_entrypoint_names_are_installed_console_scripts():
    script = (DEPLOY / "entrypoint.sh").read_text()
    commands = set(re.findall(r"^\s*exec ([a-z][\w-]+)", script, re.M))
    assert commands == {
        "dagster-webserver", "dagster-daemon", "hf-croissant-snapshot", "hf-croissant",
    }  # fmt: skip
    scripts = {ep.name: ep for ep in importlib.metadata.entry_points(group="console_scripts")}
    for command in commands | {"dagster"}:  # `dagster api execute_run` is the run worker
        assert command in scripts, command
        assert callable(scripts[command].load()), command
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["hf-croissant-snapshot"] == "hf_croissant_assets.cli:main"


def _run_entrypoint(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    shutil.copy(ROOT / "workspace.yaml", home / "workspace.yaml")
    env = {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DAGSTER_HOME": str(home),
        "HF_CROISSANT_ROLE_FILE": str(tmp_path / "role"),
        "HF_TOKEN": "",
        "HOME": str(tmp_path),
    }
    return subprocess.run(
        [str(DEPLOY / "entrypoint.sh"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("webserver", "--help"), "--workspace"),
        (("daemon", "--help"), "--workspace"),
        (("snapshot", "--help"), "hf-croissant-snapshot"),
        (("explore", "--help"), "--from-hub"),
        (("run", "python", "-c", "import os; print('token' in os.environ)"), "False"),
        (("dagster", "api", "execute_run", "--help"), "execute_run"),
    ],
)
def test_the_entrypoint_starts_each_role(tmp_path, args, expected):
    proc = _run_entrypoint(tmp_path, *args)
    assert proc.returncode == 0, proc.stderr
    assert expected in proc.stdout
    assert (tmp_path / "role").read_text().strip() == args[0]


def test_the_entrypoint_drops_an_empty_token_and_rejects_a_bare_run(tmp_path):
    proc = _run_entrypoint(tmp_path, "python", "-c", "import os; print('HF_TOKEN' in os.environ)")
    assert proc.returncode == 0 and proc.stdout.strip() == "False", proc.stderr
    proc = _run_entrypoint(tmp_path, "run")
    assert proc.returncode == 64 and "needs a command" in proc.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_healthcheck_probes_the_webserver_and_passes_other_roles(tmp_path, server_info):
    role_file = tmp_path / "role"

    def check(role: str | None, port: int) -> int:
        if role is None:
            role_file.unlink(missing_ok=True)
        else:
            role_file.write_text(role + "\n")
        env = {
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "HF_CROISSANT_ROLE_FILE": str(role_file),
            "DAGSTER_WEBSERVER_PORT": str(port),
            "HF_CROISSANT_EXPLORE_PORT": str(port),
        }
        return subprocess.run(
            [str(DEPLOY / "healthcheck.sh")], env=env, capture_output=True, timeout=30
        ).returncode

    assert check("webserver", server_info) == 0
    assert check("webserver", _free_port()) != 0
    assert check("explore", server_info) == 0
    assert check("explore", _free_port()) != 0
    assert check("snapshot", _free_port()) == 0
    assert check(None, _free_port()) == 0  # a run worker started by ECS with its own command


def test_hadolint_finds_nothing(hadolint):
    proc = subprocess.run(
        [
            hadolint,
            "--no-color",
            "--format",
            "json",
            "--failure-threshold",
            "style",
            str(DOCKERFILE),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and json.loads(proc.stdout or "[]") == [], proc.stdout + proc.stderr
