"""Alerts: the run-status sensors post one Slack-compatible message per produced day (with the
right counts, the watch list honoured) and one per failed run, to a receiver on loopback; the
webhook URL never appears in a message, a log line or an error."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date as Date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyarrow as pa
import pytest
from dagster import DagsterInstance, build_run_status_sensor_context, materialize

from hf_croissant_assets.definitions import build_definitions
from hf_croissant_assets.defs.alerts import AlertResource, build_alert_sensors, produced_days
from hf_croissant_assets.defs.resources import LakeResource
from hf_croissant_assets.lake.store import LakeStore
from hf_croissant_assets.report.alerts import AlertError, day_message, parse_watch, post
from hf_croissant_assets.schema import HF_CROISSANT, HF_DATASETS
from hf_croissant_assets.settings import SettingError, Settings
from hf_croissant_assets_tests.support import hf_dataset_changes

SECRET = "T000/B000/s3cr3t-token"
D0, D1, D3 = "2026-11-01", "2026-11-02", "2026-11-04"

#: Each day's datasets: id -> (license, croissant status).
DAYS = {
    D0: {"a/one": ("mit", 200), "a/two": ("mit", 400), "b/three": ("mit", 400)},
    D1: {"a/one": ("apache-2.0", 200), "a/two": ("mit", 200), "b/four": ("mit", 400)},
    D3: {"a/one": ("apache-2.0", 200), "a/two": ("mit", 200), "b/four": ("cc0-1.0", 400),
         "b/five": (None, 200)},
}  # fmt: skip
#: What hf_dataset_changes must say on each day (kind -> count), all and for the watch "b".
EXPECTED = {
    D0: {},
    D1: {"created": 1, "deleted": 1, "license_changed": 1, "croissant_appeared": 1},
    D3: {"created": 1, "license_changed": 1},
}
EXPECTED_B = {D0: {}, D1: {"created": 1, "deleted": 1}, D3: {"created": 1, "license_changed": 1}}


class Receiver:
    """A webhook on 127.0.0.1 that records every JSON body it is sent."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.paths: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                outer.bodies.append(json.loads(self.rfile.read(length)))
                outer.paths.append(self.path)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/{SECRET}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _write_day(store: LakeStore, date: str) -> None:
    rows = DAYS[date]
    ids = sorted(rows)
    store.write_table("hf_datasets", date, pa.Table.from_pylist(
        [{"dataset": d, "license": rows[d][0], "sha": "x", "gated": "false"} for d in ids],
        schema=HF_DATASETS))  # fmt: skip
    store.write_table("hf_croissant", date, pa.Table.from_pylist(
        [{"dataset": d, "status": rows[d][1], "request_time": date} for d in ids],
        schema=HF_CROISSANT))  # fmt: skip


def _counts(text: str) -> dict[str, int]:
    line = text.splitlines()[1]
    if line == "no changes":
        return {}
    return {k: int(v) for k, v in (part.split(": ") for part in line.split(", "))}


def _evaluate(sensor, instance, result, alerts, lake, failure=False):
    event = result.get_run_failure_event() if failure else result.get_run_success_event()
    context = build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=event,
        resources={"alerts": alerts, "lake": lake},
    )
    return sensor(context.for_run_failure() if failure else context)


def test_one_message_per_produced_day_with_the_right_counts(tmp_path, receiver, caplog):
    store = LakeStore(str(tmp_path / "lake"))
    lake = LakeResource(uri=store.uri)
    success_sensor, _ = build_alert_sensors()
    instance = DagsterInstance.ephemeral()
    everything = AlertResource(webhook_url=receiver.url)
    watched = AlertResource(webhook_url=receiver.url, watch="b")
    for date in (D0, D1, D3):  # D2 is missing: D3 is compared with D1
        _write_day(store, date)
        result = materialize(
            [hf_dataset_changes], partition_key=date, resources={"lake": lake}, instance=instance
        )
        assert produced_days(instance, result.run_id) == [date]
        _evaluate(success_sensor, instance, result, everything, lake)
        _evaluate(success_sensor, instance, result, watched, lake)

    texts = [b["text"] for b in receiver.bodies]
    assert len(texts) == 6  # one per produced day, for each subscription
    for i, date in enumerate((D0, D1, D3)):
        full, only_b = texts[2 * i], texts[2 * i + 1]
        assert full.startswith(f"Hub datasets {date}: {sum(EXPECTED[date].values())} change(s)")
        assert _counts(full) == EXPECTED[date]
        assert _counts(only_b) == EXPECTED_B[date] and "(watching b)" in only_b
        assert all(line.startswith("• b/") for line in only_b.splitlines()[2:])
    assert "since 2026-11-02" in texts[4]  # the gap: compared with the newest earlier day
    assert "(first snapshot)" in texts[0]
    assert "• a/one license_changed mit -> apache-2.0" in texts[2]
    assert SECRET not in "".join(texts) + caplog.text


