"""Why replication is slow (runbook "latency > 500 ms"): the target throttling MM2's producer (client quotas), or
slow round trips to the brokers.

Pure: facts in (Prometheus answers, client quotas, metadata round trips), diagnoses out.
"""

from __future__ import annotations

from dataclasses import dataclass

from mm2_smoke.diagnosis.base import (
    DIAGNOSTIC_FAILED,
    LATENCY_HIGH,
    SLOW_NETWORK,
    THROTTLING,
    Diagnosis,
    Inspection,
    conclude,
)


@dataclass(frozen=True)
class LatencyFacts:
    principal: str
    rtt_ms: dict[str, float | None]
    rtt_errors: dict[str, str]
    throttle_max_ms: float | None
    throttle_query: str
    throttle_error: str | None
    quotas: dict[str, float] | None
    quota_error: str | None


def diagnose_latency(f: LatencyFacts, symptom: str = LATENCY_HIGH, slow_rtt_ms: float = 200.0) -> list[Diagnosis]:
    """Why replication is slow: broker-side throttling (quotas) of MM2, or a slow network."""
    return conclude(symptom, _causes(f, symptom, slow_rtt_ms), lambda: _inspection(f))


def _causes(f: LatencyFacts, symptom: str, slow_rtt_ms: float) -> list[Diagnosis]:
    """What the facts point at ([] when nothing)."""
    out: list[Diagnosis] = []
    quota_text = ", ".join(f"{k}={v:g}" for k, v in (f.quotas or {}).items())
    if f.throttle_max_ms is not None and f.throttle_max_ms > 0:
        out.append(Diagnosis(symptom, THROTTLING, f"the target throttles {f.principal}'s producer (MM2's writes)",
                             f"{f.throttle_query} = {f.throttle_max_ms:g} ms"
                             + (f"; client quotas of {f.principal}: {quota_text}" if quota_text else ""),
                             f"raise or remove the quota: kafka-configs --alter --entity-type users --entity-name "
                             f"{f.principal.removeprefix('User:')} --delete-config producer_byte_rate", 90))
    elif f.quotas:
        out.append(Diagnosis(symptom, THROTTLING, f"{f.principal} has client quotas on target",
                             f"client quotas: {quota_text}", "check whether the quota is below MM2's traffic", 70))
    for cluster, rtt in f.rtt_ms.items():
        if rtt is None:
            out.append(Diagnosis(symptom, SLOW_NETWORK, f"the {cluster} cluster did not answer a metadata request",
                                 f.rtt_errors.get(cluster, ""), f"check the network path to the {cluster} brokers", 60))
        elif rtt > slow_rtt_ms:
            out.append(Diagnosis(symptom, SLOW_NETWORK, f"slow round trip to the {cluster} brokers",
                                 f"metadata request took {rtt:.0f} ms", "check the network (ping, MTU, load)", 65))
    if f.quota_error and not out:
        out.append(Diagnosis(symptom, DIAGNOSTIC_FAILED, "client quotas could not be read", f.quota_error,
                             "read them by hand: kafka-configs --describe --entity-type users", 10))
    return out


def _inspection(f: LatencyFacts) -> Inspection:
    """What the latency diagnostic inspected, and what it could not."""
    inspected = [f"metadata round trip to the {c} brokers: {rtt:.0f} ms" for c, rtt in f.rtt_ms.items()
                 if rtt is not None]
    not_inspected = []
    if f.throttle_max_ms is not None:
        inspected.append(f"MM2 producer throttle time: {f.throttle_max_ms:g} ms")
    else:
        not_inspected.append(f"MM2 producer throttle time ({f.throttle_error or 'no value'})")
    if f.quotas is not None:
        inspected.append(f"client quotas of {f.principal}: none")
    return Inspection(inspected, not_inspected)
