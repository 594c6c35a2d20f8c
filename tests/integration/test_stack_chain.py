"""The local stack is a real MM2 chain: messages cross it, its metrics reach Prometheus, security holds."""

from __future__ import annotations

import json
import math
import time
import urllib.parse
import urllib.request
import uuid

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from mm2_smoke.metrics import RUNBOOK, Queries
from mm2_stack.config import StackConfig, load_passwords
from mm2_stack.kafka import client_config
from mm2_stack.probe import send_probe

pytestmark = pytest.mark.integration


def promql(config: StackConfig, query: str) -> list[dict]:
    url = f"http://127.0.0.1:{config.ports.prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = json.loads(resp.read())
    assert body["status"] == "success", body
    return body["data"]["result"]


def scalar(config: StackConfig, query: str) -> float | None:
    result = promql(config, query)
    return float(result[0]["value"][1]) if result else None


def wait_for(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what} (last: {last!r})")


def test_message_crosses_the_chain_with_key_value_and_headers(live_stack: StackConfig) -> None:
    value = json.dumps({"test": "roundtrip", "id": str(uuid.uuid4()), "pad": "x" * 900}).encode()
    headers = [("run-id", b"it-roundtrip"), ("seq", b"1"), ("binary", bytes(range(256)))]

    result = send_probe(live_stack, value=value, headers=headers, timeout_s=60)

    assert result.source_topic == "test-prometheus.generated-data-01.json"
    assert result.remote_topic == "source.test-prometheus.generated-data-01.json"
    assert result.key.startswith(b"probe-")
    assert result.value == value
    assert result.headers == headers


def test_runbook_queries_answer_and_counters_grow(live_stack: StackConfig) -> None:
    queries = Queries(RUNBOOK, remote_topic=live_stack.naming.remote_topic(live_stack.naming.source_topic(1)))
    # The runbook's two queries, as the runbook prints them.
    assert queries.poll_total == (
        'sum(kafka_connect_source_task_metrics_source_record_poll_total{connector=~".*MirrorSourceConnector.*"})'
    )
    assert queries.write_total == (
        'sum(kafka_connect_source_task_metrics_source_record_write_total{connector=~".*MirrorSourceConnector.*"})'
    )
    wait_for(lambda: scalar(live_stack, queries.poll_total) is not None, 60, "the first scrape of poll_total")
    poll_before = scalar(live_stack, queries.poll_total)
    write_before = scalar(live_stack, queries.write_total)

    send_probe(live_stack, timeout_s=60)

    poll_after = wait_for(lambda: (v := scalar(live_stack, queries.poll_total)) is not None and v > poll_before and v,
                          30, "poll_total to grow")
    write_after = wait_for(lambda: (v := scalar(live_stack, queries.write_total)) is not None and v > write_before and v,
                           30, "write_total to grow")
    assert poll_after >= poll_before + 1
    assert write_after >= write_before + 1

    for name, query in queries.all().items():
        value = wait_for(lambda q=query: scalar(live_stack, q) is not None, 30, f"{name} to have a series")
        value = scalar(live_stack, query)
        assert value is not None and not math.isnan(value), f"{name}: {query} gave {value}"
    assert scalar(live_stack, queries.topic_record_count) >= 1
    assert scalar(live_stack, queries.topics_replicated) >= 1


def test_wrong_password_is_refused_with_an_authentication_error(live_stack: StackConfig) -> None:
    passwords = load_passwords(live_stack)
    errors: list[KafkaError] = []
    cfg = {**client_config(live_stack, "source", "smoke", passwords), "sasl.password": "not-the-password",
           "error_cb": errors.append, "log_level": 0}
    admin = AdminClient(cfg)
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=5)
    # The client's error callback is served by poll(): it carries the broker's reason.
    wait_for(lambda: (admin.poll(0.2), errors)[1], 10, "the authentication error callback")
    assert any(e.code() == KafkaError._AUTHENTICATION for e in errors), [str(e) for e in errors]


def test_right_password_without_acl_is_refused_with_an_authorization_error(live_stack: StackConfig) -> None:
    passwords = load_passwords(live_stack)
    topic = "not-granted-to-smoke"
    admin = AdminClient(client_config(live_stack, "source", "admin", passwords))
    try:
        admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(15)
    except KafkaException as exc:
        assert exc.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS
    results: list[KafkaError | None] = []
    producer = Producer({**client_config(live_stack, "source", "smoke", passwords), "acks": "all",
                         "message.timeout.ms": 15000, "log_level": 0})
    producer.list_topics(live_stack.naming.source_topic(1), timeout=15)  # handshake before any timestamp
    producer.produce(topic, b"must not land", on_delivery=lambda err, _msg: results.append(err))
    producer.flush(20)
    assert len(results) == 1 and results[0] is not None
    assert results[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, str(results[0])

    # The same client on its own test topic is allowed: the refusal above is the ACL, not the login.
    ok: list[KafkaError | None] = []
    producer.produce(live_stack.naming.source_topic(1), b"allowed", on_delivery=lambda err, _msg: ok.append(err))
    producer.flush(20)
    assert ok == [None]
