"""Runbook step 1.1, "Envoi de messages test": produce the run's tagged messages on the source, acks=all.

Variant A runs the producer bomber's engine (:func:`mm2_smoke.bomber.producer.run_producer`, the code of
``kafka_producer_bomber.py``) with one topic and one thread; variant B runs Kafka's
``kafka-producer-perf-test`` (:mod:`mm2_smoke.perf_test`). GO: every requested message delivered, no error.
A run whose own connection cannot work (credentials, host, TLS, a record size the topic refuses) is UNKNOWN,
not NOGO: nothing about the chain was measured.

Kafka clients are imported inside the functions that use them: the module imports without confluent-kafka.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from mm2_smoke.bomber.stats import ProduceSummary
from mm2_smoke.checks import Check
from mm2_smoke.measured import Gap
from mm2_smoke.payloads import E2eDict, ProduceResult, ProduceResultDict
from mm2_smoke.registry import spec
from mm2_smoke.settings import SmokeSettings

log = logging.getLogger(__name__)


def attempt_tag(run_id: str, try_number: int) -> str:
    """The run tag of one attempt of step 1.1: a retry writes messages that step 1.4 tells apart."""
    return run_id if try_number <= 1 else f"{run_id}#try{try_number}"


PRODUCED = spec("messages_produced")


def check_produce(requested: int, sent: int, delivered: int, failed: int, first_errors: Sequence[str],
                  evidence: str, setup_error: str = "") -> list[Check]:
    """Step 1.1: every requested message delivered (acks=all) and no delivery error.

    :param setup_error: nothing could be produced because the smoke test's own connection does not work
        (credentials, host, TLS): UNKNOWN, since nothing about the chain was measured.
    """
    threshold = PRODUCED.threshold(num_messages=requested)
    if setup_error and delivered == 0:
        return [PRODUCED.unknown(threshold, evidence, f"nothing produced: {setup_error}", Gap.OWN_SETUP, value=0)]
    if failed or delivered < requested:
        why = f"{delivered}/{requested} delivered, {failed} failed"
        if first_errors:
            why += ": " + "; ".join(first_errors[:3])
        return [PRODUCED.nogo(delivered, threshold, evidence, why)]
    return [PRODUCED.go(delivered, threshold, evidence)]


def checklist_part(settings: SmokeSettings, produced: ProduceResultDict | None) -> list[Check]:
    """Step 1.1's check from its result (an UNKNOWN check when the step did not finish)."""
    if not produced:
        return [PRODUCED.unknown(f"{settings.num_messages} delivered", "step_1_1_produce",
                                 "step 1.1 did not finish: see its task log", Gap.NOT_MEASURED)]
    return check_produce(settings.num_messages, produced["sent"], produced["delivered"], produced["failed"],
                         produced["first_errors"], f"delivery reports of {settings.source_topic} (acks=all)",
                         produced.get("setup_error", ""))


# --- producing ---------------------------------------------------------------------------------------------
#: The producer spec's fields as step 1.1's Params name them (the engine's errors are worded with spec fields).
_SPEC_TO_PARAM = {"rate_per_s": "messages_per_second", "num_messages": "num_messages",
                  "record_size": "record_size_bytes"}


def _in_connection(conn_id: str) -> str:
    """Where a DAG user finds the librdkafka keys an engine error names: the suffix of its message."""
    return f" (in the extra of Airflow connection {conn_id!r})"


def perf_test_step(kafka_hook: Any, settings: SmokeSettings) -> ProduceResultDict:
    """Variant B: Kafka's ProducerPerformance (kafka-producer-perf-test), acks=all.

    :param kafka_hook: a :class:`~mm2_smoke.hooks.SmokeKafkaHook` of the source cluster.
    :param settings: the run's settings (topic, count, record size, rate).
    """
    from mm2_smoke.bomber.client import warm_up
    from mm2_smoke.perf_test import run_perf_test

    config = kafka_hook.client_config()
    producer = kafka_hook.producer(**{"log_level": 2})
    not_ready = warm_up(producer, settings.source_topic)
    if not_ready:
        log.error("cannot produce to %s: %s", settings.source_topic, not_ready)
        now = int(time.time() * 1000)
        setup_error = not_ready.renamed({}, suffix=f" (connection {kafka_hook.kafka_config_id!r})")
        return ProduceResult(topic=settings.source_topic, requested=settings.num_messages,
                             first_errors=[str(not_ready)], started_ms=now, finished_ms=now, tagged=False,
                             variant="perf-test", setup_error=str(setup_error)).to_dict()
    timeout = max(120.0, 3 * settings.num_messages / settings.messages_per_second + 60)
    result = run_perf_test(config, settings.source_topic, settings.num_messages, settings.record_size_bytes,
                           settings.messages_per_second, timeout_s=timeout)
    log.info("kafka-producer-perf-test: %s", result.summary)
    return result.to_produce_result().to_dict()


