"""Step 1.1's result, the producer warm-up, and counting a run's messages on the target.

Takes confluent-kafka client objects (from the hooks or the CLIs), so the same code serves the DAG and
the bomber CLIs. The producing itself is :mod:`mm2_smoke.bomber`'s.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from mm2_smoke.message import decode
from mm2_smoke.verdict import CountResult, missing_and_duplicates

log = logging.getLogger(__name__)


@dataclass
class ProduceResult:
    """What step 1.1 sent, and what the brokers acknowledged (acks=all).

    :param failed_seqs: sequence numbers whose delivery report was an error (or never came).
    :param first_errors: the first delivery errors, as the client reported them.
    :param started_ms: wall clock when the first message was sent (ms since the epoch).
    :param finished_ms: wall clock when the last delivery report arrived.
    :param achieved_rate: messages sent per second over the production.
    :param tagged: the records carry the run tag (False for Kafka's perf-test: step 1.4 counts by time).
    :param variant: which producer made them (``bomber`` or ``perf-test``).
    :param setup_error: why nothing could be produced at all (connection, credentials, TLS, topic): the
        smoke test could not start, which is not evidence about the chain ('' when production ran).
    :param run_tag: the run id written in this attempt's messages (``<run id>`` on the first attempt,
        ``<run id>#try<n>`` on retry n): step 1.4 counts only these, so a retried step 1.1 is never counted twice.
    """

    topic: str
    requested: int
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    failed_seqs: list[int] = field(default_factory=list)
    first_errors: list[str] = field(default_factory=list)
    started_ms: int = 0
    finished_ms: int = 0
    achieved_rate: float = 0.0
    tagged: bool = True
    variant: str = "bomber"
    setup_error: str = ""
    run_tag: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def delivered_seqs(self) -> list[int]:
        if not self.tagged:
            return []
        failed = set(self.failed_seqs)
        return [s for s in range(1, self.sent + 1) if s not in failed]


def warm_up(client: Any, topic: str, timeout_s: float = 15.0) -> str | None:
    """Connect, authenticate and fetch ``topic``'s metadata before timing anything; None when ready.

    Without it the first messages' timestamps (taken at ``produce()``) include the TLS and SASL handshakes,
    which MM2's replication latency then counts as if MM2 were slow.

    :return: why the topic cannot be produced to (no broker answer, topic missing, not authorized).
    """
    from confluent_kafka import KafkaException

    try:
        md = client.list_topics(topic, timeout=timeout_s)
    except KafkaException as exc:
        return f"no metadata from the brokers within {timeout_s:g} s: {exc.args[0].str()}"
    meta = md.topics.get(topic)
    if meta is None:
        return f"topic {topic} is absent from the metadata"
    if meta.error is not None:
        return f"topic {topic}: {meta.error.str()}"
    if not meta.partitions:
        return f"topic {topic} has no partition"
    return None


def count_run(consumer: Any, topic: str, run_id: str, delivered_seqs: list[int], since_ms: int,
              timeout_s: float) -> CountResult:
    """Read ``topic`` from ``since_ms`` up to the end offsets seen at start; count this run's messages.

    Stops as soon as every partition reached its end offset seen at start (or after ``timeout_s``).
    Messages of other runs or producers are counted as ``foreign`` and otherwise ignored.
    """
    from confluent_kafka import KafkaError, KafkaException, TopicPartition

    try:
        md = consumer.list_topics(topic, timeout=10)
    except KafkaException as exc:
        return CountResult(0, sorted(delivered_seqs), [], error=f"cannot read metadata of {topic}: {exc.args[0]}")
    tmeta = md.topics.get(topic)
    if tmeta is None or tmeta.error is not None:
        code = tmeta.error if tmeta is not None else "absent"
        if tmeta is not None and tmeta.error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
            return CountResult(0, sorted(delivered_seqs), [], error=f"not authorized to read {topic} on target")
        return CountResult(0, sorted(delivered_seqs), [], note=f"the remote topic {topic} does not exist on "
                           f"target ({code})")
    try:
        starts = consumer.offsets_for_times([TopicPartition(topic, p, since_ms) for p in tmeta.partitions], timeout=10)
        ends: dict[int, int] = {}
        for p in tmeta.partitions:
            _low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            ends[p] = high
    except KafkaException as exc:
        return CountResult(0, sorted(delivered_seqs), [], error=f"cannot read offsets of {topic}: {exc.args[0]}")
    assign = []
    pending: dict[int, int] = {}
    for tp in starts:
        start = tp.offset if tp.offset >= 0 else ends[tp.partition]  # -1: nothing at/after since_ms
        if start < ends[tp.partition]:
            assign.append(TopicPartition(topic, tp.partition, start))
            pending[tp.partition] = ends[tp.partition]
    seen: list[int] = []
    foreign = 0
    deadline = time.monotonic() + timeout_s
    if assign:
        consumer.assign(assign)
    while pending and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                continue
            return CountResult(len(set(seen)), *missing_and_duplicates(delivered_seqs, seen), foreign=foreign,
                               error=f"reading {topic} failed: {msg.error()}")
        tag = decode(msg.value())
        if tag is not None and tag.run_id == run_id:
            seen.append(tag.seq)
        else:
            foreign += 1
        if msg.offset() + 1 >= pending.get(msg.partition(), 0):
            pending.pop(msg.partition(), None)
    missing, dups = missing_and_duplicates(delivered_seqs, seen)
    note = f"stopped after {timeout_s:g} s before the end offsets" if pending else ""
    return CountResult(len(set(seen)), missing, dups, foreign=foreign, note=note)


def attempt_tag(run_id: str, try_number: int) -> str:
    """The run tag of one attempt of step 1.1: a retry writes messages that step 1.4 tells apart."""
    return run_id if try_number <= 1 else f"{run_id}#try{try_number}"
