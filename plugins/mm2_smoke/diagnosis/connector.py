"""Why MM2 does not read the test topic (runbook "poll_total = 0"): the Connect worker and the
MirrorSourceConnector, its tasks and topics filter, the source topic, MM2's ACLs on source, MM2's own bootstrap
addresses, whether each cluster answers at all, and MM2's heartbeats where no Connect REST can say.

A FAILED task's or connector's trace is read to its real cause (:func:`mm2_smoke.diagnosis.base.trace_diagnosis`,
on :func:`mm2_smoke.traces.read_trace`: the deepest classified exception, and the cluster of the client that raised
it): the diagnosis names that component and class (MM2's target client: authentication refused...), the ``Caused by``
line as evidence, and the fix of its row of :data:`mm2_smoke.diagnosis.base.CAUSES`.

Pure: facts in (Connect REST answers, Kafka admin answers, TCP probes), diagnoses out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mm2_smoke.chain import MM2_DEFAULT_EXCLUDE, topic_matches  # one home: the pre-flight's
from mm2_smoke.diagnosis.base import (
    ACL_ON_SOURCE,
    AUTHENTICATION,
    CLIENT_COMPONENTS,
    CLUSTER_UNRESPONSIVE,
    CONNECT_WORKER,
    CONNECTOR,
    DOWN,
    FAILED,
    HUNG,
    MISCONFIGURATION,
    MM2_CLUSTER_UNREACHABLE,
    MM2_SOURCE_CLIENT,
    NO_TASKS,
    NOT_INSPECTED,
    REPLICATION_STOPPED,
    SMOKE_CONFIG,
    SMOKE_SETUP,
    SOURCE_CLUSTER,
    SOURCE_TOPIC,
    TARGET_CLUSTER,
    TASK_ERROR,
    TOPICS_CONFIG,
    UNREACHABLE_ADDRESS,
    UNRESPONSIVE,
    WORKER_DOWN,
    WORKER_HUNG,
    Acl,
    Diagnosis,
    Inspection,
    acl_allows,
    conclude,
    diagnosis,
    trace_diagnosis,
)
from mm2_smoke.measured import HttpAnswer

#: The clusters, by side.
CLUSTERS = {"source": SOURCE_CLUSTER, "target": TARGET_CLUSTER}


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
    return conclude(symptom, _causes(f, symptom), lambda: _inspection(f))


def _causes(f: ConnectorFacts, symptom: str) -> list[Diagnosis]:
    """What the facts point at ([] when nothing); an unreachable worker, or MM2 not running, says it alone."""
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
        return [_worker_unreachable(f, symptom)]
    connect_404 = isinstance(f.status.body, dict) and "error_code" in f.status.body
    evidence = f"GET /connectors/{f.connector}/status: HTTP {f.status.status} {str(f.status.body)[:200]}"
    if f.status.status is None:
        pass  # REST not inspected (dedicated mode), heartbeats recent: the other facts below still speak
    elif f.status.status == 404 and connect_404:
        out.append(Diagnosis(symptom, WORKER_DOWN, f"connector {f.connector} is not deployed on the Connect cluster",
                             "Connect REST answered 404 for its status",
                             f"create the MM2 connector {f.connector} (PUT /connectors/<name>/config)", 90,
                             CONNECTOR, DOWN))
    elif f.status.status == 404:
        out.append(Diagnosis(symptom, WORKER_DOWN, "the Airflow connection 'kafka_connect' does not point at a Kafka "
                             "Connect REST API (HTTP 404 without Connect's error body)", evidence,
                             "set the host, port and schema of connection 'kafka_connect' to a Connect worker's REST "
                             "listener (e.g. http://connect:8083)", 50, SMOKE_CONFIG, MISCONFIGURATION))
    elif f.status.status in (401, 403):
        # The smoke test's own connection is refused: nothing about MM2 follows from it.
        out.append(Diagnosis(symptom, SMOKE_SETUP, f"credentials refused by connection 'kafka_connect' (Connect REST "
                             f"answered HTTP {f.status.status}): MM2's connector was not inspected", evidence,
                             "set the login/password (or the bearer token in its extra) of Airflow connection "
                             "'kafka_connect' to a user allowed to read the Connect REST API", 50, SMOKE_CONFIG,
                             AUTHENTICATION))
    elif f.status.status != 200:
        out.append(Diagnosis(symptom, WORKER_DOWN, f"the Connect REST API fails (HTTP {f.status.status})", evidence,
                             "check the Connect worker's log (the REST call failed on the worker)", 60,
                             CONNECT_WORKER, FAILED))
    else:
        state = f.status.body["connector"]["state"]
        tasks = f.status.body.get("tasks", [])
        connector_trace = f.status.body["connector"].get("trace")
        if state == "FAILED" and connector_trace:
            out.append(failure_from_trace(f, symptom, f"connector {f.connector}", connector_trace))
        elif state != "RUNNING":
            out.append(Diagnosis(symptom, WORKER_DOWN, f"connector {f.connector} is {state}",
                                 f"Connect REST status: connector state {state}",
                                 f"resume or restart it: PUT /connectors/{f.connector}/resume "
                                 f"or POST /connectors/{f.connector}/restart", 90, CONNECTOR, DOWN))
        for t in tasks:
            if t["state"] == "FAILED":
                out.append(failure_from_trace(f, symptom, f"task {t['id']} of {f.connector}", t.get("trace")))
            elif t["state"] != "RUNNING":
                out.append(Diagnosis(symptom, TASK_ERROR, f"task {t['id']} of {f.connector} is {t['state']}",
                                     f"Connect REST status: task {t['id']} {t['state']}", f"resume or restart it: POST "
                                     f"/connectors/{f.connector}/tasks/{t['id']}/restart", 75, CONNECTOR, DOWN))
    cfg = f.config.body if f.config.status == 200 and isinstance(f.config.body, dict) else None
    included = excluded = None
    if cfg is not None:
        included = topic_matches(cfg.get("topics", ".*"), f.source_topic)
        excluded = topic_matches(cfg.get("topics.exclude", MM2_DEFAULT_EXCLUDE), f.source_topic)
    if f.status.status == 200 and f.status.body["connector"]["state"] == "RUNNING" and not f.status.body.get("tasks"):
        out.append(_no_task(f, symptom, None if cfg is None else bool(included) and not excluded))
    if cfg is not None:
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
                             "named), then rerun", 97, SMOKE_CONFIG, AUTHENTICATION))
    for side, why in f.silent_clusters.items():
        probe = f.bootstrap.get(side)
        hung = probe is not None and bool(probe.answers) and not probe.none_answers
        down = probe is not None and probe.none_answers and all("refused" in e.lower() for e in probe.answers.values())
        tcp = "; its port accepts TCP connections (a hung broker: process stopped, GC, disk)" if hung else ""
        connect_says = ""
        if f.status.status == 200 and isinstance(f.status.body, dict):
            connect_says = (f"; Connect REST still says {f.connector} is {f.status.body['connector']['state']}: its "
                            "status does not see the cluster")
        out.append(Diagnosis(symptom, CLUSTER_UNRESPONSIVE, f"the {side} cluster does not answer Kafka requests, from "
                             "the smoke test" + (f" and at MM2's own address {probe.servers}" if probe else "")
                             + tcp, f"metadata request to {side}: {why}{connect_says}",
                             f"check the {side} brokers (process, log, GC, disk, network); MM2 cannot replicate "
                             "until they answer", 92, CLUSTERS.get(side, SOURCE_CLUSTER),
                             HUNG if hung else DOWN if down else UNRESPONSIVE))
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
                                 88 if differs else 80, CLIENT_COMPONENTS.get(side, MM2_SOURCE_CLIENT),
                                 UNREACHABLE_ADDRESS))
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
    return out


def failure_from_trace(f: ConnectorFacts, symptom: str, what: str, trace: str | None) -> Diagnosis:
    """What a FAILED task's or connector's trace says (:func:`mm2_smoke.diagnosis.base.trace_diagnosis`), for the
    connector's class as its config names it.

    :param what: "task 0 of <connector>" or "connector <connector>".
    :param trace: the trace Connect REST gives (``status.tasks[].trace``, ``status.connector.trace``).
    """
    cfg = f.config.body if f.config.status == 200 and isinstance(f.config.body, dict) else {}
    return trace_diagnosis(symptom, what, trace, connector=f.connector, principal=f.principal or "MM2's principal",
                           connector_class=str(cfg.get("connector.class", "MirrorSourceConnector")).rsplit(".", 1)[-1])


def _worker_unreachable(f: ConnectorFacts, symptom: str) -> Diagnosis:
    """The Connect worker does not answer its REST API: hung when it accepted the connection and did not answer
    (a read timeout), down otherwise (refused, or no connection within the timeout: not told apart)."""
    error = f.status.error or ""
    evidence = f"Connect REST GET /connectors/{f.connector}/status: {error}"
    if "ReadTimeout" in error or "Read timed out" in error:
        return diagnosis(symptom, CONNECT_WORKER, HUNG, "the Kafka Connect worker running MM2 is hung: it accepted "
                         "the connection and did not answer in time", evidence, cause_id=WORKER_HUNG)
    if "ConnectTimeout" in error:
        return diagnosis(symptom, CONNECT_WORKER, UNRESPONSIVE, "the Kafka Connect worker running MM2 does not answer: "
                         "no connection within the timeout (down, hung host or network)", evidence, score=95,
                         cause_id=WORKER_DOWN)
    return Diagnosis(symptom, WORKER_DOWN, "the Kafka Connect worker running MM2 is unreachable", evidence,
                     "start the Connect worker (its process, service or pod), then check its log", 95,
                     CONNECT_WORKER, DOWN)


def _no_task(f: ConnectorFacts, symptom: str, passes_filter: bool | None) -> Diagnosis:
    """The connector runs no task. Its topics filter is to blame only when it does not admit the test topic (the
    config rules say which part); when it does, MM2 cannot see the source's topics (its source admin fails)."""
    if passes_filter:
        return Diagnosis(symptom, NO_TASKS, f"{f.connector} runs no task although the test topic {f.source_topic} "
                         "passes its topics filter: MM2 does not see the source's topics (its source admin client "
                         "fails: authentication, ACLs or address; or the topic is missing)",
                         "Connect REST status: connector RUNNING, 0 tasks; config: the test topic matches topics and "
                         "not topics.exclude", "read the worker log for MirrorSourceConnector's errors; check MM2's "
                         "source credentials, its DESCRIBE on topics and source.cluster.bootstrap.servers", 60,
                         CONNECTOR, NOT_INSPECTED)
    return Diagnosis(symptom, TOPICS_CONFIG, f"{f.connector} runs no task: no source topic matches its topics filter"
                     + ("" if passes_filter is False else ", or MM2 does not see the source's topics"),
                     "Connect REST status: 0 tasks", "check the connector's topics / topics.exclude and that the test "
                     "topic exists", 70, CONNECTOR, MISCONFIGURATION)


def _inspection(f: ConnectorFacts) -> Inspection:
    """What the connector diagnostic inspected, and what it could not."""
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
    return Inspection(inspected, not_inspected)
