"""Each latency rule on answers recorded from the live stack
(runbook "latency > 500 ms": Prometheus, client quotas, round trips)."""

from __future__ import annotations

from mm2_smoke.diagnosis.base import NO_CAUSE_FOUND, SLOW_NETWORK, THROTTLING
from mm2_smoke.diagnosis.latency import LatencyFacts, diagnose_latency
from tests.unit.mm2_smoke.diagnosis.conftest import first


def latency_facts(throttle: float | None, quotas: dict | None = None, rtt: float = 2.0) -> LatencyFacts:
    return LatencyFacts("User:mm2", {"source": rtt, "target": rtt}, {}, throttle,
                        'max(kafka_producer_produce_throttle_time_max{client_id=~".*MirrorSourceConnector.*"})',
                        None, quotas, None)


def test_throttled_mm2_producer() -> None:
    d = first(diagnose_latency(latency_facts(9513.0, {"producer_byte_rate": 4096.0})))
    assert d.cause_id == THROTTLING and "producer_byte_rate=4096" in d.evidence and "9513" in d.evidence


def test_slow_network_and_nothing() -> None:
    assert first(diagnose_latency(latency_facts(0.0, rtt=450.0))).cause_id == SLOW_NETWORK
    [d] = diagnose_latency(latency_facts(0.0))
    assert d.cause_id == NO_CAUSE_FOUND and "throttle time: 0 ms" in d.evidence and "could NOT" not in d.evidence


def test_a_backlog_replay_is_named_with_both_numbers_and_is_not_a_fault() -> None:
    """The issue's case: after an outage MM2's 60 s window held minutes-old records (avg 59.8 s) while this run's
    own messages crossed in p99 160 ms on one clock; the report said "no cause found"."""
    from dataclasses import replace

    from mm2_smoke.diagnosis.base import CATCHING_UP, verdict_from_proof

    replaying = replace(latency_facts(0.0), e2e_p99_ms=160.0, mm2_avg_ms=59_800.0, mm2_max_ms=118_000.0)
    d = first(diagnose_latency(replaying))
    assert d.cause_id == CATCHING_UP and d.cause_class == "catching_up" and not d.certain
    assert "59.8 s old" in d.cause and "p99 160 ms" in d.cause and "max 118.0 s" in d.cause
    assert verdict_from_proof("UNKNOWN", [d]) == ("UNKNOWN", None)  # working, not broken: never proof of a fault
    # MM2 slow for this run's messages too: not a replay.
    assert first(diagnose_latency(replace(replaying, e2e_p99_ms=30_000.0))).cause_id != CATCHING_UP
    # A small gap on a fast chain (27 ms vs 118 ms: the watch's own cost) is not a replay either.
    assert first(diagnose_latency(replace(replaying, e2e_p99_ms=27.0, mm2_avg_ms=118.0))).cause_id == NO_CAUSE_FOUND
    # Either number missing: the rule says nothing.
    assert first(diagnose_latency(replace(replaying, e2e_p99_ms=None))).cause_id == NO_CAUSE_FOUND
