"""The NOGO path's diagnostic tasks: gather facts from the live system, apply the rules of the symptom's component
(:mod:`.connector`, :mod:`.writes`, :mod:`.latency`, :mod:`.target_topic`, :mod:`.metrics`, :mod:`.duplicates`).

One function per runbook symptom. Each never raises: a diagnostic that cannot reach what it inspects
says so as its finding.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from mm2_smoke import chain
from mm2_smoke.diagnosis import connector, duplicates, latency, metrics, target_topic, writes
from mm2_smoke.diagnosis.base import (
    DIAGNOSTIC_FAILED,
    DUPLICATES_ON_TARGET,
    LATENCY_HIGH,
    METRICS_UNAVAILABLE,
    NOTHING_ON_TARGET,
    REPLICATION_STOPPED,
    WRITES_FAILING,
    Acl,
    Diagnosis,
    Inspection,
    conclude,
    no_cause_found,
)
from mm2_smoke.diagnosis.routing import SYMPTOMS
from mm2_smoke.measured import HttpAnswer
from mm2_smoke.settings import SmokeSettings

log = logging.getLogger(__name__)


def safely(symptom: str, body: Callable[[], list[Diagnosis]]) -> list[dict[str, Any]]:
    """Run a diagnostic; its failure becomes a finding, never an exception on the NOGO path."""
    t0 = time.monotonic()
    try:
        found = body()
    except Exception as exc:  # noqa: BLE001 - reported as the diagnostic's own finding
        log.exception("diagnostic %s failed", symptom)
        found = [Diagnosis(symptom, DIAGNOSTIC_FAILED, f"the {symptom} diagnostic could not run",
                           f"{type(exc).__name__}: {exc}", "see the task log", 5)]
    found = conclude(symptom, found, lambda: Inspection(not_inspected=["the diagnostic named nothing it inspected"]))
    for d in found:
        log.info("diagnosis [%s] score %d: %s | evidence: %s | action: %s", d.symptom, d.score, d.cause, d.evidence,
                 d.action)
    log.info("diagnostic %s took %.2f s", symptom, time.monotonic() - t0)
    return [d.to_dict() for d in found]


def _acls(admin: Any, principal: str, cluster: str = "target") -> tuple[list[Acl] | None, str | None]:
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import (
        AclBindingFilter,
        AclOperation,
        AclPermissionType,
        ResourcePatternType,
        ResourceType,
    )

    flt = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, principal, None, AclOperation.ANY,
                           AclPermissionType.ANY)
    try:
        bindings = admin.describe_acls(flt, request_timeout=10).result()
    except KafkaException as exc:
        return None, f"describe ACLs of {principal} on {cluster}: {exc.args[0].str()}"
    return [Acl(b.principal, "CLUSTER" if b.restype.name == "BROKER" else b.restype.name, b.name,
                b.resource_pattern_type.name, b.operation.name, b.permission_type.name) for b in bindings], None


def _topic_exists(admin: Any, topic: str) -> tuple[bool | None, list[str], str | None]:
    from confluent_kafka import KafkaException

    try:
        md = admin.list_topics(timeout=10)
    except KafkaException as exc:
        return None, [], exc.args[0].str()
    names = list(md.topics)
    return topic in names, names, None


def tcp_answers(servers: str, timeout_s: float = 2.0) -> dict[str, str]:
    """A TCP connect to each ``host:port`` of a bootstrap list: '' when it was accepted, else the error."""
    import socket

    out = {}
    for addr in (a.strip() for a in servers.split(",") if a.strip()):
        host, _, port = addr.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
                out[addr] = ""
        except (OSError, ValueError) as exc:
            out[addr] = f"{type(exc).__name__}: {exc}"
    return out


def mm2_bootstrap(config: Any, hooks: dict[str, Any]) -> dict[str, connector.BootstrapProbe]:
    """MM2's own bootstrap of each side, from its connector config, probed from here (beside the smoke test's)."""
    body = config.body if isinstance(config.body, dict) else {}
    out = {}
    for side in ("source", "target"):
        servers = body.get(f"{side}.cluster.bootstrap.servers")
        if not servers:
            continue
        ours = ""
        if hooks.get(side) is not None:
            try:
                ours = hooks[side].client_config().get("bootstrap.servers", "")
            except Exception:  # noqa: BLE001 - only for the comparison
                ours = ""
        out[side] = connector.BootstrapProbe(servers, tcp_answers(servers), ours)
    return out


def cluster_answer(hook: Any, timeout_s: float = 5.0) -> tuple[str, str]:
    """A Kafka metadata request to a cluster through the smoke test's connection: ``(why it did not answer, what to
    fix when the cluster refused the smoke test's own connection)``, ``('', '')`` when it answered."""
    errors: list[Any] = []
    admin = None
    try:
        admin = hook.admin(**{"socket.timeout.ms": int(timeout_s * 1000), "error_cb": errors.append})
        admin.list_topics(timeout=timeout_s)
        return "", ""
    except Exception as exc:  # noqa: BLE001 - the answer is the finding
        if admin is not None:
            admin.poll(0.2)  # serve the error callbacks: they tell a refusal from silence
        return f"{type(exc).__name__}: {exc}"[:300], chain.own_connection_refusal(errors, hook)


