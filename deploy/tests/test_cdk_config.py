"""The CDK app's settings (CDK context): validated before any construct is built, each error
naming the context key. Plain Python: no Node.js needed."""

from __future__ import annotations

import re

import pytest
from deploy_support import cdk_config_module, cdk_context

CERTIFICATE_ARN = "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c"


def _config(**overrides):
    config = cdk_config_module()
    return config.DeployConfig.from_context(cdk_context(**overrides).get)


def _refused(message: str, **overrides) -> str:
    config = cdk_config_module()
    with pytest.raises(config.ContextError, match=re.escape(message)) as caught:
        config.DeployConfig.from_context(cdk_context(**overrides).get)
    return str(caught.value)


def test_the_default_context_is_valid():
    config = _config()
    assert config.stack_name == "HfCroissant" and config.image_stack_name == "HfCroissantImage"
    assert config.public_webserver is False and config.webserver_allowed_cidrs == ()


def test_public_webserver_without_an_allowed_network_is_refused():
    message = _refused("webserver_allowed_cidr", public_webserver="true")
    assert "public_webserver=true" in message and "/32" in message  # the fix


def test_public_webserver_without_a_certificate_is_refused():
    """No plain-HTTP UI on the internet: TLS is required."""
    message = _refused(
        "certificate_arn", public_webserver="true", webserver_allowed_cidr="203.0.113.7/32"
    )
    assert "public_webserver=true" in message and "HTTPS" in message


@pytest.mark.parametrize(
    "cidrs", ["0.0.0.0/0", "::/0", "203.0.113.7/32,0.0.0.0/0", ["2001:db8::/48", "::/0"]]
)
def test_an_allow_list_of_the_whole_internet_is_refused(cidrs):
    message = _refused(
        "webserver_allowed_cidr=",
        public_webserver="true",
        webserver_allowed_cidr=cidrs,
        certificate_arn=CERTIFICATE_ARN,
    )
    assert "admits the whole internet" in message and "203.0.113.7/32" in message  # the fix


def test_public_webserver_with_tls_and_narrow_networks_is_accepted():
    config = _config(
        public_webserver="true",
        webserver_allowed_cidr=" 203.0.113.7/32, 2001:db8::/48 ",
        certificate_arn=CERTIFICATE_ARN,
    )
    assert config.public_webserver is True
    assert config.webserver_allowed_cidrs == ("203.0.113.7/32", "2001:db8::/48")
    assert config.certificate_arn == CERTIFICATE_ARN
    # cdk.json may hold a JSON list instead
    listed = _config(
        public_webserver=True,
        webserver_allowed_cidr=["198.51.100.0/24"],
        certificate_arn=CERTIFICATE_ARN,
    )
    assert listed.webserver_allowed_cidrs == ("198.51.100.0/24",)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("schedule_hour", "24", "schedule_hour='24' must be 0..23"),
        ("glue_database", "Hf-Croissant", "glue_database"),
        ("lake_prefix", "a//b", "lake_prefix"),
        ("log_retention_days", "10", "log_retention_days=10"),
        ("run_memory_mib", "1000", "run_memory_mib=1000"),
        ("app_env", '{"HF_TOKEN": "hf_x"}', "HF_TOKEN is set by the stack"),
        ("app_env", '{"NOT_A_SETTING": "1"}', "not a setting of the app"),
        ("nat_gateways", "0", "nat_gateways=0"),
        ("webserver_allowed_cidr", "203.0.113.300/32", "is not a CIDR"),
        ("certificate_arn", "arn:aws:iam::123456789012:role/x", "certificate_arn"),
    ],
)
def test_bad_context_fails_synth_naming_the_key(key, value, message):
    _refused(message, **{key: value})
