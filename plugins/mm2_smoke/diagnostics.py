"""The NOGO path's diagnostic tasks: gather facts from the live system, apply the diagnosis rules.

One function per runbook symptom. Each never raises: a diagnostic that cannot reach what it inspects
says so as its finding.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from mm2_smoke import diagnosis as dg
from mm2_smoke.metrics import PROFILES, profile
from mm2_smoke.settings import SmokeSettings
from mm2_smoke.steps import queries_for

log = logging.getLogger(__name__)


def safely(symptom: str, body: Callable[[], list[dg.Diagnosis]]) -> list[dict[str, Any]]:
    """Run a diagnostic; its failure becomes a finding, never an exception on the NOGO path."""
    t0 = time.monotonic()
    try:
        found = body()
    except Exception as exc:  # noqa: BLE001 - reported as the diagnostic's own finding
        log.exception("diagnostic %s failed", symptom)
        found = [dg.Diagnosis(symptom, dg.DIAGNOSTIC_FAILED, f"the {symptom} diagnostic could not run",
                              f"{type(exc).__name__}: {exc}", "see the task log", 5)]
    if not found:
        found = [dg.Diagnosis(symptom, dg.NO_CAUSE_FOUND, f"no cause found for {symptom}",
                              "every inspected part looked healthy", "see the checks' evidence in the report", 1)]
    for d in found:
        log.info("diagnosis [%s] score %d: %s | evidence: %s | action: %s", d.symptom, d.score, d.cause, d.evidence,
                 d.action)
    log.info("diagnostic %s took %.2f s", symptom, time.monotonic() - t0)
    return [d.to_dict() for d in found]


def _acls(admin: Any, principal: str) -> tuple[list[dg.Acl] | None, str | None]:
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
        return None, f"describe ACLs of {principal} on target: {exc.args[0].str()}"
    return [dg.Acl(b.principal, "CLUSTER" if b.restype.name == "BROKER" else b.restype.name, b.name,
                   b.resource_pattern_type.name, b.operation.name, b.permission_type.name) for b in bindings], None


def _topic_exists(admin: Any, topic: str) -> tuple[bool | None, list[str], str | None]:
    from confluent_kafka import KafkaException

    try:
        md = admin.list_topics(timeout=10)
    except KafkaException as exc:
        return None, [], exc.args[0].str()
    names = list(md.topics)
    return topic in names, names, None


def connector_diagnostic(connect: Any, source: Any, settings: SmokeSettings) -> list[dict[str, Any]]:
    """Runbook "poll_total = 0": the MM2 connector's and tasks' state, its topics filter, the source topic."""

    def body() -> list[dg.Diagnosis]:
        from confluent_kafka import TopicPartition

        name = settings.source_connector
        path = f"connectors/{quote(name, safe='')}"
        status = connect.get_json(path + "/status")
        config = connect.get_json(path + "/config") if status.status is not None else dg.HttpAnswer(None)
        exists, messages, err = None, None, None
        try:
            consumer = source.consumer(**{"group.id": "mm2-smoke-diagnostics", "enable.auto.commit": False})
            try:
                md = consumer.list_topics(settings.source_topic, timeout=10)
                meta = md.topics.get(settings.source_topic)
                exists = meta is not None and meta.error is None
                if exists:
                    messages = 0
                    for p in meta.partitions:
                        low, high = consumer.get_watermark_offsets(TopicPartition(settings.source_topic, p), timeout=10)
                        messages += high - low
                else:
                    err = str(meta.error) if meta is not None else "absent"
            finally:
                consumer.close()
        except Exception as exc:  # noqa: BLE001
            err = f"{type(exc).__name__}: {exc}"
        return dg.diagnose_connector(dg.ConnectorFacts(name, status, config, settings.source_topic, exists,
                                                       messages, err))

    return safely(dg.REPLICATION_STOPPED, body)


def writes_diagnostic(connect: Any, target: Any, settings: SmokeSettings) -> list[dict[str, Any]]:
    """Runbook "write = 0, poll > 0": the tasks' errors and MM2's ACLs on target."""

    def body() -> list[dg.Diagnosis]:
        status = connect.get_json(f"connectors/{quote(settings.source_connector, safe='')}/status")
        admin = target.admin()
        acls, acl_error = _acls(admin, settings.mm2_principal)
        exists, _names, _err = _topic_exists(admin, settings.remote_topic)
        return dg.diagnose_writes(dg.WriteFacts(settings.source_connector, status, settings.mm2_principal,
                                                settings.remote_topic, acls, acl_error, exists))

    return safely(dg.WRITES_FAILING, body)


def latency_diagnostic(prom: Any, source: Any, target: Any, settings: SmokeSettings) -> list[dict[str, Any]]:
    """Runbook "latency > 500 ms": MM2's producer throttle time, client quotas, round trips to the brokers."""

    def body() -> list[dg.Diagnosis]:
        from mm2_smoke.kafka_tools import describe_user_quotas

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
        q = queries_for(settings).mm2_producer_throttle_max_ms
        sample = prom.query(q)
        quotas, quota_error = None, None
        try:
            quotas = describe_user_quotas(target.client_config(), settings.mm2_principal.removeprefix("User:"))
        except Exception as exc:  # noqa: BLE001 - confluent-kafka has no quota API; the tools may be absent
            quota_error = f"client quotas not read: {exc}"
        return dg.diagnose_latency(dg.LatencyFacts(settings.mm2_principal, rtt, rtt_errors,
                                                   sample.value if sample.ok else None, q,
                                                   None if sample.ok else sample.reason(), quotas, quota_error))

    return safely(dg.LATENCY_HIGH, body)


def target_topic_diagnostic(target: Any, settings: SmokeSettings) -> list[dict[str, Any]]:
    """Runbook "0 msg on target": does the remote topic exist, could MM2 create it, is it named otherwise."""

    def body() -> list[dg.Diagnosis]:
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
        return dg.diagnose_target_topic(dg.TargetTopicFacts(settings.mm2_principal, settings.remote_topic, exists,
                                                            similar, auto_create, acls, acl_error, md_error))

    return safely(dg.NOTHING_ON_TARGET, body)


def metrics_diagnostic(prom: Any, settings: SmokeSettings) -> list[dict[str, Any]]:
    """UNKNOWN: is Prometheus reachable, are its scrape targets up, do the metric names exist."""

    def body() -> list[dg.Diagnosis]:
        answer = prom.get_json("api/v1/targets")
        targets: list[dict[str, Any]] = []
        present: list[str] = []
        names = profile(settings.metric_profile)
        expected = [names.poll_total, names.write_total, names.mirror("record_count")]
        other = next((p for p in PROFILES if p != settings.metric_profile), None)
        other_present = False
        if answer.status == 200 and isinstance(answer.body, dict):
            targets = answer.body.get("data", {}).get("activeTargets", [])
            values = prom.get_json("api/v1/label/__name__/values")
            if values.status == 200 and isinstance(values.body, dict):
                all_names = set(values.body.get("data", []))
                present = [n for n in expected if n in all_names]
                if other:
                    other_present = PROFILES[other].poll_total in all_names
        return dg.diagnose_metrics(dg.MetricsFacts(answer, targets, expected, present, other, other_present))

    return safely(dg.METRICS_UNAVAILABLE, body)
