"""AthenaClient: the SQL it sends parses as Athena SQL, its polling, its errors, real boto3 shapes.

Nothing here talks to AWS: a botocore `Stubber` on a real boto3 client checks request and
response shapes against the service model, moto's in-process Athena accepts the calls end to end,
and a recording fake captures the statements.
"""

from __future__ import annotations

import logging
from datetime import datetime

import boto3
import pytest
import requests
import sqlglot
from botocore.stub import Stubber
from moto import mock_aws
from sqlglot import exp

from hf_croissant_assets.schema import TABLES
from hf_croissant_assets.warehouse import athena_client as athena
from hf_croissant_assets.warehouse.athena_client import (
    AthenaClient,
    AthenaConfigError,
    AthenaError,
)
from hf_croissant_assets.warehouse.athena_ddl import add_partition_sql, create_table_sql

DB = "hf_croissant"
LAKE = "s3://lake-bucket/lake"
OUTPUT = "s3://athena-results/queries/"
D = "2026-11-20"
REGION = "us-east-1"


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch, tmp_path):
    """Fake credentials, no profile/config file, no endpoint override: nothing can reach AWS."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_ATHENA",
        "AWS_ENDPOINT_URL_S3",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


class RecordingClient:
    """Stands in for boto3's Athena client: records every request, every query succeeds."""

    def __init__(self) -> None:
        self.requests: list[dict] = []

    def start_query_execution(self, **kwargs):
        self.requests.append(kwargs)
        return {"QueryExecutionId": f"q-{len(self.requests)}"}

    def get_query_execution(self, QueryExecutionId):
        return {
            "QueryExecution": {
                "QueryExecutionId": QueryExecutionId,
                "Status": {"State": "SUCCEEDED"},
            }
        }

    @property
    def sql(self) -> list[str]:
        return [r["QueryString"] for r in self.requests]


class NoAWS:
    """Any use of this client fails the test: validation must happen before AWS is called."""

    def __getattr__(self, name):
        raise AssertionError(f"AWS was called ({name}) before the configuration was validated")


def recording(**kwargs) -> tuple[AthenaClient, RecordingClient]:
    fake = RecordingClient()
    settings = {"region": REGION, "database": DB, "output_location": OUTPUT} | kwargs
    return AthenaClient(**settings, client=fake), fake


def stubbed(**kwargs) -> tuple[AthenaClient, Stubber]:
    client = boto3.client("athena", region_name=REGION)
    settings = {
        "region": REGION,
        "workgroup": "analytics",
        "database": DB,
        "output_location": OUTPUT,
        "poll_interval_s": 0.001,
    } | kwargs
    return AthenaClient(**settings, client=client), Stubber(client)


def execution(query_id: str, state: str, reason: str | None = None, message: str | None = None):
    status: dict = {"State": state, "SubmissionDateTime": datetime(2026, 11, 20, 1, 0)}
    if reason:
        status["StateChangeReason"] = reason
    if message:
        status["AthenaError"] = {"ErrorCategory": 2, "ErrorType": 1000, "ErrorMessage": message}
    return {"QueryExecution": {"QueryExecutionId": query_id, "Status": status}}


def tblproperties(ddl: str) -> dict[str, str]:
    parsed = sqlglot.parse_one(ddl, read="athena")
    return {
        p.name: p.args["value"].this
        for p in parsed.find_all(exp.Property)
        if type(p) is exp.Property
    }


# -- the statements sent ---------------------------------------------------------------------


def test_setup_with_projection_sends_parseable_ddl_with_projection_properties():
    client, fake = recording()
    statements = client.setup(LAKE, sorted(TABLES), projection=True, start_date="2026-01-01")

    assert fake.sql == statements and len(statements) == 1 + len(TABLES)
    for sql in fake.sql:
        sqlglot.parse_one(sql, read="athena")
        assert "MSCK" not in sql.upper()
    create_db, *tables = fake.requests
    assert create_db["QueryString"] == f"CREATE DATABASE IF NOT EXISTS `{DB}`"
    assert "QueryExecutionContext" not in create_db  # the database does not exist yet
    for request in fake.requests:
        assert request["WorkGroup"] == "primary"
        assert request["ResultConfiguration"] == {"OutputLocation": OUTPUT}

    for request, table in zip(tables, sorted(TABLES), strict=True):
        assert request["QueryExecutionContext"] == {"Database": DB}
        ddl = request["QueryString"]
        # derived from schema.py through the existing function, not retyped
        assert ddl == create_table_sql(table, f"{LAKE}/{table}/", database=DB, projection=True)
        parsed = sqlglot.parse_one(ddl, read="athena")
        assert parsed.find(exp.LocationProperty).this.this == f"{LAKE}/{table}/"
        assert "PARTITIONED BY (`date` date)" in ddl
        props = tblproperties(ddl)
        assert props["projection.enabled"] == "true"
        assert props["projection.date.type"] == "date"
        assert props["projection.date.format"] == "yyyy-MM-dd"
        start, end = props["projection.date.range"].split(",")
        assert (start, end) == ("2026-01-01", "NOW")
        assert props["storage.location.template"] == f"{LAKE}/{table}/date=${{date}}/"
        assert props["storage.location.template"].endswith("date=${date}/")


