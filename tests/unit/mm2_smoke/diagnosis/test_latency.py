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
