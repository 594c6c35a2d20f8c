"""NOGO diagnosis rules: the runbook's diagnosis table as functions of facts gathered from the live system
(:mod:`mm2_smoke.diagnosis.gather` gathers them).

Pure: facts in (Connect REST answers, Kafka admin answers, Prometheus answers), ranked diagnoses out.
Each diagnosis names the symptom, the cause, the evidence and the action, and carries a score (0-100:
how strongly the evidence points at this cause) used to rank the causes, most likely first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from mm2_smoke import registry
from mm2_smoke.chain import MM2_DEFAULT_EXCLUDE, topic_matches  # one home: the pre-flight's
from mm2_smoke.measured import Gap, HttpAnswer

# Symptoms (what the checks showed) -> the diagnostic that inspects them: declared in the registry.
REPLICATION_STOPPED = registry.Symptom.REPLICATION_STOPPED.value
WRITES_FAILING = registry.Symptom.WRITES_FAILING.value
LATENCY_HIGH = registry.Symptom.LATENCY_HIGH.value
NOTHING_ON_TARGET = registry.Symptom.NOTHING_ON_TARGET.value
METRICS_UNAVAILABLE = registry.Symptom.METRICS_UNAVAILABLE.value
DUPLICATES_ON_TARGET = registry.Symptom.DUPLICATES_ON_TARGET.value
SYMPTOMS = tuple(s.symptom.value for s in registry.SYMPTOMS)
#: Each symptom's diagnostic task in the DAG's ``diagnose`` group (task names; the DAG builds them from the registry).
SYMPTOM_TASKS = {s.symptom.value: s.task for s in registry.SYMPTOMS}
#: The two checks of the one rule that reads two checks (see :func:`symptoms_from_checks`).
POLL_CHECK, ON_TARGET_CHECK = registry.spec("poll_total_increase").name, registry.spec("messages_on_target").name

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

    :param symptom: the symptom that led here (one of :data:`SYMPTOMS`).
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


def setup_diagnoses(checks: Sequence[dict[str, Any]]) -> list[Diagnosis]:
    """The smoke test's own input is what failed (Params, connections, its producer's connection): say so first,
    before anything about MM2, with the check's reason (which names the input and the fix) as the evidence."""
    out = []
    for c in checks:
        if c.get("gap") == Gap.OWN_SETUP.value and c["status"] != "GO" and c.get("reason"):
            out.append(Diagnosis(METRICS_UNAVAILABLE, SMOKE_SETUP, "the smoke test's own input or connection is "
                                 "wrong: nothing about MM2 was measured", c["reason"],
                                 "fix the input named in the evidence, then rerun the smoke test", 99))
    return out[:1]


# --- which diagnostics to run -------------------------------------------------------------------
def symptoms_from_checks(checks: Sequence[dict[str, Any]]) -> list[str]:
    """The symptoms a failed run shows, from its checks (``Check.to_dict()``), in :data:`SYMPTOMS` order: each
    check raises what its declaration says (:attr:`mm2_smoke.registry.CheckSpec.raises`).

    Checks of steps that did not run (gap ``not_measured``) show nothing; a failure of the smoke test's own input
    (gap ``own_setup``) leaves nothing of MM2 to diagnose. One rule reads two checks: MM2 polled every message
    (``poll_total_increase`` GO) while none reached the target is a write failure.
    """
    if any(c.get("gap") == Gap.OWN_SETUP.value and c["status"] != "GO" for c in checks):
        return []
    checks = [c for c in checks if c.get("gap") != Gap.NOT_MEASURED.value]
    found: set[str] = set()
    for c in checks:
        declared = registry.BY_NAME.get(c["name"])
        if declared is not None and declared.step == c["step"]:
            found |= declared.symptoms(c["status"], c.get("value"))
    by = {c["name"]: c for c in checks}
    poll, on_target = by.get(POLL_CHECK), by.get(ON_TARGET_CHECK)
    if poll and poll["status"] == "GO" and on_target and NOTHING_ON_TARGET in registry.BY_NAME[
            ON_TARGET_CHECK].symptoms(on_target["status"], on_target.get("value")):
        found.add(WRITES_FAILING)
    return [s for s in SYMPTOMS if s in found]


#: What each diagnostic task inspects (its doc in the DAG).
SYMPTOM_DOCS = {s.symptom.value: s.doc for s in registry.SYMPTOMS}


def route(report: dict[str, Any], group: str) -> list[str]:
    """The diagnostic tasks (ids within ``group``) a failed run's report calls for; ``metrics`` when it shows no
    symptom (UNKNOWN for a reason the checks do not name)."""
    symptoms = symptoms_from_checks(report["checks"]) or [METRICS_UNAVAILABLE]
    return [f"{group}.{SYMPTOM_TASKS[s]}" for s in symptoms]


