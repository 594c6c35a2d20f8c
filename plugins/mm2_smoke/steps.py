"""The bodies of the DAG's tasks, one function per runbook step. The DAG file only wires them.

Each takes validated settings and hooks, and returns plain JSON-able data (the task's XCom).
"""

from __future__ import annotations

import logging
import math
import time
from datetime import UTC, datetime
from typing import Any

from mm2_smoke.kafka_io import ProduceResult, attempt_tag, count_run, warm_up
from mm2_smoke.metrics import Queries, profile
from mm2_smoke.promql import Sample
from mm2_smoke.settings import SmokeSettings
from mm2_smoke.verdict import (
    Check,
    CountResult,
    Growth,
    Status,
    check_latency,
    check_produce,
    check_replication,
    check_target_count,
    confirm_by_target_count,
    reset_aware_growth,
)

log = logging.getLogger(__name__)

#: The measurements step 1.2 compares before/after production.
COUNTERS = ("poll_total", "write_total", "topic_record_count")
#: What the replication sensor watches.
REPLICATION_QUERIES = (*COUNTERS, "topics_replicated")


def queries_for(settings: SmokeSettings) -> Queries:
    return Queries(profile(settings.metric_profile), remote_topic=settings.remote_topic,
                   connector_regex=settings.connector_regex)


def replication_queries(settings: SmokeSettings) -> dict[str, str]:
    q = queries_for(settings).all()
    return {name: q[name] for name in REPLICATION_QUERIES}


def counter_growth(prom: Any, settings: SmokeSettings, start_s: float, now_s: float | None = None
                   ) -> dict[str, Growth]:
    """Step 1.2's counters' growth since ``start_s`` (production start), read as ranges: safe against an MM2
    task restart resetting them during the run (:func:`~mm2_smoke.verdict.reset_aware_growth`)."""
    now_s = time.time() if now_s is None else now_s
    step = max(1.0, (now_s - start_s) / 10_000)  # at most 10k points per series, at least every second
    out = {}
    for name, selector in queries_for(settings).counter_series().items():
        series, error = prom.query_range_series(selector, start_s, max(now_s, start_s + step), step)
        out[name] = Growth(None, error) if error else reset_aware_growth(series, start_s, step)
    return out


def record_counters(prom: Any, settings: SmokeSettings) -> dict[str, dict[str, Any]]:
    """Step 1.1 (before producing): the counters step 1.2 compares against."""
    q = queries_for(settings).all()
    samples = {name: prom.query(q[name]) for name in COUNTERS}
    for name, s in samples.items():
        log.info("before production: %s = %s", name, s.value if s.ok else s.reason())
    return {name: s.to_dict() for name, s in samples.items()}


def perf_test_step(kafka_hook: Any, settings: SmokeSettings) -> dict[str, Any]:
    """Step 1.1, variant B: Kafka's ProducerPerformance (kafka-producer-perf-test), acks=all."""
    from mm2_smoke.perf_test import run_perf_test

    config = kafka_hook.client_config()
    producer = kafka_hook.producer(**{"log_level": 2})
    not_ready = warm_up(producer, settings.source_topic)
    if not_ready:
        log.error("cannot produce to %s: %s", settings.source_topic, not_ready)
        now = int(time.time() * 1000)
        return ProduceResult(topic=settings.source_topic, requested=settings.num_messages, first_errors=[not_ready],
                             started_ms=now, finished_ms=now, tagged=False, variant="perf-test",
                             setup_error=f"{not_ready} (connection {kafka_hook.kafka_config_id!r})").to_dict()
    timeout = max(120.0, 3 * settings.num_messages / settings.messages_per_second + 60)
    result = run_perf_test(config, settings.source_topic, settings.num_messages, settings.record_size_bytes,
                           settings.messages_per_second, timeout_s=timeout)
    log.info("kafka-producer-perf-test: %s", result.summary)
    return result.to_produce_result().to_dict()


#: The bomber CLI's flags named in its error messages, as the DAG's users know them (connection extra keys).
_CLI_TO_EXTRA = {"--bootstrap-servers": "bootstrap.servers", "--ssl-ca-location": "ssl.ca.location",
                 "--security-protocol": "security.protocol", "--sasl-mechanism": "sasl.mechanism"}


def _as_connection_error(why: str, conn_id: str) -> str:
    for flag, key in _CLI_TO_EXTRA.items():
        why = why.replace(flag, key)
    return f"{why} (in the extra of Airflow connection {conn_id!r})"


