"""The alert's link goes to the smoke-test view; a deadline's alert (the triggerer's context: the run as JSON) posts
through the async path to a real local HTTP receiver."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from mm2_smoke import notifiers
from mm2_smoke.notifiers import AlertNotifier, alert_payload, deadline_applies, view_url, webhook_url
from tests.support.webhook import AlertReceiver

RUN = "manual__2026-12-02T17:39:12.070130+00:00"
# What Deadline.handle_miss gives the callback: the run as the REST API's JSON, and the deadline.
DEADLINE_CONTEXT = {"dag_run": {"dag_id": "mm2_smoke_test", "dag_run_id": RUN, "state": "running",
                                "queued_at": "2026-12-02T17:39:12.129483Z", "conf": {"deadline_minutes": 0.2}},
                    "deadline": {"id": "x", "deadline_time": "2026-12-02 17:39:24.129483+00:00"}}


def test_the_alerts_url_is_the_runs_view_and_the_airflow_page_is_beside_it(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MM2_SMOKE_REPORT_DIR", str(tmp_path))
    run = SimpleNamespace(dag_id="mm2_smoke_test", run_id=RUN)
    payload = alert_payload({"dag_run": run}, "failure")
    assert payload["url"] == view_url("mm2_smoke_test", RUN)
    assert "/mm2-smoke/dags/mm2_smoke_test/runs/manual__2026-12-02T17%3A39%3A12.070130%2B00%3A00" in payload["url"]
    assert payload["airflow_url"].endswith("/dags/mm2_smoke_test/runs/manual__2026-12-02T17%3A39%3A12.070130%2B00%3A00")
    assert payload["verdict"] == "FAILED" and payload["text"].endswith(payload["url"])


def test_deadline_payload_from_the_triggerers_context() -> None:
    p = alert_payload(DEADLINE_CONTEXT, "deadline")
    assert p["verdict"] == "LATE" and p["kind"] == "deadline" and p["run_id"] == RUN and p["state"] == "running"
    assert p["text"].startswith(f"MM2 smoke test LATE: mm2_smoke_test run {RUN} is still running at its deadline")
    assert "deadline_minutes=0.2" in p["text"] and p["url"] == view_url("mm2_smoke_test", RUN)


def test_awaited_notifier_posts_the_deadline_alert_without_blocking_calls(monkeypatch) -> None:
    with AlertReceiver() as rx:
        async def aget_connection(conn_id: str):
            assert conn_id == "alert_webhook"
            return SimpleNamespace(host="127.0.0.1", schema="http", port=rx.port, login=None, password=None,
                                   extra_dejson={})

        def no_sync_lookup(*_a, **_k):
            raise AssertionError("a synchronous connection lookup in the triggerer")

        from airflow.sdk import BaseHook

        monkeypatch.setattr(BaseHook, "aget_connection", staticmethod(aget_connection))
        monkeypatch.setattr(BaseHook, "get_connection", staticmethod(no_sync_lookup))

        async def as_the_triggerer_does() -> None:  # CallbackTrigger: await callback(**kwargs, context=context)
            await AlertNotifier(kind="deadline", context=DEADLINE_CONTEXT)

        asyncio.run(as_the_triggerer_does())
        _, body = rx.wait_for(lambda b: True, 5)
    assert body["verdict"] == "LATE" and body["run_id"] == RUN


@pytest.mark.parametrize(("host", "schema", "port", "url"), [
    ("127.0.0.1", "http", 8080, "http://127.0.0.1:8080"), ("hooks.example", None, None, "http://hooks.example"),
    ("https://hooks.example/x", "http", 9, "https://hooks.example/x")])
def test_webhook_url_as_the_http_hook_builds_it(host, schema, port, url) -> None:
    assert webhook_url(host, schema, port) == url


def test_module_keeps_its_public_names() -> None:
    assert {"AlertNotifier", "LogNotifier", "WebhookNotifier", "alert_payload"} <= set(dir(notifiers))


def test_a_run_finished_before_its_deadline_is_not_announced_late(monkeypatch) -> None:
    # Airflow 3.3 keeps a failed run's deadline (it prunes them on success only): a NOGO run, already alerted by the
    # failure callback, must not be announced LATE when its deadline passes.
    finished = {**DEADLINE_CONTEXT, "dag_run": {**DEADLINE_CONTEXT["dag_run"], "state": "failed"}}
    assert deadline_applies(DEADLINE_CONTEXT) and not deadline_applies(finished)
    assert deadline_applies({"dag_run": {"state": "queued"}})

    from airflow.sdk import BaseHook

    async def aget_connection(conn_id: str):
        raise AssertionError("no alert, so no connection lookup")

    monkeypatch.setattr(BaseHook, "aget_connection", staticmethod(aget_connection))

    async def awaited() -> None:
        await AlertNotifier(kind="deadline", context=finished)

    asyncio.run(awaited())