def test_start_date_reaches_the_projection_range():
    client, _ = recording()
    ddl = client.statements_for_setup(LAKE, ["hf_croissant"], projection=True, start_date=D)[1]
    assert tblproperties(ddl)["projection.date.range"] == f"{D},NOW"


def test_without_projection_setup_has_no_projection_and_register_day_adds_one_partition():
    client, fake = recording()
    statements = client.setup(LAKE, sorted(TABLES), projection=False)
    for ddl in statements[1:]:
        sqlglot.parse_one(ddl, read="athena")
        assert "projection." not in ddl and "storage.location.template" not in ddl
        assert "PARTITIONED BY (`date` date)" in ddl

    fake.requests.clear()
    added = client.register_day(LAKE + "/", sorted(TABLES), D, projection=False)
    assert fake.sql == added and len(added) == len(TABLES)
    for sql, table in zip(added, sorted(TABLES), strict=True):
        assert sql == add_partition_sql(table, D, f"{LAKE}/{table}", database=DB)
        assert sql.startswith(f"ALTER TABLE `{DB}`.`{table}` ADD IF NOT EXISTS PARTITION")
        assert sql.endswith(f"LOCATION '{LAKE}/{table}/date={D}/'")
        parsed = sqlglot.parse_one(sql, read="athena")
        assert isinstance(parsed, exp.Alter) and parsed.find(exp.AddPartition).args["exists"]
    assert all("MSCK" not in sql.upper() for sql in statements + added)


def test_register_day_with_projection_sends_nothing():
    client, fake = recording()
    assert client.register_day(LAKE, sorted(TABLES), D, projection=True) == []
    assert fake.requests == []


def test_statements_for_setup_alone_calls_no_aws():
    client = AthenaClient(region=REGION, database=DB, output_location=None, client=NoAWS())
    statements = client.statements_for_setup(
        LAKE, sorted(TABLES), projection=True, start_date="2026-01-01"
    )
    assert len(statements) == 1 + len(TABLES)


def test_no_output_location_means_no_result_configuration():
    client, fake = recording(output_location=None, workgroup="analytics.v2")
    client.execute("SELECT 1")
    assert fake.requests == [
        {
            "QueryString": "SELECT 1",
            "WorkGroup": "analytics.v2",
            "QueryExecutionContext": {"Database": DB},
        }
    ]


# -- polling and errors, on a real boto3 client with botocore's Stubber ------------------------


def test_polls_queued_running_succeeded_and_returns_the_id(caplog):
    client, stub = stubbed()
    sql = "SELECT 1\nFROM somewhere"
    stub.add_response(
        "start_query_execution",
        {"QueryExecutionId": "qid-1"},
        {
            "QueryString": sql,
            "WorkGroup": "analytics",
            "QueryExecutionContext": {"Database": DB},
            "ResultConfiguration": {"OutputLocation": OUTPUT},
        },
    )
    for state in ("QUEUED", "RUNNING", "SUCCEEDED"):
        stub.add_response(
            "get_query_execution", execution("qid-1", state), {"QueryExecutionId": "qid-1"}
        )
    with stub, caplog.at_level(logging.INFO, logger=athena.__name__):
        assert client.execute(sql) == "qid-1"
    stub.assert_no_pending_responses()
    logged = caplog.text
    assert "qid-1" in logged and "SELECT 1" in logged and "succeeded" in logged
    assert "FROM somewhere" not in logged  # the first line only
    assert "testing" not in logged  # no credentials