def _setup_error(stopped: str, errors: list[str], sent: int, delivered: int, settings: SmokeSettings,
                 conn_id: str) -> str:
    """Why nothing could be produced because of the run's own input ('' when production ran or the chain is
    to blame): the connection (credentials, host, TLS) or a record size the topic refuses."""
    if delivered:
        return ""
    if any("too large" in e.lower() for e in errors):
        return (f"record_size_bytes={settings.record_size_bytes} is larger than the topic {settings.source_topic} "
                "accepts (the broker answered 'Message size too large'): lower record_size_bytes, or raise the "
                "topic's max.message.bytes (broker: message.max.bytes)")
    if sent == 0:
        return _as_connection_error(stopped or (errors or ["no message sent"])[0], conn_id)
    return ""


def produce_step(kafka_hook: Any, settings: SmokeSettings, run_id: str, producer_id: str,
                 try_number: int = 1) -> dict[str, Any]:
    """Step 1.1: produce the run's tagged messages (acks=all) and count delivery reports.

    Variant A runs the producer bomber's engine (:func:`mm2_smoke.bomber.run_producer`, the code of
    ``kafka_producer_bomber.py``) with one topic and one thread; variant B runs Kafka's perf-test.

    :param producer_id: kept for the log; the bomber names its producer ``<host>-<pid>-t1`` in the tag.
    :param try_number: the task's attempt: a retry tags its messages apart (:func:`attempt_tag`), so that
        step 1.4 counts only the attempt whose result it was given.
    """
    from mm2_smoke.hooks import ConnectionMissingError

    if settings.producer_variant == "perf-test":
        return perf_test_step(kafka_hook, settings)
    from mm2_smoke.bomber import BomberInputError, ProducerSpec, run_producer

    run_tag = attempt_tag(run_id, try_number)
    try:
        client = kafka_hook.client_config()
    except ConnectionMissingError as exc:
        now = int(time.time() * 1000)
        return ProduceResult(topic=settings.source_topic, requested=settings.num_messages, first_errors=[str(exc)],
                             started_ms=now, finished_ms=now, setup_error=str(exc), run_tag=run_tag).to_dict()

    log.info("producing %d messages of %d B at %g msg/s to %s (%s)", settings.num_messages,
             settings.record_size_bytes, settings.messages_per_second, settings.source_topic, producer_id)
    try:
        spec = ProducerSpec(topics=(settings.source_topic,), rate_per_s=settings.messages_per_second, num_threads=1,
                            duration_s=None, num_messages=settings.num_messages,
                            record_size=settings.record_size_bytes, acks="all", run_id=run_tag)
    except BomberInputError as exc:
        raise ValueError(f"step 1.1 settings: {exc}") from None
    summary = run_producer(client, spec, progress=lambda p: log.info(
        "sent %d/%d, delivered %d, failed %d", p.sent, settings.num_messages, p.delivered, p.failed))
    total = summary.total
    errors = ([f"production stopped: {summary.stopped}"] if summary.stopped else []) + list(summary.errors)
    result = ProduceResult(
        topic=settings.source_topic, requested=settings.num_messages, sent=total.sent, delivered=total.delivered,
        failed=total.failed, failed_seqs=sorted(total.failed_seqs), first_errors=errors[:5],
        started_ms=summary.started_ms, finished_ms=summary.finished_ms,
        achieved_rate=round(summary.achieved_rate() or float(total.sent), 3), run_tag=run_tag,
        setup_error=_setup_error(summary.stopped, errors, total.sent, total.delivered, settings,
                                 kafka_hook.kafka_config_id),
    )
    log.info("produced: sent %d, delivered %d, failed %d, %.2f msg/s%s", result.sent, result.delivered,
             result.failed, result.achieved_rate, f"; first errors: {result.first_errors}" if result.first_errors
             else "")
    return result.to_dict()


def latency_step(prom: Any, settings: SmokeSettings, window_start_s: float, step_s: float) -> dict[str, Any]:
    """Step 1.3: latency, lag (level and trend since production started), offset commit time."""
    q = queries_for(settings)
    avg, max_ = prom.query(q.latency_avg_ms), prom.query(q.latency_max_ms)
    lag, commit = prom.query(q.active_count), prom.query(q.offset_commit_max_ms)
    now = time.time()
    points, err = prom.query_range(q.active_count, window_start_s, now, step_s)
    points = [(t, v) for t, v in points if math.isfinite(v)]  # NaN is "no data" (and not JSON for the XCom)
    window_query = f"{q.active_count} [{int(now - window_start_s)}s, step {step_s:g}s]"
    if err:
        window_query += f" (error: {err})"
    checks = check_latency(avg, max_, lag, [v for _t, v in points], window_query, commit, settings)
    baseline = {
        "latency_avg_ms": avg.value if avg.ok else None,
        "latency_max_ms": max_.value if max_.ok else None,
        "lag": lag.value if lag.ok else None,
        "offset_commit_max_ms": commit.value if commit.ok else None,
        "lag_window": [v for _t, v in points],
    }
    return {"checks": [c.to_dict() for c in checks], "baseline": baseline}


