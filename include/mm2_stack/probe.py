"""One message through the whole chain: produce on a flow's source, read it back from the remote topic on its target
(every flow of the topology, or one)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from mm2_smoke.flows import Flow, topology_findings
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
    flow: str = "source->target"


def send_probe(
    config: StackConfig,
    value: bytes | None = None,
    headers: list[tuple[str, bytes]] | None = None,
    timeout_s: float = 60.0,
    flow: Flow | None = None,
) -> ProbeResult:
    """Produce one uniquely-keyed message to the first test topic of a flow's source and wait until MM2 mirrored it
    to its target.

    :param value: the message value (default: a small JSON document with the send time).
    :param headers: the message headers (default: one ``mm2-smoke-probe`` header holding the key).
    :param timeout_s: how long to wait for the remote topic and the mirrored message, in seconds.
    :param flow: the flow probed (default: the default flow, ``source->target``).
    :return: what was read back on the target (key, value and headers as received).
    """
    from confluent_kafka import Consumer, Producer

    from mm2_smoke.run_reader import PartitionReader, reader_settings

    passwords = load_passwords(config)
    flow = flow or config.flows[0]
    topic = config.naming.source_topic(1)
    remote = flow.remote_topic(topic)
    key = f"probe-{uuid.uuid4()}".encode()
    if value is None:
        value = b'{"probe": true, "sent_ms": %d}' % int(time.time() * 1000)
    if headers is None:
        headers = [("mm2-smoke-probe", key)]

    consumer = Consumer({**client_config(config, flow.target, "smoke", passwords),
                         **reader_settings("mm2-smoke-probe")})
    try:
        deadline = time.monotonic() + timeout_s
        md = None
        while time.monotonic() < deadline:
            md = consumer.list_topics(remote, timeout=5)
            if md.topics[remote].error is None:
                break
            time.sleep(0.5)
        else:
            raise StackError("connect", f"remote topic {remote} does not exist on {flow.target} after "
                             f"{timeout_s:.0f} s")
        # From the remote topic's end offsets, read before producing: only messages after them are candidates.
        reader = PartitionReader(consumer, [(remote, p) for p in md.topics[remote].partitions], "latest",
                                 deadline=deadline)

        errors: list[str] = []
        producer = Producer({**client_config(config, flow.source, "smoke", passwords), "acks": "all"})
        # Connect and authenticate first: the record's timestamp must not include the TLS/SASL handshake,
        # or MM2's replication-latency gauges (a 60 s window) would report it as replication latency.
        producer.list_topics(topic, timeout=15)
        t0 = time.monotonic()
        producer.produce(topic, value=value, key=key, headers=headers,
                         on_delivery=lambda err, _msg: err and errors.append(str(err)))
        if producer.flush(30) != 0 or errors:
            raise StackError(flow.source, f"producing the probe to {topic} failed: "
                             f"{errors or 'not delivered in 30 s'}")

        for batch in reader.batches():
            if batch.failures:
                raise StackError(flow.target, f"reading {remote} failed: {batch.failures[0].error()}")
            for msg in batch.messages:
                if msg.key() == key:
                    return ProbeResult(topic, remote, msg.key(), msg.value(), list(msg.headers() or []),
                                       time.monotonic() - t0, flow.name)
        raise StackError("connect", f"the probe produced to {topic} on {flow.source} did not reach {remote} on "
                         f"{flow.target} within {timeout_s:.0f} s")
    finally:
        consumer.close()


#: MM2's replication latency a probe may leave in the window before a run, in ms (half the runbook's 500 ms max).
LATENCY_CLEAR_MS = 250.0


def loop_finding(config: StackConfig) -> str | None:
    """Why this topology replicates a record back to its origin forever (the smoke test's own reading of the flow
    graph: :func:`mm2_smoke.flows.topology_findings`), or None. The stack builds such a topology as asked
    (active-active with IdentityReplicationPolicy): catching it is the smoke test's loop guard's job."""
    findings = topology_findings(config.flows, config.naming.source_topic(1))
    return next((f.message for f in findings if f.kind == "loop"), None)


def warm_up(config: StackConfig, timeout_s: float = 150, wait_latency: bool = True) -> ProbeResult:
    """One probe through each flow of the chain, then wait until MM2's latency window holds no slow record.

    MM2 keeps replication-latency avg/max over two 30 s samples: a chain's first record (cold JVM paths, the remote
    topic's first metadata) or a backlog replayed after a fault stays in that window for up to 60 s, and the next
    smoke run's step 1.3 would read it as its own. The window is read live on the JMX exporter (a store may hide its
    newest 30 s, as VictoriaMetrics does by default), for every flow's remote test topic. A topology that loops
    records (:func:`loop_finding`) is not waited for: a looping record keeps its first timestamp, so its latency
    only grows.

    :param wait_latency: False sends the probes only (the chain proven to replicate), without waiting for the window:
        when the window still holds a slow record, the run folder says so (:func:`latency_window_dirty`), and the
        next caller that reads MM2's latency waits then (``settle``), while what runs in between overlaps the wait.
    :return: the default flow's probe.
    """
    from mm2_stack import connect, proc

    results = [send_probe(config, timeout_s=timeout_s, flow=flow) for flow in config.flows]
    if loop_finding(config):
        return results[0]
    selectors = list(dict.fromkeys(stack_queries(config, flow).gauge_series()["latency_max_ms"]
                                   for flow in config.flows))

    def latency_clear() -> str | None:
        for selector in selectors:
            values = [v for v in connect.exporter_values(config, selector) if v == v]  # NaN: no record in the window
            slow = max(values, default=0.0)
            if slow >= LATENCY_CLEAR_MS:
                return f"latency max still {slow:g} ms ({selector})"
        return None

    marker = _dirty_marker(config)
    if not wait_latency:
        why = latency_clear()
        if why:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(f"{time.time():.0f} {why}\n")
        return results[0]
    proc.wait_until(config, "connect", latency_clear, timeout_s, "MM2's latency window to clear", interval_s=2)
    marker.unlink(missing_ok=True)
    return results[0]


def _dirty_marker(config: StackConfig):
    return config.run_dir / "latency-window-dirty"


def latency_window_dirty(config: StackConfig) -> str:
    """Why MM2's latency window may still hold a slow record (a heal that did not wait for it), '' when it does not:
    a caller about to read MM2's latency settles first."""
    marker = _dirty_marker(config)
    return marker.read_text().strip() if marker.exists() else ""
