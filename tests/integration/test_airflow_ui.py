"""The browser test: Airflow started as `make ui` starts it, the DAG unpaused and triggered over the REST API v2
with the Params' defaults, the run (real scheduler + triggerer) ends GO, and headless Chromium (Debian's, driven by
Playwright) shows its graph.

The screenshot and the page's DOM are saved in test-artifacts/ (CI keeps them).
"""

from __future__ import annotations

import json
import re
import struct
import time

import pytest

from mm2_smoke.report import safe_name
from mm2_stack.airflow_server import AirflowServer
from mm2_stack.config import REPO_ROOT
from tests.support.airflow_api import UI_VIEW_STORAGE_KEY, AirflowApi
from tests.support.browser import capture_page, require_chromium

pytestmark = pytest.mark.integration

ARTIFACTS = REPO_ROOT / "test-artifacts"
STEP_GROUPS = ("step_1_1_produce", "step_1_2_replication", "step_1_3_latency_baseline", "step_1_4_target_count")
WINDOW = (1600, 1000)
SCALE = 2  # a sharp PNG (3200 x 2000): the graph's labels readable when zoomed in


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def _why_not(api: AirflowApi, run_id: str, tis: dict[str, dict]) -> str:
    """Task states, the failed tasks' log tails, the run's event log and standalone's log tail, for an assertion
    message."""
    lines = [f"run {run_id}: " + json.dumps({k: t["state"] for k, t in tis.items()})]
    for task_id, ti in tis.items():
        if ti["state"] not in ("success", "skipped"):
            try:
                log = api.task_log(run_id, task_id, max(1, ti["try_number"]))
            except Exception as exc:  # best effort: for the message only
                log = f"(no log: {exc})"
            lines.append(f"--- {task_id} ({ti['state']}) log tail ---\n" + "\n".join(log.splitlines()[-40:]))
    try:  # the scheduler's side: e.g. "state mismatch" fails a task before it writes a log
        events = [f"{e.get('when')} {e.get('task_id') or '-'} try {e.get('try_number')}: {e.get('event')}"
                  f"{' ' + str(e['extra'])[:400] if e.get('extra') else ''}" for e in api.event_log(run_id)]
    except Exception as exc:  # best effort: for the message only
        events = [f"(no event log: {exc})"]
    lines.append("--- the run's event log ---\n" + "\n".join(events[-40:]))
    lines.append(f"--- {api.server.log_path} tail ---\n{api.server.log_tail(40)}")
    return "\n".join(lines)


def test_run_triggered_over_rest_api_ends_go_and_its_graph_shows_the_steps_succeeded(airflow_server: AirflowServer,
                                                                                   airflow_api: AirflowApi,
                                                                                   record_number) -> None:
    require_chromium()  # fails before the run, not after it, if Debian's chromium is missing
    server, api = airflow_server, airflow_api
    t_test = time.monotonic()

    assert server.unpause()["is_paused"] is False
    t0 = time.monotonic()
    run_id = api.trigger()  # conf {}: every Param's default
    state = api.wait_for_run(run_id, timeout_s=600)
    trigger_to_end = time.monotonic() - t0
    run = api.dag_run(run_id)
    tis = {t["task_id"]: t for t in api.task_instances(run_id)}
    states = {task_id: t["state"] for task_id, t in tis.items()}
    record_number(f"REST-triggered run under scheduler + triggerer: trigger -> {state} {trigger_to_end:.1f} s "
                  f"(run queued {run['queued_at']}, started {run['start_date']}, ended {run['end_date']})")

    # From the API: the run, every task of the four steps, and the verdict branch.
    assert state == "success", _why_not(api, run_id, tis)
    assert run["run_type"] == "manual" and run["conf"] == {}
    step_tasks = {task_id: s for task_id, s in states.items() if task_id.split(".")[0] in STEP_GROUPS}
    assert {task_id.split(".")[0] for task_id in step_tasks} == set(STEP_GROUPS), states
    assert set(step_tasks.values()) == {"success"}, _why_not(api, run_id, tis)
    assert states["checklist"] == states["verdict"] == states["go_for_phase_2"] == "success", states
    assert states["nogo"] == "skipped", states
    assert {s for task_id, s in states.items() if task_id.startswith("diagnose.")} == {"skipped"}, states
    report = json.loads((server.home / "reports" / f"{safe_name(run_id)}.json").read_text())
    assert report["verdict"] == "GO", report["failed_checks"]
    assert report["counts"]["delivered"] == report["counts"]["received"] == report["settings"]["num_messages"]

    # From the page: the run's page with the graph view (the UI keeps the view in local storage), logged in
    # with the admin's JWT cookie; each step's task group shown as succeeded.
    shot = ARTIFACTS / f"airflow_ui_graph_{re.sub(r'[^A-Za-z0-9_.-]', '_', run_id)}.png"
    capture = capture_page(
        api.run_url(run_id), shot, cookies=api.login_cookies(),
        local_storage={UI_VIEW_STORAGE_KEY: json.dumps("graph")},
        scope_selector=".react-flow", items_selector=".react-flow__node", items_key="data-id",
        wait_for_items={**{group: "success" for group in STEP_GROUPS}, "go_for_phase_2": "success"},
        window=WINDOW, scale=SCALE, timeout_s=90,
    )
    print(f"\nscreenshot of the run's graph: {shot}\n  DOM: {capture.html}\n  page: {capture.url}")
    record_number(f"browser: Chromium start -> graph shown -> screenshot {capture.seconds:.1f} s; screenshot "
                  f"{shot.relative_to(REPO_ROOT)} ({shot.stat().st_size // 1024} KiB)")
    png = shot.read_bytes()
    assert _png_size(png) == (WINDOW[0] * SCALE, WINDOW[1] * SCALE)
    assert len(png) > 30_000, f"{shot} is only {len(png)} bytes: a blank page?"
    assert not capture.missing, (f"the graph does not show {capture.missing}; nodes: {capture.items}; "
                                 f"page text: {capture.text[:2000]}")
    for group in STEP_GROUPS:
        shown = capture.items[group].splitlines()
        assert "Task Group" in shown and "success" in shown, (group, shown)
    assert run_id in capture.text, capture.text[:2000]

    record_number(f"browser test: {time.monotonic() - t_test:.1f} s from unpause to the assertions on the page "
                  f"(+ Airflow start {server.ready_seconds:.1f} s in the fixture)")
