"""The metric contract: the profile is detected from fresh series only; an unanswered contract stops the run before
producing, naming what is missing and the profile that would answer."""

from __future__ import annotations

from mm2_smoke.checks import Status
from mm2_smoke.measured import HttpAnswer
from mm2_smoke.metrics import KAFKA_NEW, RUNBOOK, STRIMZI
from mm2_smoke.preflight import Finding, decide, metric_contract, run
from mm2_smoke.settings import SmokeSettings
from tests.support.fake_connect import FakeConnect
from tests.support.fake_prometheus import FakePrometheus

NOW = 1_800_000_000.0


def series_store(table: dict[str, float], down: bool = False) -> FakePrometheus:
    """Answers ``max(timestamp(<selector>))`` from a table of each selector's newest sample time, any other query
    (``count(up)``) from the same table; the contract reads instant answers only (no range or raw-sample read)."""
    return FakePrometheus(newest=table, values=table, down=down)


def exported(profile, age_s: float = 3.0, only: tuple[str, ...] | None = None) -> dict[str, float]:
    q = SmokeSettings().queries_for(profile.name)
    series = {**q.contract(), **q.contract_later()}
    return {sel: NOW - age_s for name, sel in series.items() if only is None or name in only}


def contract(store: FakePrometheus, **settings):
    return metric_contract(store, SmokeSettings(**settings), now_s=NOW)


def test_auto_detects_the_profile_whose_series_answer_fresh() -> None:
    for p in (RUNBOOK, STRIMZI, KAFKA_NEW):
        c = contract(series_store(exported(p)))
        assert (c.profile, c.status, c.detected) == (p.name, Status.GO, True), c.summary
        assert c.store_lag_s == 3.0 and "detected" in c.summary


def test_stale_names_are_not_evidence() -> None:
    # The runbook's names linger (stopped being scraped 10 minutes ago); Strimzi's answer now.
    c = contract(series_store({**exported(RUNBOOK, age_s=600), **exported(STRIMZI)}))
    assert c.profile == "strimzi" and c.status is Status.GO
    stale = contract(series_store(exported(RUNBOOK, age_s=600)), metric_profile="runbook")
    assert stale.status is Status.UNKNOWN and "stale: newest sample 600 s old" in stale.summary


def test_a_wrong_explicit_profile_names_what_is_missing_and_the_profile_that_answers() -> None:
    c = contract(series_store(exported(RUNBOOK)), metric_profile="strimzi")
    assert c.status is Status.UNKNOWN and c.profile == "strimzi"
    assert "5 of its 5 contract series do not answer" in c.summary
    assert "kafka_connect_source_task_source_record_poll_total" in c.summary
    assert c.summary.endswith("The 'runbook' profile's series answer: set metric_profile=runbook (or auto).")
    assert {m["measurement"] for m in c.missing} >= {"poll_total", "record_count"}
    # Only a profile whose contract answers in full is suggested.
    partial = contract(series_store(exported(RUNBOOK, only=("poll_total",))), metric_profile="strimzi")
    assert "set metric_profile" not in partial.summary


def test_task_series_without_per_topic_series_explains_the_missing_source_tag() -> None:
    c = contract(series_store(exported(STRIMZI, only=("poll_total", "write_total", "active_count",
                                                       "offset_commit_max_ms"))))
    assert c.status is Status.UNKNOWN and c.profile == "strimzi"
    assert "need the MBean's `source` tag" in c.summary and "metric.names.formats=new" in c.summary


def test_nothing_answers_or_the_store_is_down_is_unknown_at_once() -> None:
    c = contract(series_store({}))
    assert c.status is Status.UNKNOWN and "no MirrorMaker 2 series of any profile answers" in c.summary
    down = series_store({}, down=True)
    d = contract(down)
    assert d.status is Status.UNKNOWN and "could not be asked" in d.summary and len(down.asked()) == 1


def test_the_pre_flight_stops_a_fail_fast_run_and_resolves_the_profile() -> None:
    out = run(series_store(exported(STRIMZI)), {"metric_profile": "auto"})
    assert out.proceed and out.status == "GO" and out.settings["metric_profile"] == "strimzi"
    stopped = run(series_store(exported(RUNBOOK)), {"metric_profile": "kafka-new"})
    assert not stopped.proceed and stopped.status == "UNKNOWN"
    assert stopped.report()["findings"][0]["check"] == "metric_contract"
    warned = run(series_store(exported(RUNBOOK)), {"metric_profile": "kafka-new", "preflight_mode": "warn"})
    assert warned.proceed and warned.status == "WARN"


def test_latency_series_absent_before_traffic_are_a_warning_not_a_stop() -> None:
    # VictoriaMetrics drops NaN samples: on an idle chain MirrorMaker's latency gauges have no series.
    idle = exported(RUNBOOK, only=("poll_total", "write_total", "active_count", "offset_commit_max_ms",
                                   "record_count"))
    c = contract(series_store(idle))
    assert c.status is Status.GO and c.later == [RUNBOOK.mirror("replication_latency_ms_avg"),
                                                 RUNBOOK.mirror("replication_latency_ms_max")]
    out = run(series_store(idle), {})
    assert out.proceed and out.status == "WARN"
    assert [f.check for f in out.findings] == ["metric_contract", "metric_contract_later"]


def test_decide_by_mode() -> None:
    nogo = Finding("connector", Status.NOGO, True, "paused")
    unsure = Finding("topic", Status.UNKNOWN, False, "maybe")
    assert decide("fail_fast", [nogo, unsure]) == ("NOGO", False)
    assert decide("fail_fast", [unsure]) == ("WARN", True)
    assert decide("warn", [nogo]) == ("WARN", True)
    assert decide("off", [nogo]) == ("OFF", True)
    assert decide("fail_fast", [Finding("m", Status.GO, True, "ok")]) == ("GO", True)


def silent_connect() -> FakeConnect:
    """Connect REST that does not answer (its worker is down)."""
    return FakeConnect(HttpAnswer(None, error="ConnectionError: connection refused"))


def test_a_silent_worker_with_silent_metrics_is_a_certain_fault_either_alone_is_not() -> None:
    both = run(series_store({}), {}, silent_connect())
    assert not both.proceed and both.status == "NOGO"
    worker = [f for f in both.findings if f.check == "connector" and f.certain]
    assert worker and "does not answer" in worker[0].message and "connection refused" in worker[0].evidence
    # Metrics fresh, REST silent: the run goes on (the kafka_connect connection may just be wrong).
    only_rest = run(series_store(exported(RUNBOOK)), {}, silent_connect())
    assert only_rest.proceed and only_rest.status == "WARN"
    # The store itself is down: nothing is known of MM2.
    store_down = run(series_store({}, down=True), {}, silent_connect())
    assert store_down.status == "UNKNOWN" and not any(f.status is Status.NOGO for f in store_down.findings)


def test_a_silent_contract_names_the_store_targets_that_are_down() -> None:
    # A broken scrape (wrong address, exporter not listening): the store's `up` says so, whatever the rules.
    c = contract(series_store({"count(up == 0)": 1.0, "count(up)": 2.0}))
    assert c.status is Status.UNKNOWN
    assert "reports 1 of 2 scrape target(s) down (up == 0)" in c.summary
    # Every target up: no such line (the rules or the selector are the suspects then).
    assert "scrape target" not in contract(series_store({"count(up == 0)": 0.0, "count(up)": 2.0})).summary
    # A healthy contract does not ask.
    assert "scrape target" not in contract(series_store({**exported(RUNBOOK), "count(up == 0)": 1.0})).summary
