"""What every diagnostic shares: the :class:`Diagnosis` row, the symptoms and the cause ids, the ranking, MM2's
ACLs, and the one ending of a diagnostic whose rules found nothing (:func:`conclude`).

Pure: facts in, ranked diagnoses out. Each diagnosis names the symptom, the cause, the evidence and the action, and
carries a score (0-100: how strongly the evidence points at this cause) that ranks the causes, most likely first.
The component modules (:mod:`.connector`, :mod:`.writes`, :mod:`.latency`, :mod:`.target_topic`, :mod:`.metrics`,
:mod:`.duplicates`) build on this module only; :mod:`.routing` sits above them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from mm2_smoke import registry
from mm2_smoke.measured import Gap

# Symptoms (what the checks showed), as the registry declares them; each has one diagnostic.
REPLICATION_STOPPED = registry.Symptom.REPLICATION_STOPPED.value
WRITES_FAILING = registry.Symptom.WRITES_FAILING.value
LATENCY_HIGH = registry.Symptom.LATENCY_HIGH.value
NOTHING_ON_TARGET = registry.Symptom.NOTHING_ON_TARGET.value
METRICS_UNAVAILABLE = registry.Symptom.METRICS_UNAVAILABLE.value
DUPLICATES_ON_TARGET = registry.Symptom.DUPLICATES_ON_TARGET.value

# Causes (stable ids for tests and alert routing).
WORKER_DOWN = "worker_or_connector_down"
TOPICS_CONFIG = "topics_config"
SOURCE_TOPIC = "source_topic_missing_or_empty"
ACL_ON_TARGET = "acl_on_target"
ACL_ON_SOURCE = "acl_on_source"
MM2_CLUSTER_UNREACHABLE = "mm2_cluster_unreachable"  # MM2's own bootstrap address for a side does not answer
CLUSTER_UNRESPONSIVE = "cluster_unresponsive"  # a cluster does not answer Kafka requests (down, hung, unreachable)
TASK_ERROR = "task_error"
THROTTLING = "throttling_or_quotas"
SLOW_NETWORK = "slow_network"
TOPIC_NOT_CREATED = "topic_not_created"
METRICS = "metrics_unavailable"
DIAGNOSTIC_FAILED = "diagnostic_failed"
NO_CAUSE_FOUND = "no_cause_found"
SMOKE_SETUP = "smoke_test_setup"
#: Duplicates: produced twice on source (a retried produce, a second producer with the run's tag), re-delivered by
#: MM2 (task restart without exactly-once), written into the remote topic on target by someone else, or not told apart.
DUPLICATES_AT_SOURCE = "duplicates_at_source"
DUPLICATES_BY_MM2 = "duplicates_by_mm2"
DUPLICATES_ON_TARGET_WRITER = "duplicates_written_on_target"
DUPLICATES = "duplicates"


@dataclass(frozen=True)
class Diagnosis:
    """One finding.

    :param symptom: the symptom that led here (one of the registry's symptoms).
    :param cause_id: stable id of the cause.
    :param cause: the cause, in words.
    :param evidence: what was seen, and where.
    :param action: what to do.
    :param score: 0-100, how strongly the evidence points at this cause.
    """

    symptom: str
    cause_id: str
    cause: str
    evidence: str
    action: str
    score: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def rank(diagnoses: Iterable[Diagnosis | dict[str, Any]]) -> list[Diagnosis]:
    """Most likely cause first; one entry per (symptom, cause) (the highest-scored): distinct symptoms that found the
    same cause, or no cause, stay distinct rows."""
    best: dict[tuple[str, str], Diagnosis] = {}
    for d in diagnoses:
        d = d if isinstance(d, Diagnosis) else Diagnosis(**d)
        key = (d.symptom, d.cause_id)
        if key not in best or d.score > best[key].score:
            best[key] = d
    return sorted(best.values(), key=lambda d: -d.score)


def setup_diagnoses(checks: Sequence[Mapping[str, Any]]) -> list[Diagnosis]:
    """The smoke test's own input is what failed (Params, connections, its producer's connection): say so first,
    before anything about MM2, with the check's reason (which names the input and the fix) as the evidence."""
    out = []
    for c in checks:
        if c.get("gap") == Gap.OWN_SETUP.value and c["status"] != "GO" and c.get("reason"):
            out.append(Diagnosis(METRICS_UNAVAILABLE, SMOKE_SETUP, "the smoke test's own input or connection is "
                                 "wrong: nothing about MM2 was measured", c["reason"],
                                 "fix the input named in the evidence, then rerun the smoke test", 99))
    return out[:1]


