"""The smoke-test view in Airflow's UI (issue 16), on the session's `airflow standalone` (the real scheduler, triggerer
and API server with the plugin `mm2_smoke_ui`) and the real stack:

- two GO runs at once (one of them slow, with a deadline shorter than the run: the deadline alert fires through the
  DAG's notifier to a real local HTTP receiver, the `alert_webhook` connection created over the REST API), then a
  NOGO run (the MirrorSourceConnector paused: the pre-flight stops it, the diagnosis names the pause);
- headless Chromium (Debian's, via Playwright) opens the run view of each, the DAG view, and Airflow's own run page
  with the plugin's tab; assertions from the DOM against what the checklist/nogo tasks stored in XCom; screenshots
  in test-artifacts/;
- the view's API refuses a request without a login (the simple auth manager requires one);
- a history of 50 runs (the real ones and stored reports replayed into XCom over the REST API) and the time the
  view takes to render a run and that history.

The connector is healed (with MM2's latency window settled) in the background while the browser works.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta
from typing import Any

import pytest

from mm2_smoke.settings import SmokeSettings
from mm2_stack import faults
from mm2_stack.airflow_server import AirflowServer
from mm2_stack.config import REPO_ROOT, StackConfig, load_passwords
from tests.support.airflow_api import AirflowApi, replay_report
from tests.support.browser import capture_view, require_chromium
from tests.support.webhook import AlertReceiver

pytestmark = pytest.mark.integration

ARTIFACTS = REPO_ROOT / "test-artifacts"
DAG = "mm2_smoke_test"
# The slow GO run: 40 messages at 2 msg/s (20 s of production) against a 12 s deadline.
SLOW = {"deadline_minutes": 0.2, "num_messages": 40, "messages_per_second": 2}
HISTORY = 50

RUN_PROBE = """() => {
  const cells = r => [...r.cells].map(c => c.innerText.trim());
  const banner = document.querySelector('#verdict');
  return {
    verdict: banner ? banner.dataset.verdict : null,
    banner: banner ? banner.innerText : '',
    firstElement: document.body.firstElementChild ? document.body.firstElementChild.id : '',
    rows: [...document.querySelectorAll('#checklist tr[data-step]')].map(cells),
    checks: [...document.querySelectorAll('#checks tr[data-check]')].map(r => r.dataset.check),
    counts: Object.fromEntries([...document.querySelectorAll('#counts td[data-count]')]
      .map(td => [td.dataset.count, td.innerText.trim()])),
    diagnoses: [...document.querySelectorAll('#diagnoses tr[data-rank]')].map(cells),
    preflight: document.querySelector('#preflight') ? document.querySelector('#preflight').innerText : '',
    text: document.body.innerText,
  };
}"""
DAG_PROBE = """() => ({
  runs: [...document.querySelectorAll('#history tr[data-run-id]')].map(r => [r.dataset.runId, r.dataset.verdict]),
  charts: Object.fromEntries([...document.querySelectorAll('svg.trend')].map(s => [s.dataset.metric, {
    points: [...s.querySelectorAll('circle[data-run-id]')].map(c => [c.dataset.runId, Number(c.dataset.value)]),
    threshold: s.querySelector('polyline.threshold') ? Number(s.querySelector('polyline.threshold').dataset.threshold)
      : null,
    box: s.getBoundingClientRect().width}])),
  text: document.body.innerText,
})"""


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str], float]:
    """GET ``url``: status, body, headers, seconds (the client's wall time)."""
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=60) as resp:
            return resp.status, resp.read().decode(), dict(resp.headers), time.perf_counter() - t0
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers), time.perf_counter() - t0


def _server_ms(headers: dict[str, str]) -> float:
    return float(re.search(r"dur=([\d.]+)", headers.get("server-timing") or headers.get("Server-Timing"))[1])


def _xcom(api: AirflowApi, run_id: str, task_id: str, key: str) -> Any:
    """What the task stored (the REST API's XCom entry): the truth the view must show."""
    body = api.server.api("GET", api._run_path(run_id) + f"/taskInstances/{task_id}/xcomEntries/{key}",
                          params={"deserialize": "true", "stringify": "false"})
    return body["value"]