def _setup_error(summary: ProduceSummary, settings: SmokeSettings, conn_id: str) -> str:
    """Why nothing could be produced because of the run's own input ('' when production ran or the chain is
    to blame): a record size the topic refuses (by Kafka's error code), or the connection (credentials, host,
    TLS: nothing was sent at all).

    :param summary: the producer's outcome.
    :param settings: the run's settings (record size, topic).
    :param conn_id: the source connection, named in the message.
    """
    from confluent_kafka import KafkaError

    from mm2_smoke.bomber.client import RunError

    total = summary.total
    if total.delivered:
        return ""
    causes = [e for e in (summary.stopped, *summary.errors) if e is not None]
    if any(isinstance(e, RunError) and e.code == KafkaError.MSG_SIZE_TOO_LARGE for e in causes):
        return (f"record_size_bytes={settings.record_size_bytes} is larger than the topic {settings.source_topic} "
                "accepts (the broker answered 'Message size too large'): lower record_size_bytes, or raise the "
                "topic's max.message.bytes (broker: message.max.bytes)")
    if total.sent == 0:
        return str(causes[0].renamed({}, suffix=_in_connection(conn_id))) if causes else \
            "no message sent" + _in_connection(conn_id)
    return ""


def _start_watch(target_hook: Any, settings: SmokeSettings, run_tag: str) -> Any:
    """The end-to-end watch, positioned on the remote topic before production (None without a target hook, or when
    it could not start: the run goes on without it and says so)."""
    from mm2_smoke.e2e import Watch
    from mm2_smoke.errors import ConnectionProblem

    if target_hook is None:
        return None
    try:
        watch = Watch(target_hook.client_config(), settings.remote_topic, run_tag, settings.num_messages)
    except ConnectionProblem as exc:
        log.warning("no end-to-end watch: %s", exc)
        return None
    if not watch.start():
        log.warning("no end-to-end watch: %s", watch.error)
    return watch


def _watch_arrivals(watch: Any, delivered: int, production_end_s: float, settings: SmokeSettings,
                    connect: Any) -> E2eDict:
    """Wait for the delivered messages on the target; the watch's result (its ``ended`` says why it stopped)."""
    from mm2_smoke import chain, e2e

    if watch is None:
        return e2e.not_watched("no consumer of the remote topic ran").to_dict()
    if watch.error:
        return e2e.not_watched(watch.error).to_dict()
    if delivered <= 0:
        return watch.result(delivered, "nothing delivered").to_dict()
    fault = (lambda: chain.certain_fault(connect, settings)) if connect is not None else None
    # Half the stall rule: a stalled chain leaves step 1.2 time to decide by its 30 s rule on schedule.
    ended = watch.wait(delivered, production_end_s + settings.write_stall_timeout_s / 2, fault,
                       check_every_s=settings.poke_interval_s)
    result = watch.result(delivered, ended)
    log.info("end to end (ack on source -> arrival on target, one clock): %d/%d arrived, p50 %s ms, p99 %s ms, "
             "max %s ms (%s)", result.count, delivered, result.p50, result.p99, result.max, ended)
    return result.to_dict()


def ensure_test_topic(kafka_hook: Any, settings: SmokeSettings) -> tuple[str, str]:
    """Create the test topic on source when it is missing and ``test_topic_missing`` is ``create`` (the runbook's
    bomber does the same); a topic that cannot be created or listed is left to the producer's own error.

    :return: what was created, in words ('' when nothing was), and why it could not be ('' when it could).
    """
    if settings.test_topic_missing != "create":
        return "", "test_topic_missing=fail"
    from mm2_smoke.bomber.client import BomberConnectError, ensure_topics

    try:
        admin = kafka_hook.admin(**{"socket.timeout.ms": 5000})
        created = ensure_topics(admin, admin.list_topics(timeout=10), [settings.source_topic],
                                settings.test_topic_partitions, settings.test_topic_replication_factor)
    except BomberConnectError as exc:
        log.error("the test topic %s is missing and could not be created: %s", settings.source_topic, exc)
        return "", str(exc)
    except Exception as exc:  # noqa: BLE001 - the producer reports the connection's problem with its own words
        log.warning("could not check the test topic %s before producing: %s", settings.source_topic, exc)
        return "", f"{type(exc).__name__}: {exc}"
    if not created:
        return "", ""
    rf = settings.test_topic_replication_factor
    what = (f"the test topic {settings.source_topic} did not exist on source: the smoke test created it "
            f"({settings.test_topic_partitions} partition(s), replication factor "
            f"{rf if rf > 0 else 'the brokers default'}); MM2 replicates it once it discovers it "
            "(refresh.topics.interval.seconds)")
    log.warning(what)
    return what, ""