# --- MM2's ACLs, as the admin API describes them ----------------------------------------------------------------
@dataclass(frozen=True)
class Acl:
    """An ACL as Kafka's admin API describes it (names as in Kafka: TOPIC, PREFIXED, WRITE, ALLOW...)."""

    principal: str
    resource_type: str
    name: str
    pattern_type: str
    operation: str
    permission: str


def acl_allows(acls: Iterable[Acl], principal: str, resource_type: str, name: str, operation: str) -> bool:
    """Whether ``acls`` let ``principal`` do ``operation`` on the resource (DENY wins; ALL covers any op)."""

    def matches(a: Acl) -> bool:
        if a.principal not in (principal, "User:*") or a.resource_type != resource_type:
            return False
        if a.operation not in (operation, "ALL"):
            return False
        if a.pattern_type == "LITERAL":
            return a.name in (name, "*")
        if a.pattern_type == "PREFIXED":
            return name.startswith(a.name)
        return False

    relevant = [a for a in acls if matches(a)]
    if any(a.permission == "DENY" for a in relevant):
        return False
    return any(a.permission == "ALLOW" for a in relevant)


# --- the ending: what was inspected, what could not be ------------------------------------------------------------
@dataclass(frozen=True)
class Inspection:
    """What a diagnostic looked at, each part in words with what it saw there.

    :param inspected: the parts it inspected.
    :param not_inspected: the parts it could not inspect, and why.
    """

    inspected: Sequence[str] = ()
    not_inspected: Sequence[str] = ()


def conclude(symptom: str, found: Sequence[Diagnosis], inspection: Callable[[], Inspection]) -> list[Diagnosis]:
    """How every diagnostic ends: its findings, or, when its rules found nothing, one "no cause found" that lists
    what it inspected and what it could not (``inspection`` is only asked then)."""
    if found:
        return list(found)
    seen = inspection()
    return [no_cause_found(symptom, seen.inspected, seen.not_inspected)]


#: How a "no cause found" names the run's UNKNOWN checks in its evidence (:func:`honest` adds them once).
_UNKNOWN_CHECKS = "UNKNOWN checks of the run"


def no_cause_found(symptom: str, inspected: Sequence[str], not_inspected: Sequence[str] = (),
                   unknown_checks: Sequence[str] = ()) -> Diagnosis:
    """The finding of a diagnostic whose rules found nothing: the parts it inspected, those it could not, and the
    run's checks that were UNKNOWN. It says "nothing wrong was found" only where every part was inspected and no
    check was UNKNOWN; otherwise it says what is not known."""
    evidence = "inspected: " + ("; ".join(inspected) if inspected else "nothing")
    if not_inspected:
        evidence += "; could NOT inspect: " + "; ".join(not_inspected)
    if unknown_checks:
        evidence += f"; {_UNKNOWN_CHECKS}: " + ", ".join(unknown_checks)
    if not_inspected or unknown_checks or not inspected:
        cause = (f"no cause found for {symptom}, and this is not a clean bill: "
                 f"{len(not_inspected)} part(s) could not be inspected, {len(unknown_checks)} check(s) were UNKNOWN")
        action = "make the parts that could not be inspected reachable (see the evidence), then rerun; until then the " \
                 "cause may be there"
        score = 3
    else:
        cause = f"no cause found for {symptom}: the inspected parts showed nothing wrong"
        action = "see the checks' evidence in the report"
        score = 1
    return Diagnosis(symptom, NO_CAUSE_FOUND, cause, evidence, action, score)


def honest(diagnoses: Sequence[Diagnosis], checks: Sequence[Mapping[str, Any]]) -> list[Diagnosis]:
    """``diagnoses`` with every "no cause found" told the run's UNKNOWN checks (a diagnostic does not see them):
    none of them then reads as a clean bill while a check could not measure."""
    unknown = [f"{c['step']} {c['name']}" for c in checks if c.get("status") == "UNKNOWN"]
    if not unknown:
        return list(diagnoses)
    out = []
    for d in diagnoses:
        if d.cause_id == NO_CAUSE_FOUND and _UNKNOWN_CHECKS not in d.evidence:
            d = Diagnosis(d.symptom, d.cause_id, f"no cause found for {d.symptom}, and this is not a clean bill: "
                          f"{len(unknown)} check(s) of the run were UNKNOWN",
                          f"{d.evidence}; {_UNKNOWN_CHECKS}: {', '.join(unknown)}",
                          "make what the UNKNOWN checks could not measure measurable (see their reasons), then rerun; "
                          "until then the cause may be there", max(d.score, 3))
        out.append(d)
    return out
