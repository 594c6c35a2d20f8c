"""One message through the whole chain: produce on source, read it back from the remote topic on target."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from mm2_stack.config import StackConfig, StackError, load_passwords, stack_queries
from mm2_stack.kafka import client_config


@dataclass(frozen=True)
class ProbeResult:
    source_topic: str
    remote_topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    seconds: float


def send_probe(
    config: StackConfig,
    value: bytes | None = None,
    headers: list[tuple[str, bytes]] | None = None,
    timeout_s: float = 60.0,
) -> ProbeResult:
    """Produce one uniquely-keyed message to the first test topic and wait until MM2 mirrored it.

    :param value: the message value (default: a small JSON document with the send time).
    :param headers: the message headers (default: one ``mm2-smoke-probe`` header holding the key).
    :param timeout_s: how long to wait for the remote topic and the mirrored message, in seconds.
    :return: what was read back on the target (key, value and headers as received).
    """
    from confluent_kafka import Consumer, Producer

    from mm2_smoke.run_reader import PartitionReader, reader_settings

    passwords = load_passwords(config)
    naming = config.naming
    topic = naming.source_topic(1)
    remote = naming.remote_topic(topic)
    key = f"probe-{uuid.uuid4()}".encode()
    if value is None:
        value = b'{"probe": true, "sent_ms": %d}' % int(time.time() * 1000)
    if headers is None:
        headers = [("mm2-smoke-probe", key)]

    consumer = Consumer({**client_config(config, "target", "smoke", passwords), **reader_settings("mm2-smoke-probe")})
    try:
        deadline = time.monotonic() + timeout_s
        md = None
        while time.monotonic() < deadline:
            md = consumer.list_topics(remote, timeout=5)
            if md.topics[remote].error is None:
                break
            time.sleep(0.5)
        else:
            raise StackError("connect", f"remote topic {remote} does not exist on target after {timeout_s:.0f} s")
        # From the remote topic's end offsets, read before producing: only messages after them are candidates.
        reader = PartitionReader(consumer, [(remote, p) for p in md.topics[remote].partitions], "latest",
                                 deadline=deadline)

        errors: list[str] = []
        producer = Producer({**client_config(config, "source", "smoke", passwords), "acks": "all"})
        # Connect and authenticate first: the record's timestamp must not include the TLS/SASL handshake,
        # or MM2's replication-latency gauges (a 60 s window) would report it as replication latency.
        producer.list_topics(topic, timeout=15)
        t0 = time.monotonic()
        producer.produce(topic, value=value, key=key, headers=headers,
                         on_delivery=lambda err, _msg: err and errors.append(str(err)))
        if producer.flush(30) != 0 or errors:
            raise StackError("source", f"producing the probe to {topic} failed: {errors or 'not delivered in 30 s'}")

        for batch in reader.batches():
            if batch.failures:
                raise StackError("target", f"reading {remote} failed: {batch.failures[0].error()}")
            for msg in batch.messages:
                if msg.key() == key:
                    return ProbeResult(topic, remote, msg.key(), msg.value(), list(msg.headers() or []),
                                       time.monotonic() - t0)
        raise StackError("connect", f"the probe produced to {topic} did not reach {remote} within {timeout_s:.0f} s")
    finally:
        consumer.close()


#: MM2's replication latency a probe may leave in the window before a run, in ms (half the runbook's 500 ms max).
LATENCY_CLEAR_MS = 250.0


def warm_up(config: StackConfig, timeout_s: float = 150) -> ProbeResult:
    """One probe through the chain, then wait until MM2's latency window holds no slow record.

    MM2 keeps replication-latency avg/max over two 30 s samples: a chain's first record (cold JVM paths, the remote
    topic's first metadata) or a backlog replayed after a fault stays in that window for up to 60 s, and the next
    smoke run's step 1.3 would read it as its own. The window is read live on the JMX exporter (a store may hide its
    newest 30 s, as VictoriaMetrics does by default).
    """
    from mm2_stack import connect, proc

    result = send_probe(config, timeout_s=timeout_s)
    selector = stack_queries(config).gauge_series()["latency_max_ms"]

    def latency_clear() -> str | None:
        values = [v for v in connect.exporter_values(config, selector) if v == v]  # NaN: no record in the window
        slow = max(values, default=0.0)
        return None if slow < LATENCY_CLEAR_MS else f"latency max still {slow:g} ms ({selector})"

    proc.wait_until(config, "connect", latency_clear, timeout_s, "MM2's latency window to clear", interval_s=2)
    return result
