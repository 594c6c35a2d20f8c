"""Step 1.1's producing: the engine's typed errors decide "record too large" and "connection problem", and are
worded for the DAG's users (librdkafka keys, the connection)."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError

from mm2_smoke.bomber.client import BomberConnectError, RunError, connect_failure
from mm2_smoke.bomber.stats import ProduceSummary, TopicProduceStats
from mm2_smoke.errors import SettingsError
from mm2_smoke.settings import SmokeSettings
from mm2_smoke.step_1_1_produce import _setup_error, produce_step

S = SmokeSettings()
IN_CONNECTION = " (in the extra of Airflow connection 'kafka_source')"


def summary(sent: int = 0, delivered: int = 0, failed: int = 0, errors: list | None = None,
            stopped: RunError | None = None) -> ProduceSummary:
    topic = TopicProduceStats(S.source_topic, sent=sent, delivered=delivered, failed=failed)
    return ProduceSummary("run", [topic], 1.0, None, None, errors=errors or [], error_count=len(errors or []),
                          stopped=stopped)


def test_a_fatal_connection_error_is_worded_with_the_connections_keys() -> None:
    stopped = connect_failure(KafkaError(KafkaError._AUTHENTICATION, "SASL authentication error"), "h:1", "smoke")
    assert _setup_error(summary(stopped=stopped), S, "kafka_source") == (
        "authentication failed on h:1 as user 'smoke': SASL authentication error; check the user name, the password "
        "and sasl.mechanism" + IN_CONNECTION)
    resolve = connect_failure(KafkaError(KafkaError._RESOLVE, "Failed to resolve"), "nohost.invalid:9092", "smoke")
    assert _setup_error(summary(stopped=resolve), S, "kafka_source") == (
        "cannot resolve a broker address of nohost.invalid:9092: Failed to resolve; check bootstrap.servers "
        "(host:port)" + IN_CONNECTION)


def test_without_a_fatal_error_the_first_error_is_the_cause_and_without_any_nothing_was_sent() -> None:
    refused = BomberConnectError("cannot produce to {topic}: {why}", code=KafkaError.TOPIC_AUTHORIZATION_FAILED,
                                 topic="t", why="topic t: Broker: Topic authorization failed")
    assert _setup_error(summary(errors=[refused]), S, "kafka_source") == (
        "cannot produce to t: topic t: Broker: Topic authorization failed" + IN_CONNECTION)
    assert _setup_error(summary(), S, "kafka_source") == "no message sent" + IN_CONNECTION


def test_record_too_large_is_known_by_kafkas_error_code_not_by_words() -> None:
    too_large = RunError("{topic} key {key}: {reason}", code=KafkaError.MSG_SIZE_TOO_LARGE, topic="t", key="run:1",
                         reason="Broker: Message size too large")
    why = _setup_error(summary(sent=5, failed=5, errors=[too_large]), S, "kafka_source")
    assert why.startswith(f"record_size_bytes={S.record_size_bytes} is larger than the topic {S.source_topic} accepts")
    worded_alike = RunError("{topic} key {key}: {reason}", code=KafkaError._MSG_TIMED_OUT, topic="t", key="run:1",
                            reason="Message size too large")  # the words alone decide nothing
    assert _setup_error(summary(sent=5, failed=5, errors=[worded_alike]), S, "kafka_source") == ""


def test_a_run_that_delivered_is_not_a_setup_problem() -> None:
    too_large = RunError("x", code=KafkaError.MSG_SIZE_TOO_LARGE)
    assert _setup_error(summary(sent=5, delivered=1, failed=4, errors=[too_large]), S, "kafka_source") == ""


class _Hook:
    kafka_config_id = "kafka_source"

    def client_config(self) -> dict:
        return {"bootstrap.servers": "h:1"}


def test_settings_the_producer_refuses_name_the_param() -> None:
    with pytest.raises(SettingsError) as caught:
        produce_step(_Hook(), SmokeSettings(record_size_bytes=200), "r" * 300, "test")
    assert caught.value.field == "record_size_bytes"
    assert str(caught.value).startswith("step 1.1 settings: record_size_bytes 200: record size 200 B is too small for "
                                        "the run tag")