# --- facts --------------------------------------------------------------------------------------
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


# --- replication stopped: connector and worker ----------------------------------------------------
@dataclass(frozen=True)
class ConnectorFacts:
    connector: str
    status: HttpAnswer
    config: HttpAnswer
    source_topic: str
    source_topic_exists: bool | None = None
    source_topic_messages: int | None = None
    source_error: str | None = None
    principal: str = ""
    source_acls: list[Acl] | None = None  # MM2's principal's ACLs on source (None: could not read them)
    source_acl_error: str | None = None
    #: MM2's own bootstrap of each side (from its connector config), probed from here: side -> probe.
    bootstrap: dict[str, BootstrapProbe] = field(default_factory=dict)
    #: clusters that did not answer a metadata request of the smoke test: side -> the error.
    silent_clusters: dict[str, str] = field(default_factory=dict)
    #: age in seconds of MM2's newest heartbeat on target (None: not read), and why it could not be read.
    heartbeat_age_s: float | None = None
    heartbeat_error: str = ""
    #: heartbeats older than this say MM2 is not running (the ``heartbeat_max_age_s`` setting).
    heartbeat_max_age_s: float = 60.0
    #: clusters that refused the smoke test's own connection: side -> what to fix (setting, Airflow connection).
    refused_clusters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BootstrapProbe:
    """MM2's ``<side>.cluster.bootstrap.servers`` and what a TCP connect to each address from here gave.

    :param answers: address -> '' when it accepted, else the error.
    :param ours: the smoke test's own bootstrap for that side (its Airflow connection).
    """

    servers: str
    answers: dict[str, str]
    ours: str = ""

    @property
    def none_answers(self) -> bool:
        return bool(self.answers) and all(self.answers.values())




