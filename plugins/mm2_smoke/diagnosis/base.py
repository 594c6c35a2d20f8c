"""What every diagnostic shares: the :class:`Diagnosis` row, the symptoms and the cause ids, the causes as data
(:data:`CAUSES`: component x class -> cause id and fix), the ranking, the verdict a proof calls for
(:func:`verdict_from_proof`), MM2's ACLs, and the one ending of a diagnostic whose rules found nothing
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
#: Causes read from a FAILED task's or connector's trace (:mod:`mm2_smoke.traces`), by the cluster MM2's client talks to.
AUTH_ON_SOURCE = "authentication_on_source"
AUTH_ON_TARGET = "authentication_on_target"
MM2_AUTHENTICATION = "mm2_authentication"  # an authentication error whose client the trace does not name
LIMIT_ON_SOURCE = "limit_on_source"
LIMIT_ON_TARGET = "limit_on_target"  # record too large, policy violation, quota: the target refuses MM2's writes
CLIENT_CONFIG_ON_SOURCE = "client_config_on_source"
CLIENT_CONFIG_ON_TARGET = "client_config_on_target"
NO_TASKS = "no_tasks"  # the connector runs no task although the test topic passes its filter
WORKER_HUNG = "worker_hung"
CATCHING_UP = "catching_up"

# --- causes as data: components x classes -------------------------------------------------------------------------
# Components: the parts of the chain (and around it) a cause can be in.
SOURCE_CLUSTER, TARGET_CLUSTER = "source_cluster", "target_cluster"
MM2_SOURCE_CLIENT, MM2_TARGET_CLIENT = "mm2_source_client", "mm2_target_client"
CONNECT_WORKER, CONNECTOR = "connect_worker", "connector"
METRICS_STORE, SMOKE_CONFIG, UNATTRIBUTED = "metrics_store", "smoke_config", "unattributed"
#: component -> (words, whether it is part of the MM2 chain: a fault there means the chain cannot replicate).
COMPONENTS: dict[str, tuple[str, bool]] = {
    SOURCE_CLUSTER: ("the source cluster", True),
    TARGET_CLUSTER: ("the target cluster", True),
    MM2_SOURCE_CLIENT: ("MM2's clients of the source cluster (its consumer, its source admin)", True),
    MM2_TARGET_CLIENT: ("MM2's clients of the target cluster (its producer, its target admin)", True),
    CONNECT_WORKER: ("the Kafka Connect worker running MM2", True),
    CONNECTOR: ("MM2's connector or its tasks", True),
    METRICS_STORE: ("the metrics store, its scrape targets and exporter rules", False),
    SMOKE_CONFIG: ("the smoke test's own configuration (Params, Airflow connections)", False),
    UNATTRIBUTED: ("no component (nothing found to blame)", False),
}
# Classes: how a component fails.
DOWN, HUNG, UNRESPONSIVE, UNREACHABLE_ADDRESS = "down", "hung", "unresponsive", "unreachable_address"
AUTHENTICATION, AUTHORIZATION, RESOURCE_LIMIT = "authentication", "authorization", "resource_limit"
MISCONFIGURATION, FAILED, SLOW, DUPLICATED = "misconfiguration", "failed", "slow", "duplicated"
CATCHING_UP_CLASS, NOT_INSPECTED, NOTHING_WRONG = "catching_up", "not_inspected", "none"
#: class -> (words, whether it is a fault: a certain diagnosis of a fault class proves something broken).
CLASSES: dict[str, tuple[str, bool]] = {
    DOWN: ("down (refuses connections, or not running)", True),
    HUNG: ("hung (accepts connections, answers nothing in time)", True),
    UNRESPONSIVE: ("does not answer (down, hung or unreachable: not told apart)", True),
    UNREACHABLE_ADDRESS: ("unreachable at the address it is configured with", True),
    AUTHENTICATION: ("authentication refused", True),
    AUTHORIZATION: ("not authorized (ACLs)", True),
    RESOURCE_LIMIT: ("refused by a size, quota or policy limit", True),
    MISCONFIGURATION: ("misconfigured", True),
    FAILED: ("failed with an error of no known class", True),
    SLOW: ("slow (answers late)", False),
    DUPLICATED: ("writes records more than once", False),
    CATCHING_UP_CLASS: ("catching up on a backlog (working, not broken)", False),
    NOT_INSPECTED: ("could not be inspected", False),
    NOTHING_WRONG: ("nothing wrong found", False),
}


@dataclass(frozen=True)
class Cause:
    """One row of :data:`CAUSES`: a component failing in a class, the stable id its diagnoses carry, and the fix.

    :param fix: what to do; ``{connector}`` and ``{principal}`` are filled by :func:`diagnosis` ('the connector',
        "MM2's principal" when not given).
    :param score: the score of a diagnosis that proves it (the rule may lower it when its evidence is weaker).
    """

    component: str
    cause_class: str
    cause_id: str
    fix: str
    score: int


_RESTART = "; then restart the failed task (POST /connectors/{connector}/restart?includeTasks=true&onlyFailed=true)"
#: The causes, one row each. A new cause is one row; the first row of a cause id is that id's default component and
#: class (what a diagnosis built without them gets), the first row of a (component, class) pair is what
#: :func:`diagnosis` gives that pair.
CAUSES: tuple[Cause, ...] = (
    Cause(CONNECT_WORKER, DOWN, WORKER_DOWN, "start the Connect worker (its process, service or pod), then check its "
          "log", 95),
    Cause(CONNECT_WORKER, HUNG, WORKER_HUNG, "the worker accepts connections but does not answer: take a thread dump "
          "(jstack), read its log and GC, then restart it", 95),
    Cause(CONNECTOR, DOWN, WORKER_DOWN, "resume, restart or create the connector {connector} "
          "(PUT /connectors/{connector}/resume, POST /connectors/{connector}/restart)", 90),
    Cause(CONNECTOR, FAILED, TASK_ERROR, "read the error in the evidence and the worker log, fix it" + _RESTART, 85),
    Cause(CONNECTOR, MISCONFIGURATION, TASK_ERROR, "fix the connector's configuration the evidence points at (its "
          "converters, transforms...) with PUT /connectors/{connector}/config" + _RESTART, 88),
    Cause(CONNECTOR, MISCONFIGURATION, TOPICS_CONFIG, "check the connector's topics / topics.exclude and that the test "
          "topic exists", 88),
    Cause(CONNECTOR, NOT_INSPECTED, NO_TASKS, "read the worker log for MirrorSourceConnector's errors (its source "
          "admin client lists the source's topics): check MM2's source credentials, its ACLs (DESCRIBE on topics) and "
          "source.cluster.bootstrap.servers", 60),
    Cause(CONNECTOR, AUTHENTICATION, MM2_AUTHENTICATION, "fix the credentials of MM2's clients (the source.cluster.* "
          "and target.cluster.* security settings of {connector}); the worker log names the failing client" + _RESTART,
          88),
    Cause(CONNECTOR, DUPLICATED, DUPLICATES_BY_MM2, "enable exactly-once for MM2's source tasks, or accept "
          "at-least-once delivery after a task restart", 70),
    Cause(CONNECTOR, CATCHING_UP_CLASS, CATCHING_UP, "let MM2 replay its backlog (its record age falls back), then "
          "rerun", 60),
    Cause(MM2_SOURCE_CLIENT, AUTHENTICATION, AUTH_ON_SOURCE, "fix the credentials of MM2's source clients "
          "(source.cluster.sasl.jaas.config, its SASL mechanism or keystore in {connector}'s config) or their user on "
          "the source cluster" + _RESTART, 95),
    Cause(MM2_TARGET_CLIENT, AUTHENTICATION, AUTH_ON_TARGET, "fix the credentials of MM2's target clients "
          "(target.cluster.sasl.jaas.config, its SASL mechanism or keystore in {connector}'s config) or their user on "
          "the target cluster" + _RESTART, 95),
    Cause(MM2_SOURCE_CLIENT, AUTHORIZATION, ACL_ON_SOURCE, "grant {principal} READ and DESCRIBE on the test topic (or "
          "its prefix) on source, and remove any DENY" + _RESTART, 90),
    Cause(MM2_TARGET_CLIENT, AUTHORIZATION, ACL_ON_TARGET, "grant {principal} WRITE, CREATE and DESCRIBE on the remote "
          "topics' prefix on target, and remove any DENY" + _RESTART, 92),
    Cause(MM2_SOURCE_CLIENT, RESOURCE_LIMIT, LIMIT_ON_SOURCE, "raise the limit named in the evidence on the source "
          "side (MM2's consumer fetch sizes, the quota of {principal} on source)" + _RESTART, 88),
    Cause(MM2_TARGET_CLIENT, RESOURCE_LIMIT, LIMIT_ON_TARGET, "the target refuses what MM2 writes: raise the limit "
          "named in the evidence (MM2's target.producer.max.request.size, the remote topic's max.message.bytes, the "
          "brokers' message.max.bytes, a quota or a topic policy), or keep such records off the test topic"
          + _RESTART, 90),
    Cause(MM2_SOURCE_CLIENT, MISCONFIGURATION, CLIENT_CONFIG_ON_SOURCE, "fix what the evidence names on the source "
          "side (the topic, MM2's source.cluster.* client settings)" + _RESTART, 88),
    Cause(MM2_TARGET_CLIENT, MISCONFIGURATION, CLIENT_CONFIG_ON_TARGET, "fix what the evidence names on the target "
          "side (the remote topic, MM2's target.cluster.* client settings)" + _RESTART, 88),
    Cause(MM2_TARGET_CLIENT, MISCONFIGURATION, TOPIC_NOT_CREATED, "let MM2 create the remote topic on target "
          "(CREATE on its prefix for {principal}) or create it by hand", 93),
    Cause(MM2_SOURCE_CLIENT, UNREACHABLE_ADDRESS, MM2_CLUSTER_UNREACHABLE, "fix source.cluster.bootstrap.servers of "
          "{connector} (or the network between MM2 and the source cluster); the worker log shows MM2's connection "
          "errors", 88),
    Cause(MM2_TARGET_CLIENT, UNREACHABLE_ADDRESS, MM2_CLUSTER_UNREACHABLE, "fix target.cluster.bootstrap.servers of "
          "{connector} (or the network between MM2 and the target cluster); the worker log shows MM2's connection "
          "errors", 88),
    Cause(MM2_SOURCE_CLIENT, UNRESPONSIVE, MM2_CLUSTER_UNREACHABLE, "MM2's source clients time out: check the source "
          "brokers and the network between MM2 and them" + _RESTART, 85),
    Cause(MM2_TARGET_CLIENT, UNRESPONSIVE, MM2_CLUSTER_UNREACHABLE, "MM2's target clients time out: check the target "
          "brokers and the network between MM2 and them" + _RESTART, 85),
    Cause(SOURCE_CLUSTER, UNRESPONSIVE, CLUSTER_UNRESPONSIVE, "check the source brokers (process, log, GC, disk, "
          "network); MM2 cannot replicate until they answer", 92),
    Cause(TARGET_CLUSTER, UNRESPONSIVE, CLUSTER_UNRESPONSIVE, "check the target brokers (process, log, GC, disk, "
          "network); MM2 cannot replicate until they answer", 92),
    Cause(SOURCE_CLUSTER, HUNG, CLUSTER_UNRESPONSIVE, "the source brokers accept connections but answer nothing: read "
          "their log, GC and disk, take a thread dump, restart them", 92),
    Cause(TARGET_CLUSTER, HUNG, CLUSTER_UNRESPONSIVE, "the target brokers accept connections but answer nothing: read "
          "their log, GC and disk, take a thread dump, restart them", 92),
    Cause(SOURCE_CLUSTER, DOWN, CLUSTER_UNRESPONSIVE, "start the source brokers, then read their log", 92),
    Cause(TARGET_CLUSTER, DOWN, CLUSTER_UNRESPONSIVE, "start the target brokers, then read their log", 92),
    Cause(SOURCE_CLUSTER, MISCONFIGURATION, SOURCE_TOPIC, "create the test topic on source (or let step 1.1 create "
          "it)", 80),
    Cause(TARGET_CLUSTER, RESOURCE_LIMIT, THROTTLING, "raise or remove the quota of {principal} on target "
          "(kafka-configs --entity-type users)", 80),
    Cause(TARGET_CLUSTER, SLOW, SLOW_NETWORK, "check the network between MM2 and the brokers, and the brokers' load",
          60),
    Cause(SOURCE_CLUSTER, DUPLICATED, DUPLICATES_AT_SOURCE, "check the smoke test's producer retries and any other "
          "producer using the run's tag", 70),
    Cause(TARGET_CLUSTER, DUPLICATED, DUPLICATES_ON_TARGET_WRITER, "find who else writes into the remote topic on "
          "target", 70),
    Cause(UNATTRIBUTED, DUPLICATED, DUPLICATES, "see the duplicates' evidence", 50),
    Cause(METRICS_STORE, DOWN, METRICS, "start Prometheus / check the prometheus connection", 96),
    Cause(METRICS_STORE, MISCONFIGURATION, METRICS, "check the JMX exporter rules and the metric_profile Param (auto "
          "detects it)", 70),
    Cause(SMOKE_CONFIG, MISCONFIGURATION, SMOKE_SETUP, "fix the input named in the evidence, then rerun the smoke "
          "test", 99),
    Cause(SMOKE_CONFIG, AUTHENTICATION, SMOKE_SETUP, "fix the credentials of the Airflow connection named in the "
          "evidence, then rerun", 97),
    Cause(UNATTRIBUTED, NOT_INSPECTED, NO_CAUSE_FOUND, "make the parts that could not be inspected reachable (see the "
          "evidence), then rerun", 3),
    Cause(UNATTRIBUTED, NOTHING_WRONG, NO_CAUSE_FOUND, "see the checks' evidence in the report", 1),
    Cause(UNATTRIBUTED, NOT_INSPECTED, DIAGNOSTIC_FAILED, "see the evidence: the diagnostic could not inspect this "
          "part", 20),
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
