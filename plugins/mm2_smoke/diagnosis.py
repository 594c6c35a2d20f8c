"""NOGO diagnosis rules: the runbook's diagnosis table as functions of facts gathered from the live system.

Pure: facts in (Connect REST answers, Kafka admin answers, Prometheus answers), ranked diagnoses out.
Each diagnosis names the symptom, the cause, the evidence and the action, and carries a score (0-100:
how strongly the evidence points at this cause) used to rank the causes, most likely first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

# Symptoms (what the checks showed) -> the diagnostic that inspects them.
REPLICATION_STOPPED = "replication_stopped"  # runbook: poll_total = 0
WRITES_FAILING = "writes_failing"  # runbook: write = 0, poll > 0
LATENCY_HIGH = "latency_high"  # runbook: latency > 500 ms
NOTHING_ON_TARGET = "nothing_on_target"  # runbook: 0 msg on target
METRICS_UNAVAILABLE = "metrics_unavailable"  # UNKNOWN: could not measure
SYMPTOMS = (REPLICATION_STOPPED, WRITES_FAILING, LATENCY_HIGH, NOTHING_ON_TARGET, METRICS_UNAVAILABLE)

# Causes (stable ids for tests and alert routing).
WORKER_DOWN = "worker_or_connector_down"
TOPICS_CONFIG = "topics_config"
SOURCE_TOPIC = "source_topic_missing_or_empty"
ACL_ON_TARGET = "acl_on_target"
TASK_ERROR = "task_error"
THROTTLING = "throttling_or_quotas"
SLOW_NETWORK = "slow_network"
TOPIC_NOT_CREATED = "topic_not_created"
METRICS = "metrics_unavailable"
DIAGNOSTIC_FAILED = "diagnostic_failed"
NO_CAUSE_FOUND = "no_cause_found"
SMOKE_SETUP = "smoke_test_setup"


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
    """Most likely cause first; one entry per cause (the highest-scored)."""
    best: dict[str, Diagnosis] = {}
    for d in diagnoses:
        d = d if isinstance(d, Diagnosis) else Diagnosis(**d)
        if d.cause_id not in best or d.score > best[d.cause_id].score:
            best[d.cause_id] = d
    return sorted(best.values(), key=lambda d: -d.score)


def setup_diagnoses(checks: Sequence[dict[str, Any]]) -> list[Diagnosis]:
    """The smoke test's own input is what failed (Params, connections, its producer's connection): say so first,
    before anything about MM2, with the check's reason (which names the input and the fix) as the evidence."""
    out = []
    for c in checks:
        own = c["step"] == "pre" or (c["name"] == "messages_produced" and c["status"] == "UNKNOWN")
        if own and c["status"] != "GO" and c.get("reason"):
            out.append(Diagnosis(METRICS_UNAVAILABLE, SMOKE_SETUP, "the smoke test's own input or connection is "
                                 "wrong: nothing about MM2 was measured", c["reason"],
                                 "fix the input named in the evidence, then rerun the smoke test", 99))
    return out[:1]


# --- which diagnostics to run -------------------------------------------------------------------
def symptoms_from_checks(checks: Sequence[dict[str, Any]]) -> list[str]:
    """The symptoms a failed run shows, from its checks (``Check.to_dict()``), in :data:`SYMPTOMS` order."""
    by = {c["name"]: c for c in checks}
    produced = by.get("messages_produced")
    if any(c["step"] == "pre" and c["status"] != "GO" for c in checks) or (
            produced is not None and produced["status"] == "UNKNOWN"):
        return []  # the smoke test could not start (its own settings or connections): nothing of MM2 to diagnose

    def status(name: str) -> str | None:
        return by[name]["status"] if name in by else None

    found: set[str] = set()
    poll = by.get("poll_total_increase")
    on_target = by.get("messages_on_target")
    nothing_arrived = on_target is not None and on_target["status"] != "GO" and not on_target["value"]
    if (poll and poll["status"] != "GO") or status("topic_record_count_increase") == "NOGO" or nothing_arrived \
            or status("replication") is not None:
        found.add(REPLICATION_STOPPED)
    if status("write_poll_ratio_pct") == "NOGO" or (status("poll_total_increase") == "GO" and nothing_arrived):
        found.add(WRITES_FAILING)
    if any(status(n) == "NOGO" for n in ("replication_latency_avg_ms", "replication_latency_max_ms",
                                         "active_records_lag", "lag_stable", "offset_commit_max_time_ms")):
        found.add(LATENCY_HIGH)
    if nothing_arrived:
        found.add(NOTHING_ON_TARGET)
    if any(c["status"] == "UNKNOWN" and c["step"] in ("1.2", "1.3") for c in checks):
        found.add(METRICS_UNAVAILABLE)
    return [s for s in SYMPTOMS if s in found]