def connector_diagnostic(connect: Any, source: Any, settings: SmokeSettings, target: Any = None
                         ) -> list[dict[str, Any]]:
    """Runbook "poll_total = 0": the MM2 connector's and tasks' state, its topics filter, the source topic, MM2's
    ACLs on source, MM2's own bootstrap addresses, and whether each cluster answers the smoke test at all."""

    def body() -> list[Diagnosis]:
        from confluent_kafka import TopicPartition

        name = settings.source_connector
        path = f"connectors/{quote(name, safe='')}"
        status = connect.get_json(path + "/status")
        config = connect.get_json(path + "/config") if status.status is not None else HttpAnswer(None)
        # Whether each cluster answers the smoke test at all comes first: a cluster that refuses the smoke test's own
        # connection is not asked anything else (each ask would only wait for its timeout).
        answers = {side: cluster_answer(hook) for side, hook in (("source", source), ("target", target))
                   if hook is not None}
        silent = {side: why for side, (why, refused) in answers.items() if why and not refused}
        refusals = {side: refused for side, (_why, refused) in answers.items() if refused}
        exists, messages, err = None, None, None
        acls, acl_error = None, f"not read: {refusals.get('source')}"
        if "source" not in refusals:
            try:
                consumer = source.consumer(**{"group.id": "mm2-smoke-diagnostics", "enable.auto.commit": False})
                try:
                    md = consumer.list_topics(settings.source_topic, timeout=10)
                    meta = md.topics.get(settings.source_topic)
                    exists = meta is not None and meta.error is None
                    if exists:
                        messages = 0
                        for p in meta.partitions:
                            low, high = consumer.get_watermark_offsets(TopicPartition(settings.source_topic, p),
                                                                       timeout=10)
                            messages += high - low
                    else:
                        err = str(meta.error) if meta is not None else "absent"
                finally:
                    consumer.close()
            except Exception as exc:  # noqa: BLE001
                err = f"{type(exc).__name__}: {exc}"
            try:
                acls, acl_error = _acls(source.admin(), settings.mm2_principal, "source")
            except Exception as exc:  # noqa: BLE001 - not inspected, said so
                acls, acl_error = None, (f"describe ACLs of {settings.mm2_principal} on source: "
                                         f"{type(exc).__name__}: {exc}")
        bootstrap = mm2_bootstrap(config, {"source": source, "target": target}) if config.status == 200 else {}
        target_answers = target is not None and not answers.get("target", ("", ""))[0]
        # MM2's heartbeats are the witness where Connect REST cannot say (dedicated mode, REST unreachable).
        age, age_error = (chain.heartbeat_age_s(target, time.time() * 1000) if target_answers and
                          status.status is None else (None, "not read"))
        return connector.diagnose_connector(connector.ConnectorFacts(
            name, status, config, settings.source_topic, exists, messages, err, settings.mm2_principal, acls,
            acl_error, bootstrap, silent, age, age_error, settings.heartbeat_max_age_s, refusals))

    return safely(REPLICATION_STOPPED, body)


