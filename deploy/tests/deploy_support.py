"""Helpers of the deploy tests (no fixtures: those are in conftest.py): repository paths, the
CDK app synthesized in-process, and readers of the synthesized template."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CDK_DIR = DEPLOY / "cdk"
CDK_SOURCES = CDK_DIR / "hf_croissant_cdk"
SCRIPTS = DEPLOY / "scripts"
DOCKERFILE = ROOT / "Dockerfile"
PROD_YAML = DEPLOY / "dagster.prod.yaml"
VENV_BIN = Path(sys.executable).parent


def cdk_context(**overrides: Any) -> dict[str, Any]:
    """cdk.json's context (defaults and feature flags) with `-c key=value`-style overrides."""
    context = json.loads((CDK_DIR / "cdk.json").read_text())["context"]
    context.update(overrides)
    return context


def _on_path() -> None:
    if str(CDK_DIR) not in sys.path:
        sys.path.insert(0, str(CDK_DIR))


def cdk_config_module():
    """`hf_croissant_cdk.config`: plain Python, no jsii, so no Node.js needed."""
    _on_path()
    from hf_croissant_cdk import config

    return config


def cdk_stack_module():
    """`hf_croissant_cdk.stack`: importing aws-cdk-lib starts jsii on Node.js."""
    _on_path()
    from hf_croissant_cdk import stack

    return stack


class Synth:
    """One synthesized HfCroissant stack: the assertions Template, its JSON and the construct."""

    def __init__(self, **overrides: Any) -> None:
        from aws_cdk.assertions import Template

        stack_module = cdk_stack_module()
        started = time.perf_counter()
        # Hermetic: no account/region from the CLI's environment, so no AWS lookups.
        saved = {
            k: os.environ.pop(k)
            for k in ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION")
            if k in os.environ
        }
        try:
            app, self.image_stack, self.stack = stack_module.build_app(cdk_context(**overrides))
        finally:
            os.environ.update(saved)
        self.app = app
        self.template = Template.from_stack(self.stack)
        self.image_template = Template.from_stack(self.image_stack)
        self.seconds = time.perf_counter() - started
        self.json: dict[str, Any] = self.template.to_json()
        self.resources: dict[str, dict[str, Any]] = self.json["Resources"]
        self.module = stack_module

    def logical_id(self, construct: Any) -> str:
        child = construct.node.default_child or construct
        return self.stack.resolve(child.logical_id)

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.resources.items() if r["Type"] == kind}

    def task_definitions(self) -> dict[str, dict[str, Any]]:
        """Family -> the task definition's properties."""
        return {
            r["Properties"]["Family"]: r["Properties"]
            for r in self.of_type("AWS::ECS::TaskDefinition").values()
        }

    def container(self, family_suffix: str) -> dict[str, Any]:
        (props,) = [p for f, p in self.task_definitions().items() if f.endswith(family_suffix)]
        (container,) = props["ContainerDefinitions"]
        return container

    def task_role_ids(self) -> dict[str, str]:
        """Family -> logical id of the task role."""
        return {
            family: props["TaskRoleArn"]["Fn::GetAtt"][0]
            for family, props in self.task_definitions().items()
        }

    def statements_of_role(self, role_id: str) -> list[dict[str, Any]]:
        role = self.resources[role_id]["Properties"]
        assert not role.get("ManagedPolicyArns"), f"{role_id} has managed policies"
        statements = [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
        for policy in self.of_type("AWS::IAM::Policy").values():
            if {"Ref": role_id} in policy["Properties"]["Roles"]:
                statements += policy["Properties"]["PolicyDocument"]["Statement"]
        return statements

    def allow_statements(self) -> list[tuple[str, dict[str, Any]]]:
        """(logical id of the policy or role, statement) of every Allow statement."""
        found = []
        for logical_id, policy in self.of_type("AWS::IAM::Policy").items():
            found += [(logical_id, s) for s in policy["Properties"]["PolicyDocument"]["Statement"]]
        for logical_id, role in self.of_type("AWS::IAM::Role").items():
            for policy in role["Properties"].get("Policies", []):
                found += [(logical_id, s) for s in policy["PolicyDocument"]["Statement"]]
        return [(i, s) for i, s in found if s.get("Effect", "Allow") == "Allow"]


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["Name"]: e["Value"] for e in container.get("Environment", [])}


def secrets_of(container: dict[str, Any]) -> dict[str, Any]:
    return {s["Name"]: s["ValueFrom"] for s in container.get("Secrets", [])}


def listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