def diagnose_connector(f: ConnectorFacts, symptom: str = REPLICATION_STOPPED) -> list[Diagnosis]:
    """Why MM2 does not read the test topic: worker down, connector missing/paused/failed, topics config."""
    out: list[Diagnosis] = []
    stale_heartbeat = f.heartbeat_age_s is not None and f.heartbeat_age_s > f.heartbeat_max_age_s
    if f.status.status is None and (f.status.error or "").startswith("not inspected"):
        # No Connect REST to ask (dedicated mode): MM2's heartbeats on target are the witness that can say.
        if stale_heartbeat:
            return [Diagnosis(symptom, WORKER_DOWN, "MirrorMaker 2 is not running: its newest heartbeat on target is "
                              f"{f.heartbeat_age_s:.0f} s old", f"heartbeats on target: newest record "
                              f"{f.heartbeat_age_s:.0f} s old (> {f.heartbeat_max_age_s:g} s); {f.status.error}",
                              "start MirrorMaker 2 (its process, service or pod), then read its log", 95)]
    elif f.status.status is None:
        return [Diagnosis(symptom, WORKER_DOWN, "the Kafka Connect worker running MM2 is unreachable",
                          f"Connect REST GET /connectors/{f.connector}/status: {f.status.error}",
                          "start the Connect worker (its process, service or pod), then check its log", 95)]
    connect_404 = isinstance(f.status.body, dict) and "error_code" in f.status.body
    evidence = f"GET /connectors/{f.connector}/status: HTTP {f.status.status} {str(f.status.body)[:200]}"
    if f.status.status is None:
        pass  # REST not inspected (dedicated mode), heartbeats recent: the other facts below still speak
    elif f.status.status == 404 and connect_404:
        out.append(Diagnosis(symptom, WORKER_DOWN, f"connector {f.connector} is not deployed on the Connect cluster",
                             "Connect REST answered 404 for its status",
                             f"create the MM2 connector {f.connector} (PUT /connectors/<name>/config)", 90))
    elif f.status.status == 404:
        out.append(Diagnosis(symptom, WORKER_DOWN, "the Airflow connection 'kafka_connect' does not point at a Kafka "
                             "Connect REST API (HTTP 404 without Connect's error body)", evidence,
                             "set the host, port and schema of connection 'kafka_connect' to a Connect worker's REST "
                             "listener (e.g. http://connect:8083)", 50))
    elif f.status.status in (401, 403):
        # The smoke test's own connection is refused: nothing about MM2 follows from it.
        out.append(Diagnosis(symptom, SMOKE_SETUP, f"credentials refused by connection 'kafka_connect' (Connect REST "
                             f"answered HTTP {f.status.status}): MM2's connector was not inspected", evidence,
                             "set the login/password (or the bearer token in its extra) of Airflow connection "
                             "'kafka_connect' to a user allowed to read the Connect REST API", 50))
    elif f.status.status != 200:
        out.append(Diagnosis(symptom, WORKER_DOWN, f"the Connect REST API fails (HTTP {f.status.status})", evidence,
                             "check the Connect worker's log (the REST call failed on the worker)", 60))
    else:
        state = f.status.body["connector"]["state"]
        tasks = f.status.body.get("tasks", [])
        if state != "RUNNING":
            out.append(Diagnosis(symptom, WORKER_DOWN, f"connector {f.connector} is {state}",
                                 f"Connect REST status: connector state {state}",
                                 f"resume or restart it: PUT /connectors/{f.connector}/resume "
                                 f"or POST /connectors/{f.connector}/restart", 90))
        failed = [t for t in tasks if t["state"] != "RUNNING"]
        for t in failed:
            trace = (t.get("trace") or "").strip().splitlines()
            out.append(Diagnosis(symptom, TASK_ERROR, f"task {t['id']} of {f.connector} is {t['state']}",
                                 f"task trace: {trace[0] if trace else 'none'}",
                                 f"fix the error, then POST /connectors/{f.connector}/tasks/{t['id']}/restart", 75))
        if state == "RUNNING" and not tasks:
            out.append(Diagnosis(symptom, TOPICS_CONFIG, f"{f.connector} runs no task: no source topic matches its "
                                 "topics filter", "Connect REST status: 0 tasks",
                                 "check the connector's topics / topics.exclude and that the test topic exists", 70))
    if f.config.status == 200 and isinstance(f.config.body, dict):
        cfg = f.config.body
        included = topic_matches(cfg.get("topics", ".*"), f.source_topic)
        excluded = topic_matches(cfg.get("topics.exclude", MM2_DEFAULT_EXCLUDE), f.source_topic)
        if excluded:
            out.append(Diagnosis(symptom, TOPICS_CONFIG, f"the test topic is excluded by topics.exclude={excluded!r}",
                                 f"connector config topics.exclude={cfg.get('topics.exclude')!r}",
                                 f"remove {excluded!r} from topics.exclude of {f.connector}", 88))
        elif not included:
            out.append(Diagnosis(symptom, TOPICS_CONFIG, f"the test topic does not match topics={cfg.get('topics')!r}",
                                 f"connector config topics={cfg.get('topics')!r}",
                                 f"add the test topic (or its prefix) to topics of {f.connector}", 88))
    for side, refusal in f.refused_clusters.items():
        out.append(Diagnosis(symptom, SMOKE_SETUP, f"the {side} cluster refused the smoke test's own connection: "
                             "nothing about MM2 follows from it", refusal, "fix that Airflow connection (the setting "
                             "named), then rerun", 97))
    for side, why in f.silent_clusters.items():
        probe = f.bootstrap.get(side)
        tcp = ("; its port accepts TCP connections (a hung broker: process stopped, GC, disk)"
               if probe is not None and probe.answers and not probe.none_answers else "")
        connect_says = ""
        if f.status.status == 200 and isinstance(f.status.body, dict):
            connect_says = (f"; Connect REST still says {f.connector} is {f.status.body['connector']['state']}: its "
                            "status does not see the cluster")
        out.append(Diagnosis(symptom, CLUSTER_UNRESPONSIVE, f"the {side} cluster does not answer Kafka requests, from "
                             "the smoke test" + (f" and at MM2's own address {probe.servers}" if probe else "")
                             + tcp, f"metadata request to {side}: {why}{connect_says}",
                             f"check the {side} brokers (process, log, GC, disk, network); MM2 cannot replicate "
                             "until they answer", 92))
    for side, probe in f.bootstrap.items():
        if side in f.silent_clusters or side in f.refused_clusters:
            continue
        if probe.none_answers:
            differs = probe.ours and set(probe.ours.split(",")) != set(probe.servers.split(","))
            out.append(Diagnosis(symptom, MM2_CLUSTER_UNREACHABLE, f"MM2 cannot reach the {side} cluster: its "
                                 f"{side}.cluster.bootstrap.servers={probe.servers} does not answer"
                                 + (f" (the smoke test reaches the {side} cluster at {probe.ours})" if differs else ""),
                                 "TCP connect from the smoke test's host: " + "; ".join(
                                     f"{a}: {e}" for a, e in probe.answers.items())[:300],
                                 f"fix {side}.cluster.bootstrap.servers of {f.connector} (or the network between MM2 "
                                 f"and the {side} cluster); the worker log shows MM2's connection errors",
                                 88 if differs else 80))
    if f.source_acls and f.principal and f.source_topic_exists is not False:
        # No ACL at all for the principal says nothing (a super user, allow.everyone.if.no.acl.found): only ACLs
        # that exist and do not allow, or a DENY, are evidence.
        denied = [op for op in ("READ", "DESCRIBE") if not acl_allows(f.source_acls, f.principal, "TOPIC",
                                                                        f.source_topic, op)]
        deny = any(a.permission == "DENY" for a in f.source_acls)
        if denied:
            rules = [f"{a.permission} {a.operation} {a.resource_type}:{a.pattern_type}:{a.name}" for a in f.source_acls
                     if a.resource_type == "TOPIC"] or ["none on topics"]
            out.append(Diagnosis(symptom, ACL_ON_SOURCE, f"{f.principal} may not {'/'.join(denied)} the test topic "
                                 f"{f.source_topic} on source: MM2's consumer cannot read it (its task stays RUNNING; "
                                 "the worker log shows TopicAuthorizationException)",
                                 f"ACLs of {f.principal} on source: {'; '.join(rules)[:400]}",
                                 f"grant {f.principal} READ and DESCRIBE on the test topic (or its prefix) on source, "
                                 "and remove any DENY", 86 if deny else 70))
    if f.source_topic_exists is False:
        out.append(Diagnosis(symptom, SOURCE_TOPIC, f"the test topic {f.source_topic} does not exist on source",
                             f"source metadata: {f.source_error or 'topic absent'}",
                             "create the test topic on source (or let step 1.1 create it)", 80))
    elif f.source_topic_messages == 0:
        out.append(Diagnosis(symptom, SOURCE_TOPIC, f"the test topic {f.source_topic} is empty on source",
                             "source watermarks: 0 messages", "check step 1.1's delivery report", 60))
    if out:
        return out
    tasks = f.status.body.get("tasks", []) if isinstance(f.status.body, dict) else []
    inspected, not_inspected = [], []
    if isinstance(f.status.body, dict) and "connector" in f.status.body:
        inspected.append(f"Connect REST status of {f.connector}: {f.status.body['connector']['state']}, "
                         + (", ".join(f"task {t['id']} {t['state']}" for t in tasks) or "no task"))
    else:
        not_inspected.append(f"the connector's state ({f.status.error or f'HTTP {f.status.status}'})")
    if f.heartbeat_age_s is not None:
        inspected.append(f"MM2's heartbeats on target (newest {f.heartbeat_age_s:.0f} s old)")
    if f.config.status == 200 and isinstance(f.config.body, dict):
        inspected.append(f"its topics filter (the test topic {f.source_topic} matches)")
    else:
        not_inspected.append(f"its config ({f.config.error or f'HTTP {f.config.status}'})")
    if f.source_topic_exists:
        inspected.append(f"source topic {f.source_topic}: {f.source_topic_messages} message(s)")
    else:
        not_inspected.append(f"source topic {f.source_topic} ({f.source_error or 'not read'})")
    for side, probe in f.bootstrap.items():
        inspected.append(f"MM2's {side}.cluster.bootstrap.servers={probe.servers} answers from here")
    if f.source_acls is not None:
        inspected.append(f"{f.principal}'s ACLs on source (READ, DESCRIBE of the test topic allowed)")
    else:
        not_inspected.append(f"MM2's ACLs on source ({f.source_acl_error or 'not read'})")
    return [no_cause_found(symptom, inspected, not_inspected)]