def _when(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


class _Runs:
    """What the module's runs left: run ids, their stored reports, the alerts received, the heal thread."""

    go: str
    slow: str
    nogo: str
    reports: dict[str, dict[str, Any]]
    receiver: AlertReceiver
    heal: threading.Thread
    heal_error: list[BaseException]
    seconds: dict[str, float]


@pytest.fixture(scope="module")
def runs(airflow_server: AirflowServer, airflow_api: AirflowApi, live_stack: StackConfig, record_number):
    require_chromium()  # fails before the runs, not after them, if Debian's chromium is missing
    server, api = airflow_server, airflow_api
    out = _Runs()
    out.seconds = {}
    with AlertReceiver() as receiver:
        out.receiver = receiver
        try:
            server.api("DELETE", "/api/v2/connections/alert_webhook")
        except Exception:  # noqa: BLE001 - none yet
            pass
        server.api("POST", "/api/v2/connections", receiver.connection())
        server.unpause()
        try:
            t0 = time.monotonic()
            out.slow = api.trigger(SLOW)
            out.go = api.trigger()
            states = {r: api.wait_for_run(r, timeout_s=300) for r in (out.slow, out.go)}
            out.seconds["two GO runs"] = time.monotonic() - t0
            assert set(states.values()) == {"success"}, states

            t0 = time.monotonic()
            faults.inject(live_stack, "connector-paused")
            out.heal_error = []

            def heal() -> None:
                try:
                    out.seconds["heal"] = faults.heal(live_stack, "connector-paused")
                except BaseException as exc:  # noqa: BLE001 - re-raised by the fixture's teardown
                    out.heal_error.append(exc)

            try:
                out.nogo = api.trigger()
                nogo_state = api.wait_for_run(out.nogo, timeout_s=300)
            finally:
                out.heal = threading.Thread(target=heal, daemon=True)
                out.heal.start()
            out.seconds["NOGO run"] = time.monotonic() - t0
            assert nogo_state == "failed"
            # The NOGO run's failure alert, before anything else goes on.
            receiver.wait_for(lambda b: b.get("run_id") == out.nogo and b.get("verdict") == "NOGO", 60)
            out.reports = {r: _xcom(api, r, "checklist", "return_value") for r in (out.go, out.slow, out.nogo)}
            out.reports[out.nogo] = _xcom(api, out.nogo, "nogo", "report")
            record_number(f"view test runs: two GO at once {out.seconds['two GO runs']:.1f} s, NOGO (connector "
                          f"paused) {out.seconds['NOGO run']:.1f} s")
            yield out
        finally:
            if getattr(out, "heal", None) is not None:
                out.heal.join(timeout=240)
                record_number(f"connector-paused healed (MM2's latency window settled) in "
                              f"{out.seconds.get('heal', float('nan')):.1f} s, in the background of the view tests")
            if server.alive():  # the session stops it after its last test, before this module's teardown
                try:
                    server.api("DELETE", "/api/v2/connections/alert_webhook")
                except Exception:  # noqa: BLE001 - best effort: later tests log their alerts instead
                    pass
                server.unpause()
    if getattr(out, "heal_error", None):
        raise out.heal_error[0]


def _run_view(api: AirflowApi, run_id: str, label: str, record_number) -> dict[str, Any]:
    url = f"{api.server.url}/mm2-smoke/dags/{DAG}/runs/{urllib.parse.quote(run_id, safe='')}"
    shot = ARTIFACTS / f"mm2_smoke_view_run_{label}_{_safe(run_id)}.png"
    cap = capture_view(url, shot, cookies=api.login_cookies(), wait_selector="#checklist", probe_js=RUN_PROBE)
    print(f"\nrun view ({label}) screenshot: {shot}\n  DOM: {cap.html}")
    record_number(f"browser: run view {label}: Chromium start -> screenshot {cap.seconds:.1f} s "
                  f"({shot.relative_to(REPO_ROOT)})")
    return cap.facts


def test_run_views_show_the_verdict_the_checklist_and_the_first_diagnosis(runs: _Runs, airflow_api: AirflowApi,
                                                                        record_number) -> None:
    go = _run_view(airflow_api, runs.go, "GO", record_number)
    report = runs.reports[runs.go]
    assert go["firstElement"] == "verdict" and go["verdict"] == "GO" and "GO pour Phase 2" in go["banner"]
    steps = [r[0] for r in go["rows"]]
    assert steps == ["1.1 Messages produits", "1.2 poll_total augmente", "1.2 write_total ≈ poll",
                     "1.3 Latence baseline", "1.3 Latence bout en bout", "1.4 Messages sur target"], go["rows"]
    assert {r[0]: r[1] for r in go["rows"]}["1.4 Messages sur target"] == "GO"
    c = report["counts"]
    assert f"{c['delivered']}/{c['produced']} delivered" in go["rows"][0][2]
    assert f"Count: {c['received']} (missing 0, duplicates 0)" in go["rows"][5][2]
    assert f"{report['baseline']['latency_avg_ms']:.2f} ms" in go["rows"][3][2]
    assert go["counts"]["received"] == str(c["received"]) == str(SmokeSettings().num_messages)
    assert go["checks"] == [x["name"] for x in report["checks"]]
    assert go["diagnoses"] == []
    # The checklist task's extra link (computed by the worker, kept in XCom) goes to the same page.
    links = airflow_api.server.api("GET", airflow_api._run_path(runs.go) + "/taskInstances/checklist/links")
    assert links["extra_links"]["Smoke test report"].endswith(
        f"/mm2-smoke/dags/{DAG}/runs/{urllib.parse.quote(runs.go, safe='')}"), links

    nogo = _run_view(airflow_api, runs.nogo, "NOGO", record_number)
    stored = runs.reports[runs.nogo]
    assert nogo["verdict"] == "NOGO" == stored["verdict"] and "NOGO - diagnostic requis" in nogo["banner"]
    assert len(nogo["rows"]) == 6 and all(r[1] in ("UNKNOWN", "mesure") for r in nogo["rows"]), nogo["rows"]
    assert nogo["counts"]["produced"] == "0"  # the pre-flight stopped it: nothing produced
    first = stored["diagnoses"][0]
    assert "PAUSED" in first["cause"], first
    assert nogo["diagnoses"][0][2] == first["cause"] and nogo["diagnoses"][0][4] == first["action"], nogo["diagnoses"]
    assert f"Most likely cause: {first['cause']}" in nogo["banner"]
    assert nogo["preflight"].startswith("NOGO") and "connector" in nogo["preflight"]


def test_dag_view_shows_the_runs_and_trend_charts_with_the_thresholds(runs: _Runs, airflow_api: AirflowApi,
                                                                     record_number) -> None:
    url = f"{airflow_api.server.url}/mm2-smoke/dags/{DAG}"
    shot = ARTIFACTS / "mm2_smoke_view_history.png"
    cap = capture_view(url, shot, cookies=airflow_api.login_cookies(), wait_selector="#history", probe_js=DAG_PROBE)
    print(f"\nDAG view screenshot: {shot}\n  DOM: {cap.html}")
    record_number(f"browser: DAG view: Chromium start -> screenshot {cap.seconds:.1f} s ({shot.relative_to(REPO_ROOT)})")
    shown = dict(cap.facts["runs"])
    assert shown[runs.go] == shown[runs.slow] == "GO" and shown[runs.nogo] == "NOGO", shown
    charts = cap.facts["charts"]
    assert set(charts) >= {"latency_avg_ms", "latency_max_ms", "lag", "offset_commit_max_ms", "e2e_p50_ms"}
    defaults = SmokeSettings()
    for metric, setting in (("latency_avg_ms", defaults.latency_avg_max_ms), ("latency_max_ms",
                            defaults.latency_max_max_ms), ("lag", defaults.lag_max),
                            ("offset_commit_max_ms", defaults.offset_commit_max_ms)):
        points = dict(charts[metric]["points"])
        assert charts[metric]["threshold"] == setting, (metric, charts[metric])
        for run_id in (runs.go, runs.slow):  # both baselines, as the checklist stored them
            assert points[run_id] == pytest.approx(runs.reports[run_id]["baseline"][metric]), (metric, points)
        assert runs.nogo not in points  # nothing was measured: no point, never a zero
        assert charts[metric]["box"] > 300
    e2e = dict(charts["e2e_p50_ms"]["points"])
    assert e2e[runs.go] == pytest.approx(runs.reports[runs.go]["baseline"]["e2e_p50_ms"])


def test_the_run_tab_in_airflows_ui_frames_the_view(runs: _Runs, airflow_api: AirflowApi, record_number) -> None:
    url = f"{airflow_api.run_url(runs.nogo)}/plugin/mm2-smoke-report"
    shot = ARTIFACTS / f"airflow_ui_tab_smoke_test_report_{_safe(runs.nogo)}.png"
    cap = capture_view(url, shot, cookies=airflow_api.login_cookies(), wait_selector="#checklist",
                       probe_js=RUN_PROBE, frame_url_part="/mm2-smoke/dags/", full_page=False)
    print(f"\nAirflow run page with the plugin's tab: {shot}")
    record_number(f"browser: Airflow's run page, tab 'Smoke test report' (iframe): {cap.seconds:.1f} s "
                  f"({shot.relative_to(REPO_ROOT)})")
    assert cap.facts["verdict"] == "NOGO" and urllib.parse.unquote(cap.frame_url).endswith(runs.nogo)
    assert "PAUSED" in cap.facts["diagnoses"][0][2]


def test_the_views_api_refuses_a_request_without_a_login(runs: _Runs, airflow_api: AirflowApi) -> None:
    base = f"{airflow_api.server.url}/mm2-smoke"
    run = urllib.parse.quote(runs.nogo, safe="")
    for path in (f"/api/dags/{DAG}/runs/{run}", f"/api/dags/{DAG}/history", f"/dags/{DAG}/runs/{run}", "/"):
        status, body, _, _ = _get(base + path)
        assert status == 401, (path, status, body[:300])
        assert runs.nogo not in body
        status, _, _, _ = _get(base + path, {"Authorization": "Bearer not-a-jwt"})
        assert status in (401, 403), (path, status)
    status, body, _, _ = _get(f"{base}/api/dags/{DAG}/runs/{run}",
                              {"Authorization": f"Bearer {airflow_api.server.token()}"})
    assert status == 200 and json.loads(body)["report"]["verdict"] == "NOGO"


def test_deadline_alert_fires_through_the_notifier_to_the_webhook(runs: _Runs, airflow_api: AirflowApi,
                                                                   record_number) -> None:
    arrived, alert = runs.receiver.wait_for(lambda b: b.get("kind") == "deadline" and b.get("run_id") == runs.slow, 30)
    queued = _when(airflow_api.dag_run(runs.slow)["queued_at"])
    deadline = queued + timedelta(minutes=SLOW["deadline_minutes"])
    delay = arrived - deadline.timestamp()
    record_number(f"deadline alert: arrived {delay:.1f} s after the deadline (queued + {SLOW['deadline_minutes']} "
                  f"min), run still {alert['state']}")
    assert alert["verdict"] == "LATE" and alert["text"].startswith("MM2 smoke test LATE")
    assert alert["state"] == "running"
    assert alert["url"].endswith(f"/mm2-smoke/dags/{DAG}/runs/{urllib.parse.quote(runs.slow, safe='')}")
    assert 0 <= delay < 60, delay  # the scheduler's next loop, then the triggerer (measured 18.6 s on a loaded 2-core machine)
    assert _when(alert["deadline"].replace(" ", "T")) == deadline
    # The run with the default deadline (10 min) did not alert; the NOGO run's failure alert links to the view.
    assert not [b for _, b in runs.receiver.received if b.get("kind") == "deadline" and b.get("run_id") != runs.slow]
    failure = next(b for _, b in runs.receiver.received if b.get("run_id") == runs.nogo)
    assert failure["url"].endswith(f"/mm2-smoke/dags/{DAG}/runs/{urllib.parse.quote(runs.nogo, safe='')}")
    assert failure["diagnoses"][0]["cause"] == runs.reports[runs.nogo]["diagnoses"][0]["cause"]


def test_no_secret_in_the_view_its_json_or_the_alerts(runs: _Runs, airflow_api: AirflowApi,
                                                     live_stack: StackConfig) -> None:
    secrets = [p for p in load_passwords(live_stack).values() if p]
    assert secrets
    auth = {"Authorization": f"Bearer {airflow_api.server.token()}"}
    base = f"{airflow_api.server.url}/mm2-smoke"
    pages = [_get(base + p, auth)[1] for r in (runs.go, runs.nogo)
             for p in (f"/dags/{DAG}/runs/{urllib.parse.quote(r, safe='')}",
                       f"/api/dags/{DAG}/runs/{urllib.parse.quote(r, safe='')}")]
    pages += [_get(base + f"/dags/{DAG}", auth)[1], _get(base + f"/api/dags/{DAG}/history", auth)[1]]
    alerts = [json.dumps(b) for _, b in runs.receiver.received]
    for text in pages + alerts:
        for secret in secrets:
            assert secret not in text


def test_history_of_50_runs_and_render_times(runs: _Runs, airflow_api: AirflowApi, record_number) -> None:
    api, server = airflow_api, airflow_api.server
    auth = {"Authorization": f"Bearer {server.token()}"}
    base = f"{server.url}/mm2-smoke"
    existing = api.server.api("GET", f"/api/v2/dags/{DAG}/dagRuns", params={"limit": 1})["total_entries"]
    # Stored reports replayed into XCom: this session's real ones (the report folder of the server's runs).
    stored = [json.loads(p.read_text()) for p in sorted((server.home / "reports").glob("*.json"))]
    stored = [r for r in stored if r.get("verdict")] or list(runs.reports.values())
    server.api("PATCH", f"/api/v2/dags/{DAG}", {"is_paused": True})
    t0 = time.monotonic()
    try:
        replayed = [replay_report(api, stored[i % len(stored)]) for i in range(max(0, HISTORY - existing))]
    finally:
        server.unpause()
    replay_s = time.monotonic() - t0

    run = urllib.parse.quote(runs.nogo, safe="")
    timings = {}
    for name, path in (("run view", f"/dags/{DAG}/runs/{run}"), ("run JSON", f"/api/dags/{DAG}/runs/{run}"),
                       (f"DAG view ({HISTORY} runs)", f"/dags/{DAG}?limit={HISTORY}"),
                       (f"history JSON ({HISTORY} runs)", f"/api/dags/{DAG}/history?limit={HISTORY}")):
        samples = []
        for _ in range(5):
            status, body, headers, seconds = _get(base + path, auth)
            assert status == 200, (path, status, body[:500])
            samples.append((_server_ms(headers), seconds * 1000))
        timings[name] = (sorted(s for s, _ in samples)[2], sorted(c for _, c in samples)[2])
        if "history JSON" in name:
            history = json.loads(body)
    assert len(history["runs"]) == HISTORY
    verdicts = {r["run"]["run_id"]: r["verdict"] for r in history["runs"]}
    assert all(verdicts[r] in ("GO", "NOGO", "UNKNOWN") for r in replayed), verdicts
    assert verdicts[runs.go] == "GO" and verdicts[runs.nogo] == "NOGO"

    shot = ARTIFACTS / "mm2_smoke_view_history_50_runs.png"
    cap = capture_view(f"{base}/dags/{DAG}?limit={HISTORY}", shot, cookies=api.login_cookies(),
                       wait_selector="#history", probe_js=DAG_PROBE)
    assert len(cap.facts["runs"]) == HISTORY
    print(f"\nDAG view of {HISTORY} runs: {shot}")
    record_number(f"view history: {len(replayed)} stored reports replayed into XCom over the REST API in "
                  f"{replay_s:.1f} s ({existing} real runs before); render (median of 5, server / client): "
                  + "; ".join(f"{k} {s:.0f} / {c:.0f} ms" for k, (s, c) in timings.items())
                  + f"; screenshot {shot.relative_to(REPO_ROOT)}")