def produce_step(kafka_hook: Any, settings: SmokeSettings, run_id: str, producer_id: str,
                 try_number: int = 1, target_hook: Any = None, connect: Any = None,
                 topic_new: bool = False) -> ProduceResultDict:
    """Step 1.1's task: produce the run's tagged messages (acks=all), count delivery reports, and watch them arrive
    on the target (one-clock end-to-end latency, :mod:`mm2_smoke.e2e`).

    With ``target_hook``, a consumer of the remote topic starts before production; after production the task waits
    until every delivered message arrived, the chain is known broken (``connect``: the source connector or a task
    absent, paused or failed), or half of ``write_stall_timeout_s`` passed.

    :param kafka_hook: a :class:`~mm2_smoke.hooks.SmokeKafkaHook` of the source cluster.
    :param settings: the run's settings.
    :param run_id: the DAG run's id (the run tag's run id on the first attempt).
    :param producer_id: kept for the log; the bomber names its producer ``<host>-<pid>-t1`` in the tag.
    :param try_number: the task's attempt: a retry tags its messages apart (:func:`attempt_tag`), so that
        step 1.4 counts only the attempt whose result it was given.
    :param target_hook: a :class:`~mm2_smoke.hooks.SmokeKafkaHook` of the target cluster (None: no watch).
    :param connect: a :class:`~mm2_smoke.hooks.ConnectHook` (None: the wait does not look at the connector).
    :raises SettingsError: when the settings cannot make a producer spec (e.g. the run tag does not fit the record
        size), naming the Param.
    """
    from mm2_smoke.errors import ConnectionProblem, SettingsError

    if settings.producer_variant == "perf-test":
        return perf_test_step(kafka_hook, settings)
    from mm2_smoke.bomber.client import BomberInputError
    from mm2_smoke.bomber.producer import ProducerSpec, run_producer

    run_tag = attempt_tag(run_id, try_number)
    try:
        client = kafka_hook.client_config()
    except ConnectionProblem as exc:
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
        raise SettingsError("step 1.1 settings: " + exc.template,
                            {ph: _SPEC_TO_PARAM.get(f, f) for ph, f in exc.fields.items()}, **exc.values) from None
    created, _why_not = ensure_test_topic(kafka_hook, settings)
    watch = _start_watch(target_hook, settings, run_tag)
    try:
        summary = run_producer(client, spec, progress=lambda p: log.info(
            "sent %d/%d, delivered %d, failed %d", p.sent, settings.num_messages, p.delivered, p.failed),
            on_ack=watch.acked if watch is not None else None)
        e2e = _watch_arrivals(watch, summary.total.delivered, summary.finished_ms / 1000, settings, connect)
    finally:
        if watch is not None:
            watch.close()
    total = summary.total
    errors = ([f"production stopped: {summary.stopped}"] if summary.stopped else []) + [str(e) for e in summary.errors]
    result = ProduceResult(
        topic=settings.source_topic, requested=settings.num_messages, sent=total.sent, delivered=total.delivered,
        failed=total.failed, failed_seqs=sorted(total.failed_seqs), first_errors=errors[:5],
        started_ms=summary.started_ms, finished_ms=summary.finished_ms,
        achieved_rate=round(summary.achieved_rate() or float(total.sent), 3), run_tag=run_tag,
        setup_error=_setup_error(summary, settings, kafka_hook.kafka_config_id), e2e=e2e, topic_created=created,
        topic_new=bool(topic_new or created),
    )
    log.info("produced: sent %d, delivered %d, failed %d, %.2f msg/s%s", result.sent, result.delivered,
             result.failed, result.achieved_rate, f"; first errors: {result.first_errors}" if result.first_errors
             else "")
    return result.to_dict()