# --- writes failing: task errors and ACLs on target -------------------------------------------------
@dataclass(frozen=True)
class WriteFacts:
    connector: str
    status: HttpAnswer
    principal: str
    remote_topic: str
    acls: list[Acl] | None
    acl_error: str | None = None
    remote_topic_exists: bool | None = None
    worker_log_errors: list[str] = field(default_factory=list)


_AUTH_ERROR = re.compile(r"(TopicAuthorization|ClusterAuthorization|Authorization)Exception[^\n]*")


def diagnose_writes(f: WriteFacts, symptom: str = WRITES_FAILING) -> list[Diagnosis]:
    """Why MM2 polls but does not write: missing ACLs on target, task errors."""
    out: list[Diagnosis] = []
    traces = []
    if f.status.status == 200 and isinstance(f.status.body, dict):
        traces = [t.get("trace") or "" for t in f.status.body.get("tasks", []) if t["state"] == "FAILED"]
    auth = next((m.group(0) for t in traces if (m := _AUTH_ERROR.search(t))), None)
    if f.acls is not None:
        can_write = acl_allows(f.acls, f.principal, "TOPIC", f.remote_topic, "WRITE")
        if not can_write:
            out.append(Diagnosis(symptom, ACL_ON_TARGET, f"{f.principal} may not WRITE {f.remote_topic} on target",
                                 f"target ACLs of {f.principal}: no ALLOW WRITE matches {f.remote_topic}"
                                 + (f"; task error: {auth}" if auth else ""),
                                 f"grant it: kafka-acls --add --allow-principal {f.principal} --operation Write "
                                 f"--topic {f.remote_topic.split('.')[0]}. --resource-pattern-type prefixed; "
                                 "then restart the failed task", 92))
    elif f.acl_error:
        out.append(Diagnosis(symptom, ACL_ON_TARGET if auth else DIAGNOSTIC_FAILED,
                             "target ACLs could not be read" + (f"; the task failed with {auth}" if auth else ""),
                             f.acl_error, "grant the smoke test's principal DESCRIBE on the target cluster to let it "
                             "read ACLs; check MM2's ACLs by hand", 70 if auth else 20))
    if auth and not any(d.cause_id == ACL_ON_TARGET for d in out):
        out.append(Diagnosis(symptom, ACL_ON_TARGET, "MM2's task fails with an authorization error on target",
                             f"task trace: {auth}", f"check {f.principal}'s ACLs on target", 85))
    for t in traces:
        if t and not _AUTH_ERROR.search(t):
            first = t.strip().splitlines()[0]
            out.append(Diagnosis(symptom, TASK_ERROR, "an MM2 task failed", f"task trace: {first}",
                                 f"fix the error, then POST /connectors/{f.connector}/restart?includeTasks=true"
                                 "&onlyFailed=true", 65))
    if f.status.status is None:
        out.append(Diagnosis(symptom, WORKER_DOWN, "the Kafka Connect worker running MM2 is unreachable",
                             f"Connect REST: {f.status.error}", "start the Connect worker", 90))
    if out:
        return out
    inspected, not_inspected = [], []
    if f.status.status == 200:
        inspected.append(f"Connect REST status of {f.connector}: no FAILED task")
    else:
        not_inspected.append(f"Connect REST status of {f.connector} (HTTP {f.status.status})")
    if f.acls is not None:
        inspected.append(f"{f.principal}'s ACLs on target (WRITE on {f.remote_topic} allowed)")
    else:
        not_inspected.append(f"{f.principal}'s ACLs on target ({f.acl_error or 'not read'})")
    if f.remote_topic_exists is None:
        not_inspected.append(f"whether {f.remote_topic} exists on target")
    else:
        inspected.append(f"{f.remote_topic} {'exists' if f.remote_topic_exists else 'does not exist'} on target")
    return [no_cause_found(symptom, inspected, not_inspected)]


