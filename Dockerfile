# syntax=docker/dockerfile:1
# hf_croissant_assets: one image for the Dagster webserver, the daemon and the run workers.
#
#   docker build -t hf-croissant-assets .            (or deploy/scripts/build.sh)
#   docker run IMAGE webserver | daemon | snapshot [--date D] | <any command>
#
# The role is chosen at run time by deploy/entrypoint.sh; the EcsRunLauncher starts run workers
# with `dagster api execute_run ...`, which the entrypoint passes through unchanged.
# Production instance config (PostgreSQL, QueuedRunCoordinator, EcsRunLauncher) is baked in as
# $DAGSTER_HOME/dagster.yaml; every secret comes from the environment at run time, none is baked.

# ---- build stage: a virtualenv with the package and its pinned dependencies --------------------
FROM python:3.11.15-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src

# Dependencies first, read from pyproject.toml (project dependencies + the `deploy` extra), so this
# layer is rebuilt only when pyproject.toml changes, not on every code change.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['deploy']))" > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt

# Then the package itself, from pyproject.toml (its dependencies are already satisfied above).
COPY hf_croissant_assets ./hf_croissant_assets
RUN pip install --no-cache-dir --no-deps . \
    && pip check

# ---- runtime stage ---------------------------------------------------------------------------------
FROM python:3.11.15-slim-bookworm

LABEL org.opencontainers.image.title="hf-croissant-assets" \
      org.opencontainers.image.description="Daily snapshot of every Hugging Face Hub dataset (listing + Croissant) into a parquet lake, orchestrated by Dagster"

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home \
    DAGSTER_WEBSERVER_PORT=3000

# A fixed, unprivileged user (uid 10001) owns only what the processes must write.
RUN groupadd --system --gid 10001 dagster \
    && useradd --system --uid 10001 --gid dagster --home-dir /opt/dagster --shell /usr/sbin/nologin dagster \
    && mkdir -p /opt/dagster/app/data "$DAGSTER_HOME" \
    && chown dagster:dagster /opt/dagster /opt/dagster/app /opt/dagster/app/data "$DAGSTER_HOME"

COPY --from=build /opt/venv /opt/venv

# Production instance: $DAGSTER_HOME/dagster.yaml (PostgreSQL + ECS) and the workspace.
COPY deploy/dagster.prod.yaml /opt/dagster/dagster_home/dagster.yaml
COPY workspace.yaml /opt/dagster/dagster_home/workspace.yaml

# The working directory mirrors the repository root: the local (SQLite) dagster.yaml and a
# ./data folder, so `DAGSTER_HOME=/opt/dagster/app` runs the embedded mode (deploy/scripts/run_local.sh).
WORKDIR /opt/dagster/app
COPY dagster.yaml workspace.yaml ./
COPY --chmod=0755 deploy/entrypoint.sh deploy/healthcheck.sh ./deploy/

USER 10001:10001

# 3000: the Dagster webserver; 8001: the explorer (`explore` role, HF_CROISSANT_EXPLORE_PORT).
EXPOSE 3000 8001

# Role-aware: the webserver must answer /server_info, the daemon must have fresh heartbeats,
# anything else (run workers, snapshot) is healthy while it runs.
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["/opt/dagster/app/deploy/healthcheck.sh"]

ENTRYPOINT ["/opt/dagster/app/deploy/entrypoint.sh"]
CMD ["webserver"]
