"""Deployment settings of the CDK app, read from CDK context (cdk.json defaults, `-c key=value`).

Every value is validated here, before any construct is built, so a bad value fails `cdk synth`
with a message naming the context key. Nothing is tied to one AWS account: account and region
come from `-c account=... -c region=...` or from the CLI's credentials (CDK_DEFAULT_ACCOUNT /
CDK_DEFAULT_REGION), else the template is environment-agnostic.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]

#: Context keys and their defaults; cdk.json carries the same defaults for the CLI.
DEFAULTS: dict[str, Any] = {
    "stack_name": "HfCroissant",
    "account": "",
    "region": "",
    "ecr_repository": "hf-croissant-assets",
    "image_tag": "latest",
    "lake_bucket_name": "",
    "lake_prefix": "hf-lake",
    "glue_database": "hf_croissant",
    "athena_workgroup": "hf_croissant",
    "athena_bytes_scanned_cutoff_gb": 100,
    "schedule_hour": 1,
    "staging_expiry_days": 7,
    "lake_noncurrent_version_days": 30,
    "ops_expiry_days": 30,
    "log_retention_days": 30,
    "vpc_id": "",
    "max_azs": 2,
    "nat_gateways": 1,
    "public_webserver": False,
    "webserver_allowed_cidr": "",
    "certificate_arn": "",
    "webserver_cpu": 512,
    "webserver_memory_mib": 2048,
    "daemon_cpu": 512,
    "daemon_memory_mib": 2048,
    "run_cpu": 1024,
    "run_memory_mib": 4096,
    "cpu_architecture": "X86_64",
    "db_instance_type": "t4g.micro",
    "db_allocated_storage_gib": 20,
    "retain_data": True,
    "app_env": {},
}

#: CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653)

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")
_GLUE_DB_RE = re.compile(r"^[a-z0-9_]{1,255}$")
_WORKGROUP_RE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_ECR_RE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_STACK_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,100}$")
_ACCOUNT_RE = re.compile(r"^\d{12}$")
_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_VPC_RE = re.compile(r"^vpc-[0-9a-f]{8,17}$")
_INSTANCE_RE = re.compile(r"^[a-z][a-z0-9]*\.[a-z0-9]+$")
_CERTIFICATE_RE = re.compile(r"^arn:aws[a-z-]*:acm:")
#: Fargate task sizes: cpu units -> allowed memory (MiB).
_FARGATE_MEMORY = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}


class ContextError(ValueError):
    """A bad CDK context value; the message names the key."""


def _bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ContextError(f"context {key}={value!r} is not true or false")


def _int(key: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool):
        raise ContextError(f"context {key}={value!r} is not an integer")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ContextError(f"context {key}={value!r} is not an integer") from None
    if number < minimum or (maximum is not None and number > maximum):
        upper = f"..{maximum}" if maximum is not None else " or more"
        raise ContextError(f"context {key}={value!r} must be {minimum}{upper}")
    return number


def _text(key: str, value: Any, pattern: re.Pattern[str] | None, hint: str, *, optional=False):
    text = "" if value is None else str(value).strip()
    if not text and optional:
        return ""
    if not text or (pattern is not None and not pattern.match(text)):
        raise ContextError(f"context {key}={value!r} is invalid: {hint}")
    return text


def _cidrs(value: Any) -> tuple[str, ...]:
    """`webserver_allowed_cidr`: one CIDR, several separated by commas, or a JSON list of them."""
    items = value if isinstance(value, list | tuple) else str(value or "").split(",")
    cidrs = tuple(dict.fromkeys(str(item).strip() for item in items if str(item).strip()))
    for cidr in cidrs:
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ContextError(
                f"context webserver_allowed_cidr={cidr!r} is not a CIDR (e.g. 203.0.113.7/32)"
            ) from None
        if network.prefixlen == 0:
            raise ContextError(
                f"context webserver_allowed_cidr={cidr!r} admits the whole internet: the Dagster UI "
                "has no login of its own, so list only the networks that may reach it, e.g. "
                "webserver_allowed_cidr=203.0.113.7/32 (several: comma-separated)"
            )
    return cidrs


def _check_public_webserver(cidrs: tuple[str, ...], certificate_arn: str) -> None:
    """An internet-facing load balancer for a UI without a login: HTTPS and an allow-list only."""
    if not cidrs:
        raise ContextError(
            "context public_webserver=true needs webserver_allowed_cidr=<your network>/32 (several: "
            "comma-separated): the Dagster UI has no login of its own, so the internet-facing load "
            "balancer admits only the listed networks; or keep public_webserver=false and open the "
            "UI through the SSM port-forward (deploy/scripts/ui_tunnel.sh)"
        )
    if not certificate_arn:
        raise ContextError(
            "context public_webserver=true needs certificate_arn=<ACM certificate ARN>: the "
            "internet-facing load balancer serves the Dagster UI over HTTPS only, never plain HTTP; "
            "or keep public_webserver=false and open the UI through the SSM port-forward "
            "(deploy/scripts/ui_tunnel.sh)"
        )


def app_settings() -> tuple[frozenset[str], frozenset[str]]:
    """(every environment variable the app reads as a setting, those of them the stack sets
    itself, which `app_env` may not override).

    The CDK app's one use of the app package, and only to check a non-empty `app_env`: its
    settings module, the one list of variables (light: no Dagster).
    """
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from hf_croissant_assets import settings

    known = frozenset(settings.env_names())
    stack_managed = frozenset(
        settings.env_name(field)
        for field in (
            "lake",
            "athena_database",
            "athena_workgroup",
            "athena_output",
            "schedule_hour",
            "aws_region",
            "hf_token_set",
        )
    )
    return known, stack_managed


def _fargate_size(prefix: str, cpu: int, memory: int) -> None:
    allowed = _FARGATE_MEMORY.get(cpu)
    if allowed is None:
        raise ContextError(
            f"context {prefix}_cpu={cpu} is not a Fargate size {sorted(_FARGATE_MEMORY)}"
        )
    if memory not in allowed:
        raise ContextError(
            f"context {prefix}_memory_mib={memory} does not fit {prefix}_cpu={cpu} on Fargate "
            f"(allowed: {allowed[0]}..{allowed[-1]} MiB)"
        )


@dataclass(frozen=True)
class DeployConfig:
    stack_name: str
    account: str | None
    region: str | None
    ecr_repository: str
    image_tag: str
    lake_bucket_name: str | None
    lake_prefix: str
    glue_database: str
    athena_workgroup: str
    athena_bytes_scanned_cutoff_gb: int
    schedule_hour: int
    staging_expiry_days: int
    lake_noncurrent_version_days: int
    ops_expiry_days: int
    log_retention_days: int
    vpc_id: str | None
    max_azs: int
    nat_gateways: int
    public_webserver: bool
    #: Networks the public load balancer admits (context webserver_allowed_cidr, comma-separated).
    webserver_allowed_cidrs: tuple[str, ...]
    certificate_arn: str | None
    webserver_cpu: int
    webserver_memory_mib: int
    daemon_cpu: int
    daemon_memory_mib: int
    run_cpu: int
    run_memory_mib: int
    cpu_architecture: str
    db_instance_type: str
    db_allocated_storage_gib: int
    retain_data: bool
    app_env: dict[str, str] = field(default_factory=dict)

    @property
    def image_stack_name(self) -> str:
        return f"{self.stack_name}Image"

    @classmethod
    def from_context(cls, get: Any) -> DeployConfig:
        """`get(key)` returns the context value or None (e.g. `app.node.try_get_context`)."""

        def value(key: str) -> Any:
            found = get(key)
            return DEFAULTS[key] if found is None else found

        account = _text("account", value("account"), _ACCOUNT_RE, "a 12-digit id", optional=True)
        region = _text("region", value("region"), _REGION_RE, "e.g. eu-west-1", optional=True)
        account = account or os.environ.get("CDK_DEFAULT_ACCOUNT") or None
        region = region or os.environ.get("CDK_DEFAULT_REGION") or None

        vpc_id = _text("vpc_id", value("vpc_id"), _VPC_RE, "e.g. vpc-0abc1234", optional=True)
        if vpc_id and not (account and region):
            raise ContextError(
                "context vpc_id needs a concrete account and region (to look the VPC up): "
                "run with AWS credentials or pass -c account=... -c region=..."
            )
        nat_gateways = _int("nat_gateways", value("nat_gateways"), 0, 3)
        if not vpc_id and nat_gateways < 1:
            raise ContextError(
                "context nat_gateways=0: the tasks run in private subnets and must reach the Hub "
                "(https://huggingface.co); keep at least 1"
            )

        public = _bool("public_webserver", value("public_webserver"))
        cidrs = _cidrs(value("webserver_allowed_cidr"))
        certificate_arn = _text(
            "certificate_arn",
            value("certificate_arn"),
            _CERTIFICATE_RE,
            "an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)",
            optional=True,
        )
        if public:
            _check_public_webserver(cidrs, certificate_arn)

        log_retention = _int("log_retention_days", value("log_retention_days"), 1)
        if log_retention not in LOG_RETENTION_DAYS:
            raise ContextError(
                f"context log_retention_days={log_retention} is not a CloudWatch retention "
                f"{LOG_RETENTION_DAYS}"
            )

        arch = str(value("cpu_architecture")).strip().upper()
        if arch not in ("X86_64", "ARM64"):
            raise ContextError(f"context cpu_architecture={arch!r} must be X86_64 or ARM64")

        app_env = value("app_env")
        if isinstance(app_env, str):
            try:
                app_env = json.loads(app_env) if app_env.strip() else {}
            except json.JSONDecodeError as exc:
                raise ContextError(f"context app_env is not a JSON object: {exc}") from None
        if not isinstance(app_env, dict):
            raise ContextError("context app_env must be a JSON object of setting -> value")
        known, stack_managed = app_settings() if app_env else (frozenset(), frozenset())
        for name in app_env:
            if name not in known:
                raise ContextError(
                    f"context app_env: {name!r} is not a setting of the app ({sorted(known)})"
                )
            if name in stack_managed:
                raise ContextError(
                    f"context app_env: {name} is set by the stack (use its own context key, or "
                    "the Secrets Manager secret for HF_TOKEN)"
                )

        config = cls(
            stack_name=_text("stack_name", value("stack_name"), _STACK_RE, "letters, digits, '-'"),
            account=account,
            region=region,
            ecr_repository=_text(
                "ecr_repository", value("ecr_repository"), _ECR_RE, "an ECR repository name"
            ),
            image_tag=_text("image_tag", value("image_tag"), _TAG_RE, "a Docker image tag"),
            lake_bucket_name=_text(
                "lake_bucket_name",
                value("lake_bucket_name"),
                _BUCKET_RE,
                "an S3 bucket name (3-63 lowercase letters, digits, '.', '-')",
                optional=True,
            )
            or None,
            lake_prefix=_text(
                "lake_prefix",
                str(value("lake_prefix")).strip().strip("/"),
                _PREFIX_RE,
                "a key prefix such as hf-lake (no leading or trailing '/')",
            ),
            glue_database=_text(
                "glue_database",
                value("glue_database"),
                _GLUE_DB_RE,
                "lowercase letters, digits and '_' (an Athena/Glue database name)",
            ),
            athena_workgroup=_text(
                "athena_workgroup",
                value("athena_workgroup"),
                _WORKGROUP_RE,
                "1-128 of A-Za-z0-9._-",
            ),
            athena_bytes_scanned_cutoff_gb=_int(
                "athena_bytes_scanned_cutoff_gb", value("athena_bytes_scanned_cutoff_gb"), 0
            ),
            schedule_hour=_int("schedule_hour", value("schedule_hour"), 0, 23),
            staging_expiry_days=_int("staging_expiry_days", value("staging_expiry_days"), 1),
            lake_noncurrent_version_days=_int(
                "lake_noncurrent_version_days", value("lake_noncurrent_version_days"), 1
            ),
            ops_expiry_days=_int("ops_expiry_days", value("ops_expiry_days"), 1),
            log_retention_days=log_retention,
            vpc_id=vpc_id or None,
            max_azs=_int("max_azs", value("max_azs"), 2, 6),
            nat_gateways=nat_gateways,
            public_webserver=public,
            webserver_allowed_cidrs=cidrs,
            certificate_arn=certificate_arn or None,
            webserver_cpu=_int("webserver_cpu", value("webserver_cpu"), 256),
            webserver_memory_mib=_int("webserver_memory_mib", value("webserver_memory_mib"), 512),
            daemon_cpu=_int("daemon_cpu", value("daemon_cpu"), 256),
            daemon_memory_mib=_int("daemon_memory_mib", value("daemon_memory_mib"), 512),
            run_cpu=_int("run_cpu", value("run_cpu"), 256),
            run_memory_mib=_int("run_memory_mib", value("run_memory_mib"), 512),
            cpu_architecture=arch,
            db_instance_type=_text(
                "db_instance_type", value("db_instance_type"), _INSTANCE_RE, "e.g. t4g.micro"
            ),
            db_allocated_storage_gib=_int(
                "db_allocated_storage_gib", value("db_allocated_storage_gib"), 20, 65536
            ),
            retain_data=_bool("retain_data", value("retain_data")),
            app_env={str(k): str(v) for k, v in app_env.items()},
        )
        for prefix in ("webserver", "daemon", "run"):
            _fargate_size(
                prefix, getattr(config, f"{prefix}_cpu"), getattr(config, f"{prefix}_memory_mib")
            )
        return config