# --- latency: throttling, network ------------------------------------------------------------------
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
    if out:
        return out
    inspected = [f"metadata round trip to the {c} brokers: {rtt:.0f} ms" for c, rtt in f.rtt_ms.items()
                 if rtt is not None]
    not_inspected = []
    if f.throttle_max_ms is not None:
        inspected.append(f"MM2 producer throttle time: {f.throttle_max_ms:g} ms")
    else:
        not_inspected.append(f"MM2 producer throttle time ({f.throttle_error or 'no value'})")
    if f.quotas is not None:
        inspected.append(f"client quotas of {f.principal}: none")
    return [no_cause_found(symptom, inspected, not_inspected)]


# --- nothing on target: the remote topic -------------------------------------------------------------
@dataclass(frozen=True)
class TargetTopicFacts:
    principal: str
    remote_topic: str
    remote_topic_exists: bool | None
    similar_topics: list[str]
    auto_create: str | None
    acls: list[Acl] | None
    acl_error: str | None = None
    metadata_error: str | None = None


def diagnose_target_topic(f: TargetTopicFacts, symptom: str = NOTHING_ON_TARGET) -> list[Diagnosis]:
    """Why nothing arrived on the target: the remote topic was not created, or is named otherwise."""
    out: list[Diagnosis] = []
    if f.remote_topic_exists is None:
        return [Diagnosis(symptom, DIAGNOSTIC_FAILED, "the target's topics could not be listed",
                          f.metadata_error or "", "check the kafka_target connection", 15)]
    if f.remote_topic_exists:
        return [no_cause_found(symptom, [f"target metadata: {f.remote_topic} exists"])]
    reasons = []
    if f.acls is not None and not acl_allows(f.acls, f.principal, "TOPIC", f.remote_topic, "CREATE"):
        reasons.append(f"{f.principal} lacks CREATE on {f.remote_topic}")
    if f.auto_create is not None:
        reasons.append(f"auto.create.topics.enable={f.auto_create}")
    cause = f"the remote topic {f.remote_topic} does not exist on target"
    if reasons:
        cause += ": MM2 could not create it (" + "; ".join(reasons) + ")"
    evidence = f"target metadata has no {f.remote_topic}"
    if f.similar_topics:
        evidence += f"; similar topics: {', '.join(f.similar_topics[:5])} (check the replication policy / alias)"
    out.append(Diagnosis(symptom, TOPIC_NOT_CREATED, cause, evidence,
                         f"grant {f.principal} CREATE on the remote topics' prefix on target (or create "
                         f"{f.remote_topic} by hand); MM2 creates it at its next topics refresh", 93))
    return out