def test_failed_query_raises_athenas_reason():
    client, stub = stubbed()
    stub.add_response("start_query_execution", {"QueryExecutionId": "qid-2"})
    stub.add_response("get_query_execution", execution("qid-2", "RUNNING"))
    stub.add_response(
        "get_query_execution",
        execution(
            "qid-2",
            "FAILED",
            reason="line 1:8: Column 'nope' cannot be resolved",
            message="COLUMN_NOT_FOUND: line 1:8",
        ),
    )
    with stub, pytest.raises(AthenaError) as info:
        client.execute("SELECT nope FROM hf_datasets\nWHERE 1 = 1")
    message = str(info.value)
    assert "Column 'nope' cannot be resolved" in message
    assert "COLUMN_NOT_FOUND" in message
    assert "qid-2" in message and "SELECT nope FROM hf_datasets" in message
    assert "WHERE" not in message
    assert info.value.query_id == "qid-2" and info.value.state == "FAILED"
    stub.assert_no_pending_responses()


def test_cancelled_query_raises_with_its_reason():
    client, stub = stubbed()
    stub.add_response("start_query_execution", {"QueryExecutionId": "qid-3"})
    stub.add_response(
        "get_query_execution", execution("qid-3", "CANCELLED", reason="Query cancelled by user")
    )
    with stub, pytest.raises(AthenaError, match="CANCELLED: Query cancelled by user") as info:
        client.execute("SELECT 1")
    assert info.value.state == "CANCELLED" and "qid-3" in str(info.value)


def test_query_stuck_running_is_stopped_at_the_timeout(monkeypatch):
    clock = {"t": 1000.0}
    monkeypatch.setattr(athena, "_now", lambda: clock["t"])
    monkeypatch.setattr(athena, "_sleep", lambda s: clock.__setitem__("t", clock["t"] + s))
    client, stub = stubbed(poll_interval_s=1.0, timeout_s=3.0)
    stub.add_response("start_query_execution", {"QueryExecutionId": "qid-4"})
    for _ in range(4):  # t = 0, 1, 2, 3 s: still running at the deadline
        stub.add_response(
            "get_query_execution", execution("qid-4", "RUNNING"), {"QueryExecutionId": "qid-4"}
        )
    stub.add_response("stop_query_execution", {}, {"QueryExecutionId": "qid-4"})
    with stub, pytest.raises(AthenaError, match=r"did not finish within 3 s \(query id qid-4"):
        client.execute("SELECT slow FROM hf_croissant")
    stub.assert_no_pending_responses()
    assert clock["t"] == 1003.0


def test_timeout_error_survives_a_failing_stop(monkeypatch):
    clock = {"t": 0.0}
    monkeypatch.setattr(athena, "_now", lambda: clock["t"])
    monkeypatch.setattr(athena, "_sleep", lambda s: clock.__setitem__("t", clock["t"] + s))
    client, stub = stubbed(poll_interval_s=5.0, timeout_s=2.0)
    stub.add_response("start_query_execution", {"QueryExecutionId": "qid-5"})
    stub.add_response("get_query_execution", execution("qid-5", "QUEUED"))
    stub.add_response("get_query_execution", execution("qid-5", "QUEUED"))
    stub.add_client_error("stop_query_execution", "InternalServerException", "try later", 500)
    with stub, pytest.raises(AthenaError, match="did not finish within 2 s"):
        client.execute("SELECT 1")
    stub.assert_no_pending_responses()
    assert clock["t"] == 2.0  # the sleep is cut to the deadline


def test_client_error_on_start_names_the_workgroup_and_database():
    client, stub = stubbed(workgroup="no_such_wg")
    stub.add_client_error(
        "start_query_execution",
        service_error_code="InvalidRequestException",
        service_message="WorkGroup no_such_wg is not found.",
        http_status_code=400,
    )
    with stub, pytest.raises(AthenaError) as info:
        client.execute("SELECT 1")
    message = str(info.value)
    assert "workgroup 'no_such_wg'" in message and f"database '{DB}'" in message
    assert "InvalidRequestException" in message and "is not found" in message