def count_step(kafka_hook: Any, settings: SmokeSettings, run_id: str, produced: dict[str, Any]) -> dict[str, Any]:
    """Step 1.4: count this run's messages on the target's remote topic, by their run tag."""
    result = ProduceResult(**produced)
    if result.delivered == 0:
        count = CountResult(0, [], [], error="step 1.1 delivered no message, so there is nothing to count")
        log.info("nothing to count: step 1.1 delivered no message")
        return count.to_dict()
    consumer = None
    try:
        consumer = kafka_hook.consumer(**{"group.id": "mm2-smoke-count", "enable.auto.commit": False,
                                          "enable.partition.eof": False, "auto.offset.reset": "earliest"})
        if result.tagged:
            # Records keep their source timestamps through MM2: start a minute before production.
            count = count_run(consumer, settings.remote_topic, result.run_tag or run_id, result.delivered_seqs(),
                              since_ms=result.started_ms - 60_000, timeout_s=settings.count_timeout_s)
        else:
            # Kafka's perf-test records carry no tag: count every record since production started.
            seen = count_run(consumer, settings.remote_topic, "", [], since_ms=result.started_ms,
                             timeout_s=settings.count_timeout_s)
            count = CountResult(seen.foreign, [], [], error=seen.error, untagged=True,
                                note="; ".join(filter(None, [seen.note, "untagged records (perf-test), counted by "
                                                             "time since production started"])))
    except Exception as exc:  # noqa: BLE001 - the target could not be read: UNKNOWN with the reason
        count = CountResult(0, result.delivered_seqs(), [], error=f"{type(exc).__name__}: {exc}")
    finally:
        if consumer is not None:
            consumer.close()
    log.info("on target %s: received %d, missing %d, duplicates %d, foreign %d%s", settings.remote_topic,
             count.received, len(count.missing), len(count.duplicates), count.foreign,
             f" ({count.error or count.note})" if count.error or count.note else "")
    return count.to_dict()


def collect_checks(settings: SmokeSettings, produced: dict[str, Any] | None, replication: dict[str, Any] | None,
                   latency: dict[str, Any] | None, count: dict[str, Any] | None) -> tuple[list[Check], list[str]]:
    """Every check of the run, from the steps' XComs; a step with no result gives an UNKNOWN check."""
    checks: list[Check] = []
    notes: list[str] = []
    if produced:
        checks += check_produce(settings.num_messages, produced["sent"], produced["delivered"], produced["failed"],
                                produced["first_errors"], f"delivery reports of {settings.source_topic} (acks=all)",
                                produced.get("setup_error", ""))
    else:
        checks.append(Check("1.1", "messages_produced", None, f"{settings.num_messages} delivered", Status.UNKNOWN,
                            "step_1_1_produce", "step 1.1 did not finish: see its task log"))
    if replication and produced:
        before = {k: Sample.from_dict(v) for k, v in replication["before"].items()}
        after = {k: Sample.from_dict(v) for k, v in replication["after"].items()}
        growth = {k: Growth.from_dict(v) for k, v in (replication.get("growth") or {}).items()}
        checks += check_replication(before, after, produced["delivered"], settings, replication["outcome"],
                                    growth or None)
        resets = max((g.resets for g in growth.values()), default=0)
        if resets:
            notes.append(f"MM2's task counters reset {resets} time(s) during the run (task restart): step 1.2 "
                         "counted across the reset")
        notes.append(f"step 1.2 wait ended: {replication['outcome']}, "
                     f"{replication.get('seconds_after_production', 'n/a')} s after production ended")
    else:
        checks.append(Check("1.2", "replication", None, "poll/write grow", Status.UNKNOWN, "step_1_2_replication",
                            "step 1.2 did not finish: see its task log"))
    if latency:
        checks += [Check.from_dict(c) for c in latency["checks"]]
    else:
        checks.append(Check("1.3", "latency_baseline", None, "measured", Status.UNKNOWN, "step_1_3_latency_baseline",
                            "step 1.3 did not finish: see its task log"))
    if count and produced:
        cr = CountResult(**count)
        checks += check_target_count(cr, produced["delivered"], settings,
                                     f"consumer on {settings.remote_topic} (run tag)")
        if cr.duplicates:
            notes.append(f"{len(cr.duplicates)} duplicate(s) on target: seq {cr.duplicates[:20]}")
    else:
        checks.append(Check("1.4", "messages_on_target", None, "all delivered", Status.UNKNOWN, "step_1_4_target_count",
                            "step 1.4 did not finish: see its task log"))
    return confirm_by_target_count(checks), notes


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")