# --- metrics unavailable -----------------------------------------------------------------------------
@dataclass(frozen=True)
class MetricsFacts:
    """What the metrics store shows.

    :param prometheus: its answer to the scrape targets listing.
    :param targets: its active scrape targets.
    :param contract_ok: the smoke test's metric contract holds now (every series the run relies on answers fresh).
    :param contract_summary: what the contract found: the profile, the missing or stale series, a profile that
        would answer (only if its series really do).
    """

    prometheus: HttpAnswer
    targets: list[dict[str, Any]]
    contract_ok: bool = True
    contract_summary: str = ""


def diagnose_metrics(f: MetricsFacts, symptom: str = METRICS_UNAVAILABLE) -> list[Diagnosis]:
    """Why the metrics could not be measured: Prometheus down, scrape target down, metric names absent."""
    if f.prometheus.status is None:
        return [Diagnosis(symptom, METRICS, "Prometheus is unreachable", f.prometheus.error or "",
                          "start Prometheus / check the prometheus connection", 96)]
    if f.prometheus.status in (401, 403):
        return [Diagnosis(symptom, SMOKE_SETUP, f"credentials refused by connection 'prometheus' (the metrics store "
                          f"answered HTTP {f.prometheus.status}): nothing about MM2 was measured",
                          str(f.prometheus.body)[:200], "set the login/password (or the bearer token in its extra) of "
                          "Airflow connection 'prometheus'", 85)]
    if f.prometheus.status != 200 or not isinstance(f.prometheus.body, dict):
        what = f"HTTP {f.prometheus.status}" + ("" if isinstance(f.prometheus.body, dict) else ", not Prometheus' "
                                                 "JSON API")
        return [Diagnosis(symptom, METRICS, f"Prometheus answers {what}", str(f.prometheus.body)[:200],
                          "check that connection 'prometheus' points at Prometheus (host, port, schema, path "
                          "prefix), then Prometheus' log", 80)]
    out: list[Diagnosis] = []
    down = [t for t in f.targets if t.get("health") != "up"]
    if down:
        desc = "; ".join(f"{t.get('scrapeUrl')}: {t.get('health')} ({t.get('lastError') or 'no error'})" for t in down)
        out.append(Diagnosis(symptom, METRICS, "a Prometheus scrape target is down (the JMX exporter runs inside "
                             "the Connect worker: a down target often means a down worker)", desc,
                             "check the Connect worker and its JMX exporter agent", 75))
    if not f.contract_ok:
        out.append(Diagnosis(symptom, METRICS, "the MirrorMaker 2 series the run relies on do not answer fresh "
                             "(judged by their newest sample, not by the names the store lists)", f.contract_summary,
                             "check the JMX exporter rules and the metric_profile Param (auto detects it)",
                             70 if not down else 50))
    if out:
        return out
    return [no_cause_found(symptom, ["Prometheus answered", f"{len(f.targets)} scrape target(s), all up",
                                     "the metric contract holds" + (f" ({f.contract_summary})" if f.contract_summary
                                                                    else "")])]


# --- duplicates on target ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Copy:
    """One copy of a run's message as read back from a topic.

    :param partition: its partition.
    :param offset: its offset.
    :param timestamp_ms: the Kafka record timestamp (MM2 keeps the source's).
    :param producer_id: the producer named in its run tag.
    :param sent_ms: the producer's clock at send, from its run tag.
    :param digest: a hash of its value bytes (MM2 copies them unchanged).
    """

    partition: int
    offset: int
    timestamp_ms: int
    producer_id: str
    sent_ms: int
    digest: str

    def where(self) -> str:
        return f"p{self.partition}@{self.offset}"

    def same_record(self, other: Copy) -> bool:
        """Same bytes and same timestamp: what MM2 re-delivering one source record gives (a second send does not)."""
        return (self.digest, self.timestamp_ms) == (other.digest, other.timestamp_ms)


