"""Why replication is slow (runbook "latency > 500 ms"): the target throttling MM2's producer (client quotas), slow
round trips to the brokers, or not slow at all: MM2 replaying a backlog (after an outage or a pause its 60 s latency
window holds minutes-old records, while this run's own messages cross in milliseconds on one clock).

Pure: facts in (Prometheus answers, client quotas, metadata round trips), diagnoses out.
"""

from __future__ import annotations

from dataclasses import dataclass

from mm2_smoke.diagnosis.base import (
    CATCHING_UP,
    CATCHING_UP_CLASS,
    CONNECTOR,
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
    #: This run's own messages, source acknowledgement to target arrival on one clock (step 1.1's watch), in ms.
    e2e_p99_ms: float | None = None
    #: MirrorMaker's replication latency of the test topic now (its 60 s window), in ms.
    mm2_avg_ms: float | None = None
    mm2_max_ms: float | None = None


#: MM2's average latency this many times this run's own p99 (and at least :data:`BACKLOG_MIN_GAP_MS` above it):
#: MM2's window is measuring other, older records than this run's.
BACKLOG_FACTOR = 4.0
BACKLOG_MIN_GAP_MS = 1000.0


def backlog_replay(f: LatencyFacts, symptom: str = LATENCY_HIGH) -> Diagnosis | None:
    """MM2 catching up on a backlog rather than slow: its latency window far above this run's own one-clock latency
    (None when the numbers do not say so, or one of them is missing)."""
    if f.e2e_p99_ms is None or f.mm2_avg_ms is None:
        return None
    if f.mm2_avg_ms < BACKLOG_FACTOR * max(f.e2e_p99_ms, 1.0) or f.mm2_avg_ms - f.e2e_p99_ms < BACKLOG_MIN_GAP_MS:
        return None
    worst = f" (max {f.mm2_max_ms / 1000:.1f} s)" if f.mm2_max_ms is not None else ""
    return Diagnosis(symptom, CATCHING_UP, "MM2 is catching up on a backlog, not slow: its latency window holds "
                     f"records {f.mm2_avg_ms / 1000:.1f} s old on average{worst}, while this run's own messages "
                     f"crossed in p99 {f.e2e_p99_ms:.0f} ms",
                     f"MirrorMaker's replication-latency-ms avg {f.mm2_avg_ms:.0f} ms over its 60 s window vs this "
                     f"run's one-clock end-to-end p99 {f.e2e_p99_ms:.0f} ms (source acknowledgement to target "
                     "arrival)",
                     "let MM2 replay its backlog (after an outage or a pause its window holds old records for up to "
                     "60 s after it caught up), then rerun; if the backlog does not shrink, MM2 is too slow for the "
                     "traffic: raise tasks.max", 80, CONNECTOR, CATCHING_UP_CLASS)


def diagnose_latency(f: LatencyFacts, symptom: str = LATENCY_HIGH, slow_rtt_ms: float = 200.0) -> list[Diagnosis]:
    """Why replication is slow: broker-side throttling (quotas) of MM2, or a slow network."""
    return conclude(symptom, _causes(f, symptom, slow_rtt_ms), lambda: _inspection(f))


def _causes(f: LatencyFacts, symptom: str, slow_rtt_ms: float) -> list[Diagnosis]:
    """What the facts point at ([] when nothing)."""
    out: list[Diagnosis] = []
    replay = backlog_replay(f, symptom)
    if replay is not None:
        out.append(replay)
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
    if f.e2e_p99_ms is not None and f.mm2_avg_ms is not None:
        inspected.append(f"MM2's latency avg {f.mm2_avg_ms:.0f} ms vs this run's one-clock p99 {f.e2e_p99_ms:.0f} ms")
    return Inspection(inspected, not_inspected)
