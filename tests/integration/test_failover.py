"""Failover readiness on the real chain: the check's own functions (the ones the DAG's ``failover_readiness.check``
task runs: :func:`~mm2_smoke.failover_task.prepare`, :func:`~mm2_smoke.failover_task.wait`,
:func:`~mm2_smoke.failover_task.finish`) against the live MM2, healthy and under each failover fault of the stack's
catalogue. The DAG-level runs (the task mapped, its block in the report; a failover fault beside a Phase 1 GO) are in
test_dag_e2e.py, and its wait deferred to the real triggerer in test_airflow_deferral.py.

Each case produces 30 tagged messages on the source, waits until MM2 replicated them (Phase 1 fine), then checks: a
fault of the failover path must give NOT READY (or UNKNOWN where nothing could be read) with its first cause, and
never READY with ``would_lose`` > 0.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from mm2_smoke.diagnosis import base as dg
from mm2_stack import faults
from mm2_stack.config import StackConfig

# Failover readiness reads checkpoints, not MM2's latency: it may run while a healed backlog leaves the window.
pytestmark = [pytest.mark.integration, pytest.mark.latency_insensitive]

DAG_ID = "mm2_smoke_test"
#: fault, readiness, first cause. Each fault of the catalogue's failover faults, on the default flow. (No
#: ``emit.checkpoints.enabled=false`` fault: Kafka 4.3's MirrorCheckpointConnector refuses that config outright; the
#: diagnosis still names it from an older MM2's config, unit-tested.)
FAULTS = [
    ("checkpoint-paused", "NOT READY", dg.CHECKPOINTS_DOWN),
    ("groups-excluded", "NOT READY", dg.GROUP_FILTERED),
    ("target-group-active", "NOT READY", dg.TARGET_GROUP_ACTIVE),
    ("heartbeats-paused", "NOT READY", dg.HEARTBEATS_STALE),
]


def _settings(**kw) -> dict:
    from mm2_smoke.settings import from_params

    return from_params({"num_messages": 30, "messages_per_second": 300, "failover_check": "on",
                        "metric_profile": "runbook", **kw}).to_dict()


def _replicated(target, settings: dict, run_tag: str, n: int, timeout_s: float = 60) -> None:
    from mm2_smoke.failover_check import downstream_messages

    deadline = time.monotonic() + timeout_s
    while len(downstream_messages(target, _remote(settings), run_tag, int(time.time() * 1000) - 300_000)) < n:
        assert time.monotonic() < deadline, f"MM2 did not replicate {n} messages of {run_tag} in {timeout_s} s"
        time.sleep(1)


def _remote(settings: dict) -> str:
    from mm2_smoke.settings import from_params

    return from_params(settings).remote_topic


def check(settings: dict, during_wait=None) -> tuple[dict, float]:
    """One failover check as the DAG's task runs it, after this run's messages crossed; (result, seconds of the
    check alone)."""
    from mm2_smoke.failover_task import finish, prepare, wait
    from mm2_smoke.hooks import PrometheusHook, SmokeKafkaHook, connect_rest
    from mm2_smoke.settings import from_params
    from mm2_smoke.step_1_1_produce import produce_step

    source, target = SmokeKafkaHook("kafka_source"), SmokeKafkaHook("kafka_target")
    run_id = f"manual__failover-{uuid.uuid4().hex[:8]}"
    produced = produce_step(source, from_params(settings), run_id, "test", try_number=1)
    assert produced["delivered"] == 30, produced
    _replicated(target, settings, produced["run_tag"], 30)
    started = time.monotonic()
    state = prepare(settings, produced, DAG_ID, run_id, connect_rest(settings), source)
    assert state is not None
    if during_wait is not None:
        during_wait()
    last = wait(target, state, until=state["deadline"])
    result = finish(settings, state, last, connect_rest(settings), source, target, prom=PrometheusHook("prometheus"))
    return result, time.monotonic() - started


def test_a_healthy_chain_is_ready_and_each_failover_fault_gives_its_cause(live_stack: StackConfig, conns,
                                                                          record_number) -> None:
    settings = _settings()
    healthy, seconds = check(settings)
    if healthy["verdict"] == "UNKNOWN" and any("not learnt" in r for r in healthy["reasons"]):
        healthy, seconds = check(settings)  # a stack whose MM2 never saw the group: its first check says so
    record_number(f"failover healthy: {healthy['verdict']} in {seconds:.1f} s | checkpoint-latency-ms "
                  f"{healthy['checkpoint_latency_ms']} | would_lose {healthy['would_lose']} | "
                  f"would_reread {healthy['would_reread']} (at most {healthy['reread_max']}) | checkpoint age "
                  f"{healthy['checkpoint_age_s']} s | heartbeat age {healthy['heartbeat_age_s']} s | synced "
                  f"{healthy['synced_on_target']}")
    assert healthy["verdict"] == "READY", json.dumps(healthy, indent=1)
    assert healthy["would_lose"] == 0 and 0 <= healthy["would_reread"] <= healthy["reread_max"], healthy
    assert healthy["checkpoint_age_s"] is not None and healthy["heartbeat_age_s"] is not None
    assert healthy["synced_on_target"] is True and healthy["diagnoses"] == []
    # MM2's own checkpoint metric, as the run's metric profile names it (its write delay, reported beside).
    assert isinstance(healthy["checkpoint_latency_ms"]["max"], float), healthy["checkpoint_latency_ms"]

    outcomes = {}
    for fault, _verdict, _cause in FAULTS:
        faults.inject(live_stack, fault)
        try:
            if fault == "heartbeats-paused":  # stale once older than its bound: max(10 s, 3 emit intervals + 5 s)
                time.sleep(12)
            result, seconds = check(settings)
        finally:
            heal_s = faults.heal(live_stack, fault, latency=False)  # no run here reads MM2's latency
        first = (result["diagnoses"] or [{}])[0]
        record_number(f"failover fault {fault}: {result['verdict']} in {seconds:.1f} s | first cause "
                      f"{first.get('cause_id')} | would_lose {result['would_lose']} | heal {heal_s:.0f} s")
        outcomes[fault] = (result, first)
    for fault, verdict, cause in FAULTS:
        result, first = outcomes[fault]
        assert result["verdict"] == verdict, (fault, json.dumps(result, indent=1))
        assert first.get("cause_id") == cause, (fault, json.dumps(result["diagnoses"], indent=1))
        assert first.get("evidence") and first.get("action"), (fault, first)
        assert not (result["verdict"] == "READY" and (result["would_lose"] or 0) > 0), fault


def test_a_translation_gap_beyond_its_bound_is_not_ready(live_stack: StackConfig, conns, record_number) -> None:
    """MM2 translates to an offset sync at or before the commit (``offset.lag.max`` apart at most): a bound below the
    re-read it gives (``failover_reread_max``) is NOT READY naming the gap, with nothing lost."""
    result, seconds = check(_settings(failover_reread_max=1))
    first = (result["diagnoses"] or [{}])[0]
    record_number(f"failover, re-read bound 1: {result['verdict']} in {seconds:.1f} s | first cause "
                  f"{first.get('cause_id')} | would_reread {result['would_reread']}")
    if result["would_reread"] is not None and result["would_reread"] <= 1:
        pytest.fail(f"the translation landed exactly on the commit ({result['would_reread']} re-read): no gap to "
                    "judge; the stack's offset syncs changed?")
    assert result["verdict"] == "NOT READY" and first.get("cause_id") == dg.TRANSLATION_GAP, json.dumps(result,
                                                                                                          indent=1)
    assert result["would_lose"] == 0, result


def test_a_checkpoint_task_restarted_during_the_wait_is_never_a_ready_that_loses(live_stack: StackConfig, conns,
                                                                                 record_number) -> None:
    """MM2's checkpoint task restarted while the check waits (translation broke on restarts until Kafka 3.8): READY
    with nothing lost, or NOT READY naming the gap — never READY with ``would_lose`` > 0."""
    from mm2_stack import connect

    def restart() -> None:
        name = live_stack.naming.connector_name("MirrorCheckpointConnector")
        status, body = connect.rest(live_stack, "POST", connect.connector_path(name) + "/restart?includeTasks=true")
        assert status in (200, 202, 204), (status, body)

    result, seconds = check(_settings(), during_wait=restart)
    record_number(f"failover, checkpoint task restarted during the wait: {result['verdict']} in {seconds:.1f} s | "
                  f"would_lose {result['would_lose']} | would_reread {result['would_reread']}")
    assert result["verdict"] in ("READY", "NOT READY"), json.dumps(result, indent=1)
    assert not (result["verdict"] == "READY" and (result["would_lose"] or 0) > 0), result
    if result["verdict"] == "NOT READY":
        assert result["diagnoses"], result


@pytest.mark.extended
def test_after_a_quiet_topic_the_check_is_never_a_ready_that_loses(live_stack: StackConfig, conns,
                                                                   record_number) -> None:
    """No traffic on the test topic for several minutes (MM2_SMOKE_QUIET_S, default 180), then a run: quiet topics kept
    a translation lag until time-based offset syncs (KAFKA-15906). READY with nothing lost, or NOT READY naming the
    gap — never READY with ``would_lose`` > 0. Outside CI (``make test-extended``): it waits minutes."""
    import os

    quiet_s = float(os.environ.get("MM2_SMOKE_QUIET_S", "180"))
    time.sleep(quiet_s)
    result, seconds = check(_settings())
    record_number(f"failover after {quiet_s:.0f} s quiet: {result['verdict']} in {seconds:.1f} s | would_lose "
                  f"{result['would_lose']} | would_reread {result['would_reread']} | checkpoint age "
                  f"{result['checkpoint_age_s']} s")
    assert result["verdict"] in ("READY", "NOT READY"), json.dumps(result, indent=1)
    assert not (result["verdict"] == "READY" and (result["would_lose"] or 0) > 0), result
