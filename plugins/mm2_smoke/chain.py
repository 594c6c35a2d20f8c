"""The chain's state as the smoke test can see it before and while it runs: MirrorMaker's source connector and its
tasks (Connect REST), its topic filter, and the test topics on both clusters (Kafka admin API).

One reading (:func:`read`), classified into findings (:func:`findings`): a **certain** fault (the connector is
absent, paused, stopped or failed, a task failed, the test topic is filtered out) decides the run without producing;
anything else (Connect REST unreachable, a connector running no task yet, a test topic to create) is a warning and
the run goes on as the runbook says. The pre-flight reads it before step 1.1, step 1.2's wait between its checks.

Pure but for :func:`read` (Connect REST and Kafka admin hooks, imported inside).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote

from mm2_smoke.bomber.client import error_name
from mm2_smoke.checks import Status
from mm2_smoke.dag_layout import CONNECT_CONN
from mm2_smoke.measured import HttpAnswer
from mm2_smoke.settings import SmokeSettings

#: MirrorMaker's default ``topics.exclude`` (DefaultTopicFilter): internal and replica topics, double underscore.
MM2_DEFAULT_EXCLUDE = r".*[\-\.]internal, .*\.replica, __.*"
#: Task and connector states that are a fault for a smoke test; RUNNING is the only good one.
BAD_STATES = ("PAUSED", "STOPPED", "FAILED")


def topic_matches(regex_list: str, topic: str) -> str | None:
    """The first comma-separated regex of an MM2 ``topics`` / ``topics.exclude`` value matching ``topic`` in full."""
    for part in (p.strip() for p in regex_list.split(",")):
        if part:
            try:
                if re.fullmatch(part, topic):
                    return part
            except re.error:
                continue
    return None


@dataclass(frozen=True)
class Finding:
    """One thing found about the chain.

    :param check: what was checked (``connector``, ``task``, ``topics_filter``, ``source_topic``...).
    :param status: GO, NOGO (a fault of the chain) or UNKNOWN (could not look).
    :param certain: the finding alone decides the run (``fail_fast`` stops it without producing).
    :param message: for people: what was found, what to do.
    :param evidence: the answer behind it.
    :param value: what was read, in short (a state).
    :param threshold: the GO condition, in words.
    """

    check: str
    status: Status
    certain: bool
    message: str
    evidence: str = ""
    value: str | None = None
    threshold: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = self.status.value
        return d


@dataclass(frozen=True)
class ChainState:
    """One reading of the chain.

    :param connector: the MirrorSourceConnector's name.
    :param status: Connect REST's answer to its status.
    :param config: Connect REST's answer to its config (None when not asked).
    :param source_topic: the test topic; ``source_topic_exists`` on the source cluster (None: could not look).
    :param remote_topic: the test topic as mirrored; ``remote_topic_exists`` on the target (None: could not look).
    :param kafka_errors: why a cluster could not be asked, by cluster.
    :param kafka_refusals: a cluster that refused the smoke test's own connection (credentials, client certificate,
        CA, address): what to fix, naming the setting and the Airflow connection, by cluster.
    """

    connector: str
    status: HttpAnswer
    config: HttpAnswer | None = None
    source_topic: str = ""
    source_topic_exists: bool | None = None
    remote_topic: str = ""
    remote_topic_exists: bool | None = None
    kafka_errors: dict[str, str] = field(default_factory=dict)
    kafka_refusals: dict[str, str] = field(default_factory=dict)


def _connect_reached(state: ChainState) -> bool:
    """Connect REST answered as Connect does (an HTTP answer with Connect's JSON)."""
    return state.status.status is not None and isinstance(state.status.body, dict)


def connector_findings(state: ChainState) -> list[Finding]:
    """The connector and its tasks: absent, paused/stopped/failed, a failed task (certain); unreachable REST or no
    task yet (warnings)."""
    name, answer = state.connector, state.status
    path = f"GET /connectors/{name}/status"
    if answer.status is None:
        why = answer.error if (answer.error or "").startswith("not inspected") else \
            f"not inspected: Connect REST could not be asked ({answer.error})"
        return [Finding("connector", Status.UNKNOWN, False, f"{why}; the run goes on, the metrics decide", path)]
    if answer.status == 404 and isinstance(answer.body, dict) and "error_code" in answer.body:
        return [Finding("connector", Status.NOGO, True, f"the MirrorSourceConnector {name} is not deployed on the "
                        f"Connect cluster: nothing can replicate the test topic; create it (PUT /connectors/<name>/"
                        "config) or set the source/target aliases Params to its name", f"{path}: HTTP 404",
                        "absent", "present")]
    if answer.status in (401, 403):
        # The smoke test's own connection is refused: certain that no run can inspect MM2 over REST until it is fixed,
        # and never a fault of MM2.
        return [Finding("connector", Status.UNKNOWN, True, f"credentials refused by connection {CONNECT_CONN!r} "
                        f"(Connect REST answered HTTP {answer.status}): MM2's connector was not inspected; set the "
                        "connection's login/password (or the bearer token in its extra) to a user allowed to read "
                        "the Connect REST API", f"{path}: HTTP {answer.status}", f"HTTP {answer.status}", "HTTP 200")]
    if answer.status != 200 or not isinstance(answer.body, dict) or "connector" not in answer.body:
        return [Finding("connector", Status.UNKNOWN, False, f"not inspected: Connect REST answered HTTP "
                        f"{answer.status} ({str(answer.body)[:120]}): check the kafka_connect connection", path)]
    connector_state = answer.body["connector"].get("state", "?")
    tasks = answer.body.get("tasks") or []
    out = []
    if connector_state in BAD_STATES:
        out.append(Finding("connector", Status.NOGO, True, f"the MirrorSourceConnector {name} is {connector_state}: "
                           f"resume or restart it (PUT /connectors/{name}/resume, POST /connectors/{name}/restart)",
                           f"{path}: connector {connector_state}", connector_state, "RUNNING"))
    for t in tasks:
        if t.get("state") in BAD_STATES:
            trace = (t.get("trace") or "").strip().splitlines()
            out.append(Finding("task", Status.NOGO, True, f"task {t.get('id')} of {name} is {t['state']}"
                               + (f": {trace[0]}" if trace else "") + f"; fix it, then POST /connectors/{name}/tasks/"
                               f"{t.get('id')}/restart", f"{path}: task {t.get('id')} {t['state']}", t["state"],
                               "RUNNING"))
    if connector_state == "RUNNING" and not tasks:
        out.append(Finding("task", Status.UNKNOWN, False, f"{name} runs no task: no source topic matched its topics "
                           "filter when it last looked (a new test topic is picked up within refresh.topics."
                           "interval.seconds), or it cannot list the source's topics", f"{path}: 0 tasks", "0 tasks",
                           ">= 1 task"))
    if not out:
        out.append(Finding("connector", Status.GO, True, f"{name} RUNNING with {len(tasks)} task(s) RUNNING",
                           path, "RUNNING", "RUNNING, tasks RUNNING"))
    return out


def worker_down(state: ChainState) -> Finding:
    """Connect REST does not answer and no MM2 series is fresh in a store that answers: both of MM2's outputs are
    silent, so nothing replicates (a certain fault, unlike either silence alone)."""
    return Finding("connector", Status.NOGO, True, f"the Kafka Connect worker running MM2 does not answer (Connect "
                   f"REST: {state.status.error}) and none of MirrorMaker 2's series is fresh in the metrics store: MM2 "
                   "is not running; start the Connect worker (its process, service or pod), then read its log",
                   f"GET {connector_path(state.connector)}/status: {state.status.error}; metric contract: no series "
                   "fresh", "unreachable", "RUNNING")


#: MirrorMaker's heartbeats topic on the target cluster (``DefaultReplicationPolicy.heartbeatsTopic()``).
HEARTBEATS_TOPIC = "heartbeats"


def heartbeat_age_s(target: Any, now_ms: float, timeout_s: float = 5) -> tuple[float | None, str]:
    """How old the newest record of MM2's heartbeats topic on target is, in seconds (Kafka's ListOffsets with the
    max-timestamp spec: DESCRIBE on the topic is enough), or ``(None, why not)``.

    :param target: a :class:`~mm2_smoke.hooks.SmokeKafkaHook` of the target cluster.
    :param now_ms: this host's clock, in epoch milliseconds.
    """
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import OffsetSpec

    try:
        admin = target.admin(**{"socket.timeout.ms": int(timeout_s * 1000), "log_level": 0})
        md = admin.list_topics(topic=HEARTBEATS_TOPIC, timeout=timeout_s).topics.get(HEARTBEATS_TOPIC)
        if md is None or md.error is not None or not md.partitions:
            return None, f"topic {HEARTBEATS_TOPIC} on target: {md.error.str() if md and md.error else 'absent'}"
        asks = {TopicPartition(HEARTBEATS_TOPIC, p): OffsetSpec.max_timestamp() for p in md.partitions}
        newest = max(f.result().timestamp for f in admin.list_offsets(asks, request_timeout=timeout_s).values())
    except Exception as exc:  # noqa: BLE001 - no witness, with its reason
        return None, f"{type(exc).__name__}: {exc}"
    if newest < 0:
        return None, f"topic {HEARTBEATS_TOPIC} on target holds no record"
    return max(0.0, (now_ms - newest) / 1000), ""


def mm2_silent(state: ChainState, heartbeat: tuple[float | None, str], max_age_s: float) -> Finding | None:
    """MM2's exporter answers nothing fresh and its newest heartbeat on target is older than ``max_age_s``: two
    outputs of MM2 silent, so it is not running (certain). None when the heartbeat is recent or cannot be read (one
    silence alone is no proof: the exporter or its scrape may be what is down)."""
    age, why = heartbeat
    if age is None or age <= max_age_s:
        return None
    rest = "" if state.status.status is not None else f"; Connect REST: {state.status.error}"
    return Finding("mm2_process", Status.NOGO, True, f"MirrorMaker 2 is not running: none of its series is fresh in "
                   f"the metrics store and its newest heartbeat on target ({HEARTBEATS_TOPIC}) is {age:.0f} s old "
                   f"(more than {max_age_s:g} s){rest}; start MM2 (its process, service or pod), then read its log",
                   f"metric contract: no series fresh; {HEARTBEATS_TOPIC} newest record {age:.0f} s old",
                   f"heartbeat {age:.0f} s old", f"heartbeat <= {max_age_s:g} s old")


#: Connect's connector states (the ``status`` attribute of ``connector-metrics``, lower case as exported).
CONNECTOR_STATES = ("running", "paused", "stopped", "failed", "unassigned", "restarting")


def exported_status_findings(states: list[str], selector: str) -> list[Finding]:
    """Connector state from the exporter's ``connector-metrics`` status series, for when Connect REST cannot say
    (dedicated mode): a connector not running is certain.

    :param states: the states that have a current series at 1 ([] when the exporter has none: nothing to say).
    :param selector: the connector selector, as the message names it.
    """
    bad = [st for st in states if st != "running"]
    if bad:
        return [Finding("connector", Status.NOGO, True, f"the MirrorSourceConnector (connector=~{selector!r}) is "
                        f"{', '.join(b.upper() for b in bad)} by its exported connector-metrics status: resume or "
                        "restart it (dedicated mode: restart MirrorMaker)", f"connector-metrics status: {', '.join(bad)}",
                        ", ".join(b.upper() for b in bad), "RUNNING")]
    if states:
        return [Finding("connector", Status.GO, True, f"the MirrorSourceConnector (connector=~{selector!r}) is RUNNING "
                        "by its exported connector-metrics status", "connector-metrics status: running", "RUNNING",
                        "RUNNING")]
    return []


def filter_findings(state: ChainState) -> list[Finding]:
    """MirrorMaker's topic filter lets the test topic through (certain when it does not)."""
    if not _connect_reached(state) or state.config is None or state.config.status != 200 or \
            not isinstance(state.config.body, dict):
        return []
    cfg = state.config.body
    topic, topics = state.source_topic, cfg.get("topics", ".*")
    excluded = topic_matches(cfg.get("topics.exclude", MM2_DEFAULT_EXCLUDE), topic)
    if excluded:
        return [Finding("topics_filter", Status.NOGO, True, f"the test topic {topic} is excluded by the connector's "
                        f"topics.exclude ({excluded!r}): remove it from topics.exclude of {state.connector}",
                        f"topics.exclude={cfg.get('topics.exclude')!r}", "excluded", "not excluded")]
    if not topic_matches(topics, topic):
        return [Finding("topics_filter", Status.NOGO, True, f"the test topic {topic} does not match the connector's "
                        f"topics={topics!r}: add it (or its prefix) to topics of {state.connector}",
                        f"topics={topics!r}", "not included", "matches topics")]
    return [Finding("topics_filter", Status.GO, True, f"{topic} passes topics={topics!r}", f"topics={topics!r}",
                    "included", "matches topics, not excluded")]


#: Client error names that say the smoke test's own connection is refused (not that the cluster is silent).
OWN_CONNECTION_ERRORS = ("_AUTHENTICATION", "_RESOLVE", "_SSL", "AUTHORIZATION", "_INVALID_ARG", "_NOT_IMPLEMENTED")


def topic_findings(state: ChainState, topic_missing: str = "create") -> list[Finding]:
    """The test topic on source and its mirror on target. A missing test topic is a warning when step 1.1 creates it
    (``test_topic_missing=create``), a certain NOGO of the chain otherwise; a missing remote topic is a warning
    (MirrorMaker creates it)."""
    out = []
    if state.source_topic_exists is False:
        refresh = (state.config.body.get("refresh.topics.interval.seconds", "600 (default)")
                   if state.config is not None and isinstance(state.config.body, dict) else "600 (default)")
        if topic_missing == "create":
            out.append(Finding("source_topic", Status.UNKNOWN, False, f"the test topic {state.source_topic} does not "
                               "exist on source: step 1.1 creates it, and MirrorMaker picks it up within its "
                               f"refresh.topics.interval.seconds={refresh}", "source metadata", "absent"))
        else:
            out.append(Finding("source_topic", Status.NOGO, True, f"the test topic {state.source_topic} does not exist "
                               "on source (test_topic_missing=fail): create it (the runbook's bomber does), or rerun "
                               "with test_topic_missing=create", "source metadata", "absent", "exists on source"))
    if state.remote_topic_exists is False:
        out.append(Finding("remote_topic", Status.UNKNOWN, False, f"the remote topic {state.remote_topic} does not "
                           "exist on target yet: MirrorMaker creates it with the test topic's first record (it needs "
                           "CREATE on target)", "target metadata", "absent"))
    for cluster, error in state.kafka_errors.items():
        # A silent cluster (no answer in time, transport failure) is certain: the run could neither produce (source)
        # nor count (target), so no GO could come of it; stopping now says why in seconds instead of after the waits.
        # A refusal of the smoke test's own connection (credentials, name, TLS) is left to step 1.1, which names the
        # setting to fix.
        refusal = state.kafka_refusals.get(cluster)
        if refusal:
            # The smoke test's own connection is refused: certain that no run can produce (or count) until it is
            # fixed, and never a fault of MM2; stopping now says so in seconds, with the setting to fix.
            out.append(Finding(f"{cluster}_cluster", Status.UNKNOWN, True, f"the smoke test's own connection to the "
                               f"{cluster} cluster is refused: {refusal}; nothing was produced: fix it and rerun",
                               f"{cluster} metadata: {error}", "refused", "answers a metadata request"))
            continue
        silent = not any(w in error for w in OWN_CONNECTION_ERRORS)
        out.append(Finding(f"{cluster}_cluster", Status.UNKNOWN, silent, f"the {cluster} cluster does not answer the "
                           f"smoke test's metadata request ({error}): the run could not produce or count there; check "
                           f"the {cluster} brokers and the Airflow connection of that cluster", f"{cluster} metadata",
                           "no answer", "answers a metadata request"))
    return out


def findings(state: ChainState, topic_missing: str = "create") -> list[Finding]:
    """Every finding of one reading, certain faults first (``topic_missing``: the run's ``test_topic_missing``)."""
    out = connector_findings(state) + filter_findings(state) + topic_findings(state, topic_missing)
    return sorted(out, key=lambda f: (not (f.certain and f.status is not Status.GO), f.status is Status.GO))


def connector_path(name: str) -> str:
    return f"connectors/{quote(name, safe='')}"


def read(connect: Any, source: Any | None, target: Any | None, settings: SmokeSettings,
         with_config: bool = True) -> ChainState:
    """Read the chain: the connector's status (and config), the test topics' existence on both clusters.

    :param connect: a :class:`~mm2_smoke.hooks.ConnectHook`.
    :param source: a :class:`~mm2_smoke.hooks.SmokeKafkaHook` of the source (None: do not look).
    :param target: the same for the target (None: do not look).
    """
    name = settings.source_connector
    status = connect.get_json(connector_path(name) + "/status")
    config = connect.get_json(connector_path(name) + "/config") if with_config and status.status == 200 else None
    exists: dict[str, bool | None] = {}
    errors: dict[str, str] = {}
    refusals: dict[str, str] = {}
    for cluster, hook, topic in (("source", source, settings.source_topic), ("target", target, settings.remote_topic)):
        if hook is None:
            continue
        client_errors: list[Any] = []
        admin = None
        try:
            admin = hook.admin(**{"socket.timeout.ms": 5000, "error_cb": client_errors.append})
            md = admin.list_topics(timeout=5)
            exists[cluster] = topic in md.topics
        except Exception as exc:  # noqa: BLE001 - a cluster that cannot be asked is a finding, not a crash
            if admin is not None:
                admin.poll(0.2)  # serve the client's error callbacks: they tell a refusal from silence
            codes = sorted({error_name(e) for e in client_errors})
            errors[cluster] = f"{type(exc).__name__}: {exc}" + (f" (client errors: {', '.join(codes)})" if codes else "")
            refusal = own_connection_refusal(client_errors, hook)
            if refusal:
                refusals[cluster] = refusal
    return ChainState(name, status, config, settings.source_topic, exists.get("source"), settings.remote_topic,
                      exists.get("target"), errors, refusals)


def own_connection_refusal(client_errors: list[Any], hook: Any) -> str:
    """What to fix when the client errors say the cluster refused the smoke test's own connection (credentials, client
    certificate, CA, an unknown host), naming the setting and the Airflow connection; '' when they do not say so (a
    silent cluster)."""
    from mm2_smoke.bomber.client import connect_failure

    try:
        config = hook.client_config()
    except Exception:  # noqa: BLE001 - the connection itself is the problem; the validation said so already
        config = {}
    bootstrap, user = str(config.get("bootstrap.servers", "?")), config.get("sasl.username")
    for err in client_errors:
        if not any(w in error_name(err) for w in OWN_CONNECTION_ERRORS):
            continue
        failure = connect_failure(err, bootstrap, user)
        if failure is not None:
            return f"{failure} (in the extra of Airflow connection {getattr(hook, 'kafka_config_id', '?')!r})"
    return ""


#: MirrorSourceTask's config key listing its partitions (``MirrorSourceConfig.TASK_TOPIC_PARTITIONS``).
TASK_PARTITIONS_KEY = "task.assigned.partitions"


def topic_assigned(connect: Any, settings: SmokeSettings) -> bool | None:
    """Whether a task of MM2's source connector is assigned a partition of the test topic now (``GET
    /connectors/<name>/tasks``: each task's ``task.assigned.partitions``, ``topic-N`` comma-separated); None when
    Connect REST cannot say (no answer, or tasks without that key: not a MirrorSourceConnector of a known kind)."""
    answer = connect.get_json(connector_path(settings.source_connector) + "/tasks")
    if answer.status != 200 or not isinstance(answer.body, list):
        return None
    lists = [t.get("config", {}).get(TASK_PARTITIONS_KEY) for t in answer.body if isinstance(t, dict)]
    if not any(v is not None for v in lists):
        return None
    prefix = settings.source_topic + "-"
    return any(p.strip().startswith(prefix) and p.strip()[len(prefix):].isdigit()
               for v in lists if v for p in v.split(","))


def certain_fault(connect: Any, settings: SmokeSettings) -> str | None:
    """The words of a certain fault of the source connector or its tasks, read now (None when there is none, or when
    Connect REST cannot say): what a wait checks between its looks."""
    fault = next((f for f in connector_findings(read(connect, None, None, settings, with_config=False))
                  if f.certain and f.status is Status.NOGO), None)
    return f"{fault.check}: {fault.message}" if fault else None
