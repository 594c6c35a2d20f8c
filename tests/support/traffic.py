"""Other traffic through MM2 beside the smoke test's: a real chain's task replicates many topics, so its task-level
counters (poll, write) move whatever happens to the test topic."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

from mm2_stack.config import StackConfig, load_passwords
from mm2_stack.kafka import client_config


@contextlib.contextmanager
def other_traffic(config: StackConfig, topic: str, rate_per_s: float = 20, timeout_s: float = 60) -> Iterator[dict]:
    """Produce to ``topic`` on source (created if missing, within MM2's ``topics``) at ``rate_per_s`` until the block
    ends; enter once MM2 has replicated some of it (its remote topic holds records), so that MM2's reassignment for a
    new topic is over before the block. Yields ``{"sent": n}``."""
    from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    passwords = load_passwords(config)
    source = client_config(config, "source", "smoke", passwords)
    admin = AdminClient(source)
    try:
        admin.create_topics([NewTopic(topic, 1)], operation_timeout=15)[topic].result()
    except KafkaException as exc:
        if "TOPIC_ALREADY_EXISTS" not in str(exc):
            raise
    stop, counts = threading.Event(), {"sent": 0}

    def produce() -> None:
        producer = Producer(source)
        while not stop.is_set():
            producer.produce(topic, value=b'{"other": true}')
            producer.poll(0)
            counts["sent"] += 1
            stop.wait(1 / rate_per_s)
        producer.flush(15)

    thread = threading.Thread(target=produce, name="other-traffic", daemon=True)
    thread.start()
    try:
        remote = config.naming.remote_topic(topic)
        consumer = Consumer({**client_config(config, "target", "smoke", passwords), "group.id": "mm2-smoke-traffic"})
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                md = consumer.list_topics(remote, timeout=5).topics[remote]
                if md.error is None and consumer.get_watermark_offsets(TopicPartition(remote, 0), timeout=5)[1] > 0:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(f"MM2 did not replicate {topic} to {remote} within {timeout_s:.0f} s")
                time.sleep(1)
        finally:
            consumer.close()
        yield counts
    finally:
        stop.set()
        thread.join(30)