def test_a_failed_run_posts_a_failure_message(tmp_path, receiver, caplog):
    lake = LakeResource(uri=str(tmp_path / "empty-lake"))
    _, failure_sensor = build_alert_sensors()
    instance = DagsterInstance.ephemeral()
    result = materialize(
        [hf_dataset_changes],
        partition_key=D1,
        resources={"lake": lake},
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    _evaluate(failure_sensor, instance, result, AlertResource(webhook_url=receiver.url), lake,
              failure=True)  # fmt: skip
    assert len(receiver.bodies) == 1
    text = receiver.bodies[0]["text"]
    job = result.dagster_run.job_name
    assert text.startswith(f"Run FAILED: {job} for {D1} (run {result.run_id})")
    assert "hf_dataset_changes: FileNotFoundError: " in text and "no hf_datasets partition" in text
    assert SECRET not in text + caplog.text


def test_errors_never_show_the_url(receiver):
    closed = receiver.url.replace(str(receiver.server.server_port), "9")  # nothing listens
    with pytest.raises(AlertError) as info:
        post(closed, {"text": "x"}, timeout_s=2)
    assert SECRET not in str(info.value)
    with pytest.raises(AlertError, match="not an http"):
        post(f"ftp://example/{SECRET}", {"text": "x"})


def test_messages_neutralise_untrusted_text():
    from hf_croissant_assets.report.alerts import DaySummary

    summary = DaySummary(D1, D0, {"created": 1}, [("<!channel>/x", "created", None, "a\nb")], [])
    text = day_message(summary)["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text


def test_settings_and_definitions(monkeypatch, receiver, tmp_path):
    assert parse_watch(" a/b , org ") == ["a/b", "org"]
    with pytest.raises(SettingError, match="HF_CROISSANT_ALERT_WATCH"):
        Settings.from_env({"HF_CROISSANT_ALERT_WATCH": "a/b/c"})
    with pytest.raises(SettingError) as info:
        Settings.from_env({"HF_CROISSANT_ALERT_WEBHOOK_URL": receiver.url,
                           "HF_CROISSANT_SCHEDULE_HOUR": "99"})  # fmt: skip
    assert SECRET not in str(info.value)
    # without a URL: no alert sensors; with one, both, and the URL stays an EnvVar
    plain = build_definitions(Settings.build(lake=str(tmp_path)))
    assert not list(plain.sensors or [])
    settings = Settings.from_env({"HF_CROISSANT_ALERT_WEBHOOK_URL": receiver.url,
                                  "HF_CROISSANT_LAKE": str(tmp_path)})  # fmt: skip
    assert SECRET not in repr(settings)
    defs = build_definitions(settings)
    assert {s.name for s in defs.sensors or []} == {
        "changes_alert_sensor",
        "run_failure_alert_sensor",
    }
    resource = (defs.resources or {})["alerts"]
    assert SECRET not in repr(resource)
    # the daily tables carry the freshness policy
    graph = defs.resolve_asset_graph()
    for table in ("hf_datasets", "hf_croissant", "hf_dataset_changes"):
        policy = graph.get(__import__("dagster").AssetKey(table)).freshness_policy
        assert policy is not None and policy.deadline_cron == "0 23 * * *"
    assert Date.fromisoformat(D3) > Date.fromisoformat(D1)