# --- facts --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HttpAnswer:
    """One answer of an HTTP API: status (None when unreachable), decoded body, or the transport error."""

    status: int | None
    body: Any = None
    error: str | None = None


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


def topic_matches(regex_list: str, topic: str) -> str | None:
    """The first comma-separated regex of an MM2 ``topics`` / ``topics.exclude`` value matching ``topic``."""
    for part in (p.strip() for p in regex_list.split(",")):
        if part:
            try:
                if re.fullmatch(part, topic):
                    return part
            except re.error:
                continue
    return None


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


MM2_DEFAULT_EXCLUDE = r".*[\-\.]internal, .*\.replica, __.*"


def diagnose_connector(f: ConnectorFacts, symptom: str = REPLICATION_STOPPED) -> list[Diagnosis]:
    """Why MM2 does not read the test topic: worker down, connector missing/paused/failed, topics config."""
    out: list[Diagnosis] = []
    if f.status.status is None:
        return [Diagnosis(symptom, WORKER_DOWN, "the Kafka Connect worker running MM2 is unreachable",
                          f"Connect REST GET /connectors/{f.connector}/status: {f.status.error}",
                          "start the Connect worker (its process, service or pod), then check its log", 95)]
    connect_404 = isinstance(f.status.body, dict) and "error_code" in f.status.body
    evidence = f"GET /connectors/{f.connector}/status: HTTP {f.status.status} {str(f.status.body)[:200]}"
    if f.status.status == 404 and connect_404:
        out.append(Diagnosis(symptom, WORKER_DOWN, f"connector {f.connector} is not deployed on the Connect cluster",
                             "Connect REST answered 404 for its status",
                             f"create the MM2 connector {f.connector} (PUT /connectors/<name>/config)", 90))
    elif f.status.status == 404:
        out.append(Diagnosis(symptom, WORKER_DOWN, "the Airflow connection 'kafka_connect' does not point at a Kafka "
                             "Connect REST API (HTTP 404 without Connect's error body)", evidence,
                             "set the host, port and schema of connection 'kafka_connect' to a Connect worker's REST "
                             "listener (e.g. http://connect:8083)", 50))
    elif f.status.status in (401, 403):
        out.append(Diagnosis(symptom, WORKER_DOWN, f"Connect REST refused the credentials (HTTP {f.status.status})",
                             evidence, "set the login/password of Airflow connection 'kafka_connect' to a user "
                             "allowed to read the Connect REST API", 50))
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
    if f.source_topic_exists is False:
        out.append(Diagnosis(symptom, SOURCE_TOPIC, f"the test topic {f.source_topic} does not exist on source",
                             f"source metadata: {f.source_error or 'topic absent'}",
                             "create the test topic on source (or let step 1.1 create it)", 80))
    elif f.source_topic_messages == 0:
        out.append(Diagnosis(symptom, SOURCE_TOPIC, f"the test topic {f.source_topic} is empty on source",
                             "source watermarks: 0 messages", "check step 1.1's delivery report", 60))
    return out


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
    return out


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
    return out


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
        return out
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
    prometheus: HttpAnswer
    targets: list[dict[str, Any]]
    expected_names: list[str]
    present_names: list[str]
    other_profile: str | None = None
    other_profile_present: bool = False


def diagnose_metrics(f: MetricsFacts, symptom: str = METRICS_UNAVAILABLE) -> list[Diagnosis]:
    """Why the metrics could not be measured: Prometheus down, scrape target down, metric names absent."""
    if f.prometheus.status is None:
        return [Diagnosis(symptom, METRICS, "Prometheus is unreachable", f.prometheus.error or "",
                          "start Prometheus / check the prometheus connection", 96)]
    if f.prometheus.status in (401, 403):
        return [Diagnosis(symptom, METRICS, f"Prometheus refused the credentials (HTTP {f.prometheus.status})",
                          str(f.prometheus.body)[:200], "set the login/password of Airflow connection 'prometheus'",
                          85)]
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
    missing = [n for n in f.expected_names if n not in f.present_names]
    if missing:
        hint = (f"; the {f.other_profile!r} naming profile's names are present: set metric_profile="
                f"{f.other_profile}") if f.other_profile_present else ""
        out.append(Diagnosis(symptom, METRICS, f"no series named {', '.join(missing[:3])}",
                             f"Prometheus has none of these metric names{hint}",
                             "check the JMX exporter rules and the naming profile", 70 if not down else 50))
    return out