def test_count_rows_sends_a_parseable_count_and_returns_the_int():
    client, stub = stubbed()
    sql = f'SELECT count(*) FROM "{DB}"."hf_datasets" WHERE "date" = DATE \'{D}\''
    stub.add_response(
        "start_query_execution",
        {"QueryExecutionId": "qid-6"},
        {
            "QueryString": sql,
            "WorkGroup": "analytics",
            "QueryExecutionContext": {"Database": DB},
            "ResultConfiguration": {"OutputLocation": OUTPUT},
        },
    )
    stub.add_response("get_query_execution", execution("qid-6", "SUCCEEDED"))
    stub.add_response(
        "get_query_results",
        {
            "ResultSet": {
                "Rows": [
                    {"Data": [{"VarCharValue": "_col0"}]},
                    {"Data": [{"VarCharValue": "1234"}]},
                ]
            }
        },
        {"QueryExecutionId": "qid-6"},
    )
    with stub:
        assert client.count_rows("hf_datasets", D) == 1234
    stub.assert_no_pending_responses()
    parsed = sqlglot.parse_one(sql, read="athena")
    assert parsed.find(exp.Table).name == "hf_datasets" and parsed.find(exp.Cast)


def test_fetch_rows_follows_pages_and_skips_only_the_header():
    client, stub = stubbed()

    def page(rows, token=None):
        body = {"ResultSet": {"Rows": [{"Data": [{"VarCharValue": v} for v in r]} for r in rows]}}
        return body | ({"NextToken": token} if token else {})

    stub.add_response(
        "get_query_results", page([["license", "n"], ["mit", "3"]], "t1"), {"QueryExecutionId": "q"}
    )
    stub.add_response(
        "get_query_results",
        {"ResultSet": {"Rows": [{"Data": [{"VarCharValue": "apache-2.0"}, {}]}]}},
        {"QueryExecutionId": "q", "NextToken": "t1"},
    )
    with stub:
        assert client.fetch_rows("q") == [("mit", "3"), ("apache-2.0", None)]


# -- moto: real boto3 requests, end to end -----------------------------------------------------


@mock_aws
def test_setup_end_to_end_on_moto():
    client = AthenaClient(
        region=REGION, database=DB, output_location=OUTPUT, poll_interval_s=0.001, timeout_s=5
    )
    statements = client.setup(LAKE, sorted(TABLES))
    assert client.register_day(LAKE, sorted(TABLES), D, projection=False) == [
        add_partition_sql(t, D, f"{LAKE}/{t}", database=DB) for t in sorted(TABLES)
    ]

    raw = boto3.client("athena", region_name=REGION)
    # moto parsed our CREATE DATABASE and created it in its catalog
    assert raw.get_database(CatalogName="AwsDataCatalog", DatabaseName=DB)["Database"]["Name"] == DB
    ids = raw.list_query_executions(WorkGroup="primary")["QueryExecutionIds"]
    sent = [raw.get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in ids]
    assert [q["Query"] for q in sent][: len(statements)] == statements
    assert len(sent) == len(statements) + len(TABLES)
    assert all(q["Status"]["State"] == "SUCCEEDED" for q in sent)
    assert all(q["ResultConfiguration"]["OutputLocation"].startswith(OUTPUT) for q in sent)
    assert all(q["QueryExecutionContext"] == {"Database": DB} for q in sent[1:])


@mock_aws
def test_unknown_workgroup_on_moto_is_an_athena_error_naming_it():
    client = AthenaClient(region=REGION, workgroup="missing_wg", database=DB, output_location=None)
    with pytest.raises(AthenaError, match="workgroup 'missing_wg'"):
        client.execute("SELECT 1")


@mock_aws
def test_count_rows_on_moto():
    client = AthenaClient(region=REGION, database=DB, output_location=None, poll_interval_s=0.001)
    # moto runs no SQL: its results are canned. Empty by default...
    with pytest.raises(AthenaError, match="returned no count"):
        client.count_rows("hf_croissant", D)
    # ...or queued through moto's documented API.
    response = requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/athena/query-results",
        json={
            "region": REGION,
            "results": [
                {
                    "rows": [
                        {"Data": [{"VarCharValue": "_col0"}]},
                        {"Data": [{"VarCharValue": "42"}]},
                    ],
                    "column_info": [{"Name": "_col0", "Type": "bigint"}],
                }
            ],
        },
        timeout=5,
    )
    assert response.status_code == 201
    assert client.count_rows("hf_croissant", D) == 42


# -- bad configuration fails before any AWS call, naming the setting ---------------------------


