"""What every diagnostic shares: the :class:`Diagnosis` row, the symptoms, the causes as data (re-exported from
:mod:`.causes`: cause ids, components, classes, :data:`CAUSES`: component x class -> cause id and fix), the
ranking, the verdict a proof calls for (:func:`verdict_from_proof`), MM2's ACLs, and the one ending of a diagnostic whose rules found nothing
(:func:`conclude`).

Pure: facts in, ranked diagnoses out. Each diagnosis names the symptom, the component at fault and its failure class,
the cause, the evidence and the action, and carries a score (0-100: how strongly the evidence points at this cause)
that ranks the causes, most likely first. A diagnosis is *certain* (:attr:`Diagnosis.certain`) when its score reaches
:data:`CERTAIN_SCORE`, it has evidence and its class is a fault; certain causes rank before the others.
The component modules (:mod:`.connector`, :mod:`.writes`, :mod:`.latency`, :mod:`.target_topic`, :mod:`.metrics`,
:mod:`.duplicates`) build on this module only; :mod:`.routing` sits above them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from mm2_smoke import registry
from mm2_smoke.measured import Gap
from mm2_smoke.traces import TraceCause, read_trace

# Symptoms (what the checks showed), as the registry declares them; each has one diagnostic.
REPLICATION_STOPPED = registry.Symptom.REPLICATION_STOPPED.value
WRITES_FAILING = registry.Symptom.WRITES_FAILING.value
LATENCY_HIGH = registry.Symptom.LATENCY_HIGH.value
NOTHING_ON_TARGET = registry.Symptom.NOTHING_ON_TARGET.value
METRICS_UNAVAILABLE = registry.Symptom.METRICS_UNAVAILABLE.value
DUPLICATES_ON_TARGET = registry.Symptom.DUPLICATES_ON_TARGET.value

# The causes as data (ids, components, classes, rows): one module, re-exported here for every diagnostic.
from mm2_smoke.diagnosis.causes import *  # noqa: E402, F403
from mm2_smoke.diagnosis.causes import (  # noqa: E402
    CAUSES,
    CLASSES,
    COMPONENTS,
    CONNECTOR,
    FAILED,
    MM2_SOURCE_CLIENT,
    MM2_TARGET_CLIENT,
    NO_CAUSE_FOUND,
    NOT_INSPECTED,
    NOTHING_WRONG,
    SMOKE_CONFIG,
    SMOKE_SETUP,
    TASK_ERROR,
    UNATTRIBUTED,
    Cause,
)

_BY_ID = {c.cause_id: c for c in reversed(CAUSES)}  # the first row of each id wins
_BY_PAIR = {(c.component, c.cause_class): c for c in reversed(CAUSES)}
#: At or above this score, with evidence and a fault class, a diagnosis is certain (:attr:`Diagnosis.certain`).
CERTAIN_SCORE = 85


def cause_of(component: str, cause_class: str) -> Cause:
    """The row of ``component`` failing in ``cause_class``; without one, the connector's row of that class, else a
    task error (the diagnosis still carries the component and class it was given)."""
    return _BY_PAIR.get((component, cause_class)) or _BY_PAIR.get((CONNECTOR, cause_class)) or _BY_ID[TASK_ERROR]


def describe(component: str, cause_class: str) -> str:
    """``<component>: <class>`` in words, e.g. "MM2's clients of the target cluster (...): authentication refused"."""
    return f"{COMPONENTS.get(component, (component, False))[0]}: {CLASSES.get(cause_class, (cause_class, False))[0]}"


@dataclass(frozen=True)
class Diagnosis:
    """One finding.

    :param symptom: the symptom that led here (one of the registry's symptoms).
    :param cause_id: stable id of the cause.
    :param cause: the cause, in words.
    :param evidence: what was seen, and where.
    :param action: what to do.
    :param score: 0-100, how strongly the evidence points at this cause.
    :param component: the component at fault (:data:`COMPONENTS`); '' takes the cause id's default (:data:`CAUSES`).
    :param cause_class: how it fails (:data:`CLASSES`); '' takes the cause id's default.
    """

    symptom: str
    cause_id: str
    cause: str
    evidence: str
    action: str
    score: int
    component: str = ""
    cause_class: str = ""

    def __post_init__(self) -> None:
        default = _BY_ID.get(self.cause_id)
        if default is not None and not self.component:
            object.__setattr__(self, "component", default.component)
        if default is not None and not self.cause_class:
            object.__setattr__(self, "cause_class", default.cause_class)

    @property
    def certain(self) -> bool:
        """Proven: scored at least :data:`CERTAIN_SCORE`, with evidence, and of a fault class (not "not inspected",
        "catching up", "slow", "duplicated" or "nothing wrong")."""
        return self.score >= CERTAIN_SCORE and bool(self.evidence.strip()) and CLASSES.get(
            self.cause_class, ("", False))[1]

    @property
    def chain_fault(self) -> bool:
        """Certain, and in a component of the MM2 chain (not the metrics store nor the smoke test's own config)."""
        return self.certain and COMPONENTS.get(self.component, ("", False))[1]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def diagnosis(symptom: str, component: str, cause_class: str, cause: str, evidence: str, *, score: int | None = None,
              action: str | None = None, connector: str = "the connector", principal: str = "MM2's principal",
              cause_id: str | None = None) -> Diagnosis:
    """A diagnosis of ``component`` failing in ``cause_class``: its cause id, fix and score come from its row of
    :data:`CAUSES` (:func:`cause_of`) unless given."""
    row = _BY_ID[cause_id] if cause_id else cause_of(component, cause_class)
    fix = action if action is not None else row.fix.format(connector=connector, principal=principal)
    return Diagnosis(symptom, cause_id or row.cause_id, cause, evidence, fix, row.score if score is None else score,
                     component, cause_class)


# --- a FAILED task's or connector's trace, read to its cause ------------------------------------------------------
#: The component of a client of MM2, by the cluster it talks to (a trace that names no client: the task itself).
CLIENT_COMPONENTS = {"source": MM2_SOURCE_CLIENT, "target": MM2_TARGET_CLIENT}


def trace_evidence(what: str, read: TraceCause) -> str:
    """A read trace as a diagnosis' evidence: its ``Caused by`` line, the wrappers it came through and the failing
    client (with the cluster it talks to) when the trace names it.

    :param what: "task 0 of <connector>" or "connector <connector>".
    """
    via = [r.simple for r in read.chain if r is not read.cause]
    client = (f"; failing client {read.client} (talks to the {read.side} cluster)" if read.client and read.side
              else f"; failing client {read.client}" if read.client
              else f"; Connect's wrapper names MM2's client of the {read.side} cluster" if read.side else "")
    return f"{what} trace: {read.caused_by}" + (f" (via {' < '.join(via)})" if via else "") + client


def trace_diagnosis(symptom: str, what: str, trace: str | None, *, connector: str = "the connector",
                    principal: str = "MM2's principal", connector_class: str = "MirrorSourceConnector") -> Diagnosis:
    """What a FAILED task's or connector's trace says (:func:`mm2_smoke.traces.read_trace`): its deepest classified
    cause, the component it concerns (MM2's client of the cluster the trace names, else the connector) and its class,
    with the ``Caused by`` line as the evidence and its row's fix (:func:`diagnosis`); an unclassified cause is still
    named (never "FAILED" alone when the trace says more). A trace with no exception in it proves less (score 75).

    :param what: "task 0 of <connector>" or "connector <connector>".
    :param trace: the trace Connect REST gives (``status.tasks[].trace``, ``status.connector.trace``).
    :param connector_class: the connector's class, simple name (which cluster each client of it talks to).
    """
    read = read_trace(trace, connector_class)
    if read.cause is None:
        return Diagnosis(symptom, TASK_ERROR, f"{what} is FAILED, and Connect REST gives no trace",
                         f"Connect REST status: {what} FAILED, trace: {(trace or 'none').strip()[:200]}",
                         f"read the worker log for {what}'s error, fix it, then POST /connectors/{connector}/restart"
                         "?includeTasks=true&onlyFailed=true", 75, CONNECTOR, FAILED)
    component = CLIENT_COMPONENTS.get(read.side, CONNECTOR)
    return diagnosis(symptom, component, read.cause_class,
                     f"{describe(component, read.cause_class)}: {what} FAILED with {read.cause.simple}",
                     trace_evidence(what, read), connector=connector, principal=principal)


def as_diagnosis(d: Diagnosis | Mapping[str, Any]) -> Diagnosis:
    """A diagnosis from itself or from its ``to_dict()`` (an XCom), older dicts without component and class too."""
    return d if isinstance(d, Diagnosis) else Diagnosis(**d)


def rank(diagnoses: Iterable[Diagnosis | Mapping[str, Any]]) -> list[Diagnosis]:
    """Most likely cause first: the certain ones (:attr:`Diagnosis.certain`) before the others, each by score; one
    entry per (symptom, cause, component) (the highest-scored): distinct symptoms that found the same cause, or no
    cause, stay distinct rows, and so do both clusters found failing the same way.

    A consequence never outranks a proven cause: when a task fails its per-topic series vanish, and "metrics
    unavailable: check the exporter rules" (not certain) ranks after the task's proven cause whatever its score.
    """
    best: dict[tuple[str, str, str], Diagnosis] = {}
    for d in map(as_diagnosis, diagnoses):
        key = (d.symptom, d.cause_id, d.component)
        if key not in best or d.score > best[key].score:
            best[key] = d
    return sorted(best.values(), key=lambda d: (not d.certain, -d.score))


def verdict_from_proof(verdict: str, diagnoses: Iterable[Diagnosis | Mapping[str, Any]]) -> tuple[str, str | None]:
    """The verdict the diagnoses call for: NOGO instead of UNKNOWN when one proves a fault of the chain
    (:attr:`Diagnosis.chain_fault`: certain, with evidence, in a component of the chain), with the reason naming it;
    otherwise ``(verdict, None)``. UNKNOWN stays UNKNOWN when nothing is proven, and when the smoke test's own
    configuration is proven wrong (what it saw of the chain may then be its own doing); GO and NOGO never change.

    :param verdict: the checks' verdict (``GO``, ``NOGO`` or ``UNKNOWN``).
    :param diagnoses: the diagnoses (or their ``to_dict()``), in any order.
    :returns: the verdict, and why it changed (None when it did not).
    """
    if verdict != "UNKNOWN":
        return verdict, None
    found = [as_diagnosis(d) for d in diagnoses]
    if any(d.certain and d.component == SMOKE_CONFIG for d in found):
        return verdict, None
    proofs = sorted((d for d in found if d.chain_fault), key=lambda d: -d.score)
    if not proofs:
        return verdict, None
    top = proofs[0]
    where = describe(top.component, top.cause_class)
    return "NOGO", (f"NOGO, not UNKNOWN: the diagnosis proves a fault of the chain ({where}): {top.cause}; "
                    f"evidence: {top.evidence[:300]}")


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
    return Diagnosis(symptom, NO_CAUSE_FOUND, cause, evidence, action, score, UNATTRIBUTED,
                     NOTHING_WRONG if score == 1 else NOT_INSPECTED)


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
                          "until then the cause may be there", max(d.score, 3), d.component, NOT_INSPECTED)
        out.append(d)
    return out