@dataclass(frozen=True)
class DuplicateFacts:
    """What tells the sources of duplicates apart.

    :param seqs: the duplicated sequence numbers step 1.4 named.
    :param target_copies: every copy on the remote topic of each of ``seqs`` (None: not read, see ``target_error``).
    :param source_copies: every copy on the source test topic of each of ``seqs`` (None: not read).
    :param counter_resets: how many times MM2's task counters reset during the run (step 1.2; None: unknown).
    :param connector_status: Connect REST status of the MirrorSourceConnector (None: not asked).
    :param exactly_once: the connector's ``exactly.once.support`` ('' when unset; None when its config was not read).
    """

    connector: str
    source_topic: str
    remote_topic: str
    seqs: list[int]
    target_copies: dict[int, list[Copy]] | None
    source_copies: dict[int, list[Copy]] | None
    counter_resets: int | None = None
    connector_status: HttpAnswer | None = None
    exactly_once: str | None = None
    target_error: str | None = None
    source_error: str | None = None


#: Where duplicates come from and what tells them apart (every duplicates diagnosis's action ends with it).
DUPLICATE_SOURCES = ("duplicates come from: (1) the source producer sending twice (a retried produce without "
                     "enable.idempotence, or a second producer writing the run's tag): the source topic holds the seq "
                     "twice too; (2) MM2 re-delivering after a task restart or rebalance without exactly-once (worker "
                     "exactly.once.source.support=enabled and connector exactly.once.support=required): source holds "
                     "it once, the target copies are byte-identical with the same timestamp, and MM2's task counters "
                     "reset; (3) another producer writing the run's records into the remote topic on target: source "
                     "holds it once and the target copies differ (timestamp, producer)")


def _copies_text(seq: int, copies: list[Copy]) -> str:
    return f"seq {seq}: " + ", ".join(f"{c.where()} ts {c.timestamp_ms} by {c.producer_id!r}" for c in copies[:4])


def _mm2_restart_evidence(f: DuplicateFacts) -> str:
    parts = []
    if f.counter_resets is not None:
        parts.append(f"MM2's task counters reset {f.counter_resets} time(s) during the run")
    else:
        parts.append("MM2's task counter resets are unknown")
    if f.exactly_once is not None:
        parts.append(f"connector exactly.once.support={f.exactly_once or 'unset (default: not required)'}")
    else:
        parts.append("the connector's exactly.once.support could not be read")
    if f.connector_status is not None and f.connector_status.status == 200 and isinstance(f.connector_status.body, dict):
        tasks = f.connector_status.body.get("tasks", [])
        parts.append("tasks " + ", ".join(f"{t.get('id')}={t.get('state')} on {t.get('worker_id')}" for t in tasks))
    elif f.connector_status is not None:
        parts.append(f"Connect REST status not read ({f.connector_status.error or f.connector_status.status})")
    return "; ".join(parts)