def writes_diagnostic(connect: Any, target: Any, settings: SmokeSettings) -> list[dict[str, Any]]:
    """Runbook "write = 0, poll > 0": the tasks' errors and MM2's ACLs on target."""

    def body() -> list[Diagnosis]:
        status = connect.get_json(f"connectors/{quote(settings.source_connector, safe='')}/status")
        admin = target.admin()
        acls, acl_error = _acls(admin, settings.mm2_principal)
        exists, _names, _err = _topic_exists(admin, settings.remote_topic)
        return writes.diagnose_writes(writes.WriteFacts(settings.source_connector, status, settings.mm2_principal,
                                                        settings.remote_topic, acls, acl_error, exists))

    return safely(WRITES_FAILING, body)


def latency_diagnostic(prom: Any, source: Any, target: Any, settings: SmokeSettings,
                       run: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Runbook "latency > 500 ms": MM2's producer throttle time, client quotas, round trips to the brokers, and
    MM2's latency now against this run's own one-clock latency (``run``'s ``e2e_p99_ms``: a backlog replay)."""

    def body() -> list[Diagnosis]:
        from mm2_smoke.java_tools import describe_user_quotas

        rtt: dict[str, float | None] = {}
        rtt_errors: dict[str, str] = {}
        for cluster, hook in (("source", source), ("target", target)):
            try:
                admin = hook.admin()
                admin.list_topics(timeout=10)  # connect + authenticate
                t0 = time.monotonic()
                admin.list_topics(timeout=10)
                rtt[cluster] = (time.monotonic() - t0) * 1000
            except Exception as exc:  # noqa: BLE001
                rtt[cluster], rtt_errors[cluster] = None, f"{type(exc).__name__}: {exc}"
        q = settings.queries.mm2_producer_throttle_ms
        sample = prom.query(q)
        quotas, quota_error = None, None
        try:
            quotas = describe_user_quotas(target.client_config(), settings.mm2_principal.removeprefix("User:"))
        except Exception as exc:  # noqa: BLE001 - confluent-kafka has no quota API; the tools may be absent
            quota_error = f"client quotas not read: {exc}"
        avg, worst = prom.query(settings.queries.latency_avg_ms), prom.query(settings.queries.latency_max_ms)
        return latency.diagnose_latency(latency.LatencyFacts(settings.mm2_principal, rtt, rtt_errors,
                                                             sample.value if sample.ok else None, q,
                                                             None if sample.ok else sample.reason, quotas,
                                                             quota_error, (run or {}).get("e2e_p99_ms"),
                                                             avg.value if avg.ok else None,
                                                             worst.value if worst.ok else None))

    return safely(LATENCY_HIGH, body)


def target_topic_diagnostic(target: Any, settings: SmokeSettings) -> list[dict[str, Any]]:
    """Runbook "0 msg on target": does the remote topic exist, could MM2 create it, is it named otherwise."""

    def body() -> list[Diagnosis]:
        from confluent_kafka.admin import ConfigResource

        admin = target.admin()
        exists, names, md_error = _topic_exists(admin, settings.remote_topic)
        similar = [n for n in names if settings.source_topic in n and n != settings.remote_topic]
        acls, acl_error = _acls(admin, settings.mm2_principal)
        auto_create = None
        if exists is False:
            try:
                broker = next(iter(admin.list_topics(timeout=10).brokers))
                res = ConfigResource(ConfigResource.Type.BROKER, str(broker))
                entries = admin.describe_configs([res], request_timeout=10)[res].result()
                auto_create = entries["auto.create.topics.enable"].value
            except Exception as exc:  # noqa: BLE001 - a missing DESCRIBE_CONFIGS right is not fatal
                log.info("broker config not readable: %s", exc)
        return target_topic.diagnose_target_topic(target_topic.TargetTopicFacts(
            settings.mm2_principal, settings.remote_topic, exists, similar, auto_create, acls, acl_error, md_error))

    return safely(NOTHING_ON_TARGET, body)


def metrics_diagnostic(prom: Any, settings: SmokeSettings) -> list[dict[str, Any]]:
    """UNKNOWN: is the metrics store reachable, are its scrape targets up, does the metric contract hold at diagnosis
    time."""

    def body() -> list[Diagnosis]:
        from mm2_smoke.preflight import metric_contract

        answer = prom.get_json("api/v1/targets")
        targets: list[dict[str, Any]] = []
        contract_ok, summary = True, ""
        if answer.status == 200 and isinstance(answer.body, dict):
            targets = answer.body.get("data", {}).get("activeTargets", [])
            contract = metric_contract(prom, settings)
            contract_ok, summary = contract.status.value == "GO", contract.summary
        return metrics.diagnose_metrics(metrics.MetricsFacts(answer, targets, contract_ok, summary))

    return safely(METRICS_UNAVAILABLE, body)


def find_copies(hook: Any, topic: str, run_tag: str, seqs: list[int], since_ms: int, timeout_s: float
                ) -> tuple[dict[int, list[duplicates.Copy]] | None, str | None]:
    """Every copy of the run's ``seqs`` on ``topic`` (read from ``since_ms`` up to the end offsets seen at start),
    or None and why it could not be read."""
    import hashlib

    from mm2_smoke.message import decode
    from mm2_smoke.run_reader import PartitionReader, reader_settings

    wanted = set(seqs)
    found: dict[int, list[duplicates.Copy]] = {s: [] for s in seqs}
    try:
        consumer = hook.consumer(**reader_settings("mm2-smoke-diagnostics"))
    except Exception as exc:  # noqa: BLE001
        return None, f"{type(exc).__name__}: {exc}"
    try:
        meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or meta.error is not None:
            return None, f"{topic}: {meta.error if meta is not None else 'absent'}"
        reader = PartitionReader(consumer, [(topic, p) for p in meta.partitions], since_ms, until_end=True,
                                 deadline=time.monotonic() + timeout_s)
        for batch in reader.batches():
            if batch.failures:
                return None, f"reading {topic} failed: {batch.failures[0].error()}"
            for msg in batch.messages:
                tag = decode(msg.value())
                if tag is not None and tag.run_id == run_tag and tag.seq in wanted:
                    found[tag.seq].append(duplicates.Copy(msg.partition(), msg.offset(), msg.timestamp()[1],
                                                          tag.producer_id, tag.ts_ms,
                                                          hashlib.sha1(msg.value()).hexdigest()[:12]))
        if not reader.reached_end:
            return None, f"{topic} not read to its end within {timeout_s:g} s"
    except Exception as exc:  # noqa: BLE001
        return None, f"{topic}: {type(exc).__name__}: {exc}"
    finally:
        consumer.close()
    return found, None


def duplicates_diagnostic(connect: Any, source: Any, target: Any, settings: SmokeSettings, run: dict[str, Any]
                          ) -> list[dict[str, Any]]:
    """Step 1.4's duplicates: every copy of each duplicated seq on target and on source, MM2's task restarts and its
    exactly-once setting.

    :param run: ``run_tag``, ``since_ms`` (read from), ``duplicate_seqs``, ``counter_resets`` (None: unknown)
        (:func:`run_facts`).
    """

    def body() -> list[Diagnosis]:
        seqs = list(run.get("duplicate_seqs") or [])[:200]
        if not seqs or not run.get("run_tag"):
            return [no_cause_found(DUPLICATES_ON_TARGET, [], ["step 1.4's duplicated sequence numbers and run tag (not "
                                                              "in the run's results)"])]
        timeout = min(30.0, float(settings.count_timeout_s))
        since = int(run.get("since_ms") or 0)
        target_copies, target_error = find_copies(target, settings.remote_topic, run["run_tag"], seqs, since, timeout)
        source_copies, source_error = find_copies(source, settings.source_topic, run["run_tag"], seqs, since, timeout)
        path = f"connectors/{quote(settings.source_connector, safe='')}"
        status = connect.get_json(path + "/status")
        config = connect.get_json(path + "/config") if status.status is not None else HttpAnswer(None)
        exactly_once = (config.body.get("exactly.once.support", "") if config.status == 200
                        and isinstance(config.body, dict) else None)
        return duplicates.diagnose_duplicates(duplicates.DuplicateFacts(
            settings.source_connector, settings.source_topic, settings.remote_topic, seqs, target_copies,
            source_copies, run.get("counter_resets"), status, exactly_once, target_error, source_error))

    return safely(DUPLICATES_ON_TARGET, body)


def run_facts(produced: dict[str, Any] | None, count: dict[str, Any] | None,
              replication: dict[str, Any] | None) -> dict[str, Any]:
    """What the diagnostics read from the steps' results: the run tag, where to read from (as step 1.4 did), the
    duplicated sequence numbers and how many times MM2's task counters reset (None: unknown) for the duplicates
    diagnostic; this run's one-clock p99 (``e2e_p99_ms``) for the latency diagnostic."""
    produced, count = produced or {}, count or {}
    growth = (replication or {}).get("growth")
    resets = max((g.get("resets", 0) for g in growth.values()), default=0) if isinstance(growth, dict) else None
    e2e = produced.get("e2e") or {}
    return {"run_tag": produced.get("run_tag"),
            "since_ms": produced["started_ms"] - 60_000 if produced.get("started_ms") else 0,
            "duplicate_seqs": count.get("duplicates", []), "counter_resets": resets,
            "e2e_p99_ms": e2e.get("p99") if e2e.get("count") else None}


def run_diagnostic(symptom: str, settings: dict[str, Any], run: dict[str, Any] | None = None
                   ) -> list[dict[str, Any]]:
    """The diagnostic task of ``symptom``: its findings (``Diagnosis.to_dict()``), never an exception.

    Builds the hooks of the DAG's connections (:mod:`mm2_smoke.dag_layout`) and runs the symptom's diagnostic.

    :param run: what the run's steps found that a diagnostic reads (:func:`run_facts`).
    """
    from mm2_smoke import dag_layout as ids
    from mm2_smoke.hooks import PrometheusHook, SmokeKafkaHook, connect_rest
    from mm2_smoke.settings import from_params
    from mm2_smoke.topology import conns

    s = from_params(settings)
    source_conn, target_conn = conns(settings)  # the flow's clusters (today's two for a one-flow run)
    if symptom == REPLICATION_STOPPED:
        return connector_diagnostic(connect_rest(s), SmokeKafkaHook(source_conn), s, SmokeKafkaHook(target_conn))
    if symptom == WRITES_FAILING:
        return writes_diagnostic(connect_rest(s), SmokeKafkaHook(target_conn), s)
    if symptom == LATENCY_HIGH:
        return latency_diagnostic(PrometheusHook(ids.PROMETHEUS_CONN), SmokeKafkaHook(source_conn),
                                  SmokeKafkaHook(target_conn), s, run)
    if symptom == NOTHING_ON_TARGET:
        return target_topic_diagnostic(SmokeKafkaHook(target_conn), s)
    if symptom == METRICS_UNAVAILABLE:
        return metrics_diagnostic(PrometheusHook(ids.PROMETHEUS_CONN), s)
    if symptom == DUPLICATES_ON_TARGET:
        return duplicates_diagnostic(connect_rest(s), SmokeKafkaHook(source_conn), SmokeKafkaHook(target_conn), s,
                                     run or {})
    raise ValueError(f"unknown symptom {symptom!r}: use one of {', '.join(SYMPTOMS)}")
