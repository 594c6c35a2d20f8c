"""The consumer bomber: reads topics with ``num_consumers`` threads (one client each, through
:class:`mm2_smoke.run_reader.PartitionReader`) and accounts, per topic, messages, rate, loss, duplicates and
end-to-end latency.

Kafka clients are imported inside the functions that use them: the module imports without confluent-kafka.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mm2_smoke.bomber.client import BomberInputError, ErrorSink, RunError, join_threads, kafka_code
from mm2_smoke.bomber.stats import ConsumeSummary, TopicConsumeStats
from mm2_smoke.message import RunTag, decode
from mm2_smoke.run_reader import PartitionReader, reader_settings

#: Consumer group of the consumer bomber; it never commits (partitions are assigned, not subscribed), the
#: name only has to be one the user may use (the local stack grants ``mm2-smoke*``).
DEFAULT_GROUP_ID = "mm2-smoke-bomber"
#: Where the consumer bomber may start reading.
OFFSET_RESETS = ("earliest", "latest")


@dataclass(frozen=True)
class ConsumerSpec:
    """What the consumer bomber reads, and when it stops.

    :param topics: the topics to read.
    :param num_consumers: reading threads, one client each; the topics' partitions are shared among them.
    :param duration_s: stop after this many seconds (default 60; None: another condition stops it).
    :param auto_offset_reset: ``earliest`` (default: from the beginning) or ``latest`` (only new records).
    :param expect_per_topic: stop once every topic has this many distinct tagged messages (None: never).
    :param until_end: stop once every partition is read up to its end offset seen at start.
    :param run_id: count only this run's tagged messages (others are "other run"); None counts every run.
    :param group_id: consumer group id (offsets are never committed; default ``mm2-smoke-bomber``).
    :raises BomberInputError: naming the spec field and the fix.
    """

    topics: tuple[str, ...]
    num_consumers: int = 1
    duration_s: float | None = 60.0
    auto_offset_reset: str = "earliest"
    expect_per_topic: int | None = None
    until_end: bool = False
    run_id: str | None = None
    group_id: str = DEFAULT_GROUP_ID

    def __post_init__(self) -> None:
        if not self.topics:
            raise BomberInputError("no topic: give {field} 1 or more", {"field": "topics"})
        if self.num_consumers < 1:
            raise BomberInputError("{field} {value} must be 1 or more", {"field": "num_consumers"},
                                   value=self.num_consumers)
        if self.duration_s is not None and not self.duration_s > 0:
            raise BomberInputError("{field} {value:g} must be above 0", {"field": "duration_s"}, value=self.duration_s)
        if self.auto_offset_reset not in OFFSET_RESETS:
            raise BomberInputError("{field} {value!r} is unknown: use earliest or latest",
                                   {"field": "auto_offset_reset"}, value=self.auto_offset_reset)
        if self.expect_per_topic is not None and self.expect_per_topic < 1:
            raise BomberInputError("{field} {value} must be 1 or more", {"field": "expect_per_topic"},
                                   value=self.expect_per_topic)
        if self.until_end and self.auto_offset_reset == "latest":
            raise BomberInputError("{field} with {reset} latest has nothing to read: use earliest",
                                   {"field": "until_end", "reset": "auto_offset_reset"})
        if self.duration_s is None and self.expect_per_topic is None and not self.until_end:
            raise BomberInputError("nothing would stop the consumer: give {duration}, {expect} or {field}",
                                   {"field": "until_end", "duration": "duration_s", "expect": "expect_per_topic"})

    def client_settings(self) -> dict[str, Any]:
        """Consumer settings beyond the connection (:func:`mm2_smoke.run_reader.reader_settings`)."""
        return reader_settings(self.group_id, self.auto_offset_reset)


@dataclass
class ConsumerProgress:
    """A live view of the consumer, for progress lines."""

    elapsed_s: float
    messages: int
    tagged: int
    errors: int
    transient: int


class _ConsumeState:
    """The per-topic stats every reading thread adds to, behind one lock (one acquisition per batch)."""

    def __init__(self, spec: ConsumerSpec, stop: threading.Event) -> None:
        self.spec = spec
        self.stop = stop
        self.lock = threading.Lock()
        self.stats = {t: TopicConsumeStats(t) for t in spec.topics}
        self.reason = ""

    def add(self, batch: Sequence[tuple[str, float, RunTag | None]]) -> None:
        run_id = self.spec.run_id
        with self.lock:
            for topic, received_s, tag in batch:
                if tag is None or (run_id is not None and tag.run_id != run_id):
                    self.stats[topic].record(received_s, None, None, None, None)
                else:
                    self.stats[topic].record(received_s, tag.run_id, tag.producer_id, tag.seq, tag.ts_ms)
            expected = self.spec.expect_per_topic
            if expected is not None and all(s.distinct >= expected for s in self.stats.values()):
                self.reason = self.reason or f"every topic has its {expected} expected messages"
                self.stop.set()


class _ReadThread(threading.Thread):
    """One reading thread: its own client and reader over its share of the partitions."""

    def __init__(self, client: dict[str, Any], spec: ConsumerSpec, partitions: Sequence[tuple[str, int]],
                 state: _ConsumeState, sink: ErrorSink, deadline: float, log_level: int, index: int) -> None:
        super().__init__(name=f"bomber-read-{index + 1}", daemon=True)
        self.client, self.spec, self.partitions = client, spec, list(partitions)
        self.state, self.sink, self.deadline, self.log_level = state, sink, deadline, log_level

    def run(self) -> None:
        from confluent_kafka import Consumer

        consumer = None
        try:
            consumer = Consumer({**self.client, **self.spec.client_settings(), "error_cb": self.sink.client_error,
                                 "log_level": self.log_level})
            reader = PartitionReader(consumer, self.partitions, self.spec.auto_offset_reset, self.spec.until_end,
                                     self.deadline, self.state.stop)
            for batch in reader.batches():
                for msg in batch.failures:
                    err = msg.error()
                    self.sink.error(RunError("reading {topic}: {reason}", code=err.code(), topic=msg.topic(),
                                             reason=err.str()))
                    if err.fatal():
                        self.state.stop.set()
                if batch.messages:
                    self.state.add([(m.topic(), time.time(), decode(m.value())) for m in batch.messages])
        except Exception as exc:  # noqa: BLE001 - a thread's failure is the run's error, with its reason
            self.sink.error(RunError("{thread}: {kind}: {why}", code=kafka_code(exc), thread=self.name,
                                     kind=type(exc).__name__, why=str(exc)))
            self.state.stop.set()
        finally:
            if consumer is not None:
                consumer.close()


def share_partitions(partitions: dict[str, list[int]], num_consumers: int) -> list[list[tuple[str, int]]]:
    """Deal every (topic, partition) to the consumers round robin (extra consumers get none)."""
    flat = [(t, p) for t in sorted(partitions) for p in partitions[t]]
    return [flat[i::num_consumers] for i in range(num_consumers)]


def run_consumer(client: dict[str, Any], spec: ConsumerSpec, partitions: dict[str, list[int]],
                 progress: Callable[[ConsumerProgress], None] | None = None, progress_interval_s: float = 5.0,
                 stop: threading.Event | None = None, log_level: int = 0) -> ConsumeSummary:
    """Read the topics' records; account per topic messages, rate, loss, duplicates and end-to-end latency.

    :param client: librdkafka connection settings (:meth:`~mm2_smoke.bomber.client.ClientSpec.config`).
    :param spec: what to read and when to stop.
    :param partitions: each topic's partitions (:func:`~mm2_smoke.bomber.client.topic_partitions`); each must be
        in ``spec.topics``.
    :param progress: called every ``progress_interval_s`` seconds (default 5) with a live view.
    :param progress_interval_s: seconds between two progress calls.
    :param stop: set it to stop early.
    :param log_level: librdkafka's log level (0, the default, silences its logs).
    """
    stop = stop or threading.Event()
    sink = ErrorSink(client.get("bootstrap.servers", "?"), client.get("sasl.username"), stop)
    state = _ConsumeState(spec, stop)
    t0 = time.monotonic()
    deadline = t0 + spec.duration_s if spec.duration_s is not None else math.inf
    shares = share_partitions(partitions, spec.num_consumers)
    threads = [_ReadThread(client, spec, share, state, sink, deadline, log_level, i)
               for i, share in enumerate(shares) if share]
    for t in threads:
        t.start()

    def report() -> None:
        if progress:
            with state.lock:
                messages = sum(s.messages for s in state.stats.values())
                tagged = sum(s.tagged for s in state.stats.values())
            progress(ConsumerProgress(time.monotonic() - t0, messages, tagged, sink.error_count, sink.transient))

    stopped: RunError | None = join_threads(threads, stop, threading.Event(), report, progress_interval_s)
    elapsed = time.monotonic() - t0
    stopped = stopped or sink.fatal
    if not stopped and spec.until_end and time.monotonic() >= deadline:
        stopped = RunError("{field} reached before the end offsets ({seconds:g} s)", {"field": "duration_s"},
                           seconds=spec.duration_s)
    finished = state.reason or ("every partition read to its end offset at start" if spec.until_end and not stopped
                                else "")
    return ConsumeSummary(topics=[state.stats[t] for t in spec.topics], elapsed_s=elapsed,
                          expected=spec.expect_per_topic, errors=list(sink.errors), error_count=sink.error_count,
                          stopped=stopped, finished=finished, transient_errors=sink.transient)