@pytest.fixture
def no_boto3(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a boto3 client was created before the configuration was validated")

    monkeypatch.setattr(boto3, "client", refuse)


BAD_VALUES = [
    ({"database": "bad-name; drop"}, "athena_database", "HF_CROISSANT_ATHENA_DATABASE"),
    ({"database": "hf`croissant"}, "athena_database", "HF_CROISSANT_ATHENA_DATABASE"),
    ({"database": "Hf_Croissant"}, "athena_database", "HF_CROISSANT_ATHENA_DATABASE"),
    ({"output_location": "http://x"}, "athena_output", "HF_CROISSANT_ATHENA_OUTPUT"),
    ({"output_location": "s3://"}, "athena_output", "HF_CROISSANT_ATHENA_OUTPUT"),
    ({"output_location": "s3://results/x'; drop"}, "athena_output", "HF_CROISSANT_ATHENA_OUTPUT"),
    ({"workgroup": "bad-name; drop"}, "athena_workgroup", "HF_CROISSANT_ATHENA_WORKGROUP"),
    ({"workgroup": ""}, "athena_workgroup", "HF_CROISSANT_ATHENA_WORKGROUP"),
    ({"region": "not a region"}, "aws_region", "AWS_REGION"),
]


@pytest.mark.parametrize(("values", "field", "variable"), BAD_VALUES)
def test_bad_values_fail_at_construction_naming_the_parameter(no_boto3, values, field, variable):
    kwargs = {"region": REGION, "database": DB, "output_location": OUTPUT} | values
    (parameter,) = values
    with pytest.raises(AthenaConfigError, match=parameter):
        AthenaClient(**kwargs)
    with pytest.raises(ValueError):  # AthenaConfigError is a ValueError
        AthenaClient(**kwargs)


@pytest.mark.parametrize(("values", "field", "variable"), BAD_VALUES)
def test_bad_settings_fail_naming_the_variable(no_boto3, values, field, variable):
    from hf_croissant_assets.settings import SettingError, Settings

    env = {"HF_CROISSANT_LAKE": LAKE, "HF_CROISSANT_ATHENA_DATABASE": DB, variable: "x"}
    env[variable] = next(iter(values.values())) or " "
    if env[variable].strip() == "":
        # An empty variable counts as unset; the empty workgroup is refused at construction.
        return
    with pytest.raises(SettingError, match=f"^{variable}="):
        Settings.from_env(env)


@pytest.mark.parametrize(
    "lake",
    [
        "s3://b/x'; drop",
        "s3://lake-bucket/x'; drop",
        "s3://lake-bucket/x`y",
        "s3://lake-bucket/x;y",
        "s3://lake-bucket/la ke",
        "s3:///lake",
        "http://lake-bucket/lake",
        "./data/lake",
    ],
)
def test_bad_lake_prefix_fails_before_any_aws_call(no_boto3, lake):
    client = AthenaClient(region=REGION, database=DB, output_location=None, client=NoAWS())
    with pytest.raises(AthenaConfigError, match="lake"):
        client.statements_for_setup(lake, ["hf_datasets"], projection=True, start_date=D)
    with pytest.raises(AthenaConfigError, match="lake"):
        client.setup(lake, ["hf_datasets"])
    with pytest.raises(AthenaConfigError, match="lake"):
        client.register_day(lake, ["hf_datasets"], D, projection=False)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.count_rows("bad-name; drop", D),
        lambda c: c.count_rows("not_a_lake_table", D),
        lambda c: c.count_rows("hf_datasets", "2026-02-30"),
        lambda c: c.count_rows("hf_datasets", "2026-01-01' OR '1'='1"),
        lambda c: c.register_day(LAKE, ["hf_datasets"], "yesterday", projection=False),
        lambda c: c.setup(LAKE, ["hf_datasets"], start_date="2026-1-1"),
        lambda c: c.setup(LAKE, ["hf_datasets; drop"]),
        lambda c: c.execute("SELECT 1", database="bad-name; drop"),
    ],
)
def test_bad_names_and_dates_fail_before_any_aws_call(call):
    client = AthenaClient(region=REGION, database=DB, output_location=None, client=NoAWS())
    with pytest.raises(ValueError):
        call(client)


def test_client_is_made_lazily_and_a_missing_region_names_aws_region(monkeypatch):
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    client = AthenaClient(region=None, database=DB, output_location=None)  # no boto3 call yet
    with pytest.raises(AthenaConfigError, match="AWS_REGION"):
        client.execute("SELECT 1")