def diagnose_duplicates(f: DuplicateFacts, symptom: str = DUPLICATES_ON_TARGET) -> list[Diagnosis]:
    """Where the run's duplicates come from: the source producer, MM2's re-delivery, a writer on target; each with
    the copies (offsets, timestamps, producers) as evidence. Always at least one diagnosis: an undetermined one says
    what could not be read."""
    shown = ", ".join(map(str, f.seqs[:20])) + (" ..." if len(f.seqs) > 20 else "")
    if f.target_copies is None:
        return [Diagnosis(symptom, DUPLICATES, f"{len(f.seqs)} sequence number(s) of the run on the remote topic "
                          f"{f.remote_topic} more than once (seq {shown}); where they come from could not be told: the "
                          "target's copies could not be re-read", f"target not re-read: {f.target_error or 'unknown'}"
                          + (f"; source: {f.source_error}" if f.source_error else "") + "; " + _mm2_restart_evidence(f),
                          DUPLICATE_SOURCES, 40)]
    at_source, by_mm2, on_target, undetermined = [], [], [], []
    for seq in f.seqs:
        copies = f.target_copies.get(seq, [])
        on_source = None if f.source_copies is None else f.source_copies.get(seq, [])
        identical = len(copies) > 1 and all(c.same_record(copies[0]) for c in copies[1:])
        if on_source is not None and len(on_source) > 1:
            at_source.append((seq, copies, on_source))
        elif on_source is not None and len(on_source) == 1 and len(copies) > 1:
            (by_mm2 if identical else on_target).append((seq, copies, on_source))
        else:
            undetermined.append((seq, copies, on_source))
    out: list[Diagnosis] = []

    def seqs_of(group: list[Any]) -> str:
        return ", ".join(str(g[0]) for g in group[:20]) + (" ..." if len(group) > 20 else "")

    def evidence_of(group: list[Any]) -> str:
        return "; ".join(f"{_copies_text(seq, copies)} (source holds {len(src) if src is not None else '?'})"
                         for seq, copies, src in group[:3])

    if at_source:
        producers = {c.producer_id for _, _, src in at_source for c in src}
        retried = all(all(c.same_record(src[0]) or (c.producer_id, c.sent_ms) == (src[0].producer_id,
                                                                                  src[0].sent_ms) for c in src)
                      for _, _, src in at_source)
        how = ("a retried produce (same producer, same send: a resend without enable.idempotence=true)" if retried
               else f"a second send of the run's tag (producers {', '.join(sorted(producers))})")
        out.append(Diagnosis(symptom, DUPLICATES_AT_SOURCE, f"source cluster / the smoke test's producer: duplicates "
                             f"(data anomaly): seq {seqs_of(at_source)} are on the source topic {f.source_topic} more "
                             f"than once: {how}; MM2 copied what it was given",
                             "source " + "; ".join(_copies_text(seq, src) for seq, _, src in at_source[:3]),
                             "make the producer idempotent (enable.idempotence=true, acks=all) and make sure a single "
                             "producer writes a run's tag; " + DUPLICATE_SOURCES, 90))
    if on_target:
        out.append(Diagnosis(symptom, DUPLICATES_ON_TARGET_WRITER, f"remote topic on target: duplicates (data anomaly): "
                             f"seq {seqs_of(on_target)} are once on source but more than once on {f.remote_topic}, in "
                             "copies that differ (timestamp or producer): something other than MM2 wrote the run's "
                             "records into the remote topic", evidence_of(on_target),
                             f"find the producer writing into {f.remote_topic} on target (only MM2 should: restrict "
                             "WRITE on the remote topics to MM2's principal); " + DUPLICATE_SOURCES, 88))
    if by_mm2:
        out.append(Diagnosis(symptom, DUPLICATES_BY_MM2, f"MirrorSourceConnector tasks / MM2's target producer: "
                             f"duplicates (data anomaly): seq {seqs_of(by_mm2)} are once on source and several "
                             f"identical copies on {f.remote_topic}: MM2 re-delivered them (task restart or rebalance "
                             "without exactly-once, or a producer retry without idempotence)",
                             evidence_of(by_mm2) + "; " + _mm2_restart_evidence(f),
                             "enable exactly-once for MM2 (Connect workers exactly.once.source.support=enabled, "
                             f"{f.connector} exactly.once.support=required) or let consumers on target deduplicate; "
                             "find the task restarts in the worker log; " + DUPLICATE_SOURCES,
                             85 if f.counter_resets or f.exactly_once in ("", None) else 70))
    if undetermined:
        why = ("the source topic could not be re-read: " + (f.source_error or "unknown")) if f.source_copies is None \
            else "their copies were not all found again (outside the read window or retention)"
        out.append(Diagnosis(symptom, DUPLICATES, f"remote topic on target: duplicates (data anomaly): seq "
                             f"{seqs_of(undetermined)} are on {f.remote_topic} more than once; their origin is not "
                             f"told: {why}", evidence_of(undetermined) + "; " + _mm2_restart_evidence(f),
                             DUPLICATE_SOURCES, 45))
    return out


# --- no cause found: what was inspected, what could not be ----------------------------------------------
def no_cause_found(symptom: str, inspected: Sequence[str], not_inspected: Sequence[str] = (),
                   unknown_checks: Sequence[str] = ()) -> Diagnosis:
    """The finding of a diagnostic whose rules found nothing: the parts it inspected, those it could not, and the
    run's checks that were UNKNOWN. It says "nothing wrong was found" only where every part was inspected and no
    check was UNKNOWN; otherwise it says what is not known."""
    evidence = "inspected: " + ("; ".join(inspected) if inspected else "nothing")
    if not_inspected:
        evidence += "; could NOT inspect: " + "; ".join(not_inspected)
    if unknown_checks:
        evidence += "; UNKNOWN checks of the run: " + ", ".join(unknown_checks)
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


def honest(diagnoses: Sequence[Diagnosis], checks: Sequence[dict[str, Any]]) -> list[Diagnosis]:
    """``diagnoses`` with every "no cause found" told the run's UNKNOWN checks (a diagnostic does not see them):
    none of them then reads as a clean bill while a check could not measure."""
    unknown = [f"{c['step']} {c['name']}" for c in checks if c.get("status") == "UNKNOWN"]
    if not unknown:
        return list(diagnoses)
    out = []
    for d in diagnoses:
        if d.cause_id == NO_CAUSE_FOUND and "UNKNOWN checks of the run" not in d.evidence:
            d = Diagnosis(d.symptom, d.cause_id, f"no cause found for {d.symptom}, and this is not a clean bill: "
                          f"{len(unknown)} check(s) of the run were UNKNOWN",
                          f"{d.evidence}; UNKNOWN checks of the run: {', '.join(unknown)}",
                          "make what the UNKNOWN checks could not measure measurable (see their reasons), then rerun; "
                          "until then the cause may be there", max(d.score, 3))
        out.append(d)
    return out
