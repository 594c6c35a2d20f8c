"""Reading test messages back: assigned partitions, read from a start, never committed, up to a stop.

The one reader of every place that reads messages back: step 1.4's count on the target
(:func:`mm2_smoke.step_1_4_target_count.count_step`), the consumer bomber's threads
(:mod:`mm2_smoke.bomber.consumer`) and the local stack's probe. It assigns partitions (no group rebalance to wait
for, no committed offset used or written) from the start asked (the beginning, the end at start, or a timestamp),
and stops at the first of: every partition read up to its end offset seen at start (``until_end``), ``deadline``,
``stop`` set by another thread (e.g. the consumer bomber's expected count reached), or the caller leaving the loop.
Partition EOF events are skipped; a partition whose last offsets are control records (transaction markers, never
delivered) counts as read once the consumer's position reaches its end offset. Decoding and accounting are the
callers'.

Kafka clients are imported inside the functions that use them: the module imports without confluent-kafka.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from mm2_smoke.bomber.client import QUEUE_BUFFER_KIB

#: Where reading starts: each partition's beginning, its end at start (only what arrives later), or a timestamp in
#: ms since the epoch (the first record at or after it; the end when there is none).
Start = Literal["earliest", "latest"] | int
#: Records fetched per ``consume`` call.
BATCH_SIZE = 1000
#: Longest wait for one batch, in seconds: how soon ``stop`` and the deadline are seen.
POLL_S = 0.2


def reader_settings(group_id: str, auto_offset_reset: str = "earliest") -> dict[str, Any]:
    """Consumer settings of a reader, beyond the connection: offsets are never committed (the group id only has to be
    one the user may use), no partition EOF events, a 32 MiB prefetch buffer.

    :param group_id: the consumer group id.
    :param auto_offset_reset: where to restart when an assigned offset is out of range (default ``earliest``).
    """
    return {"group.id": group_id, "enable.auto.commit": False, "enable.partition.eof": False,
            "auto.offset.reset": auto_offset_reset, "queued.max.messages.kbytes": QUEUE_BUFFER_KIB}


@dataclass(frozen=True)
class Batch:
    """What one fetch returned.

    :param messages: the records (``confluent_kafka.Message`` without an error), in the order read.
    :param failures: the messages carrying an error other than partition EOF (``msg.error()`` is the KafkaError).
    """

    messages: list[Any]
    failures: list[Any]


class PartitionReader:
    """Reads assigned partitions from ``start``; iterate :meth:`batches`.

    :param consumer: a confluent-kafka Consumer (:func:`reader_settings`), closed by the caller.
    :param partitions: the ``(topic, partition)`` pairs to read.
    :param start: where to start (:data:`Start`).
    :param until_end: stop once every partition is read up to its end offset seen at start (partitions with nothing
        to read are then not assigned).
    :param deadline: stop at this ``time.monotonic()`` (default: never).
    :param stop: stop when it is set (default: never).
    :param timeout_s: how long to wait for each offsets request at start, in seconds (default 10).
    :raises confluent_kafka.KafkaException: when the start or end offsets cannot be read.
    """

    def __init__(self, consumer: Any, partitions: Sequence[tuple[str, int]], start: Start, until_end: bool = False,
                 deadline: float = math.inf, stop: threading.Event | None = None, timeout_s: float = 10.0) -> None:
        self.consumer = consumer
        self.deadline = deadline
        self.stop = stop or threading.Event()
        #: End offset still to reach, per ``(topic, partition)``; None without ``until_end``.
        self.pending: dict[tuple[str, int], int] | None = None
        self._assign(list(partitions), start, until_end, timeout_s)

    def _assign(self, partitions: list[tuple[str, int]], start: Start, until_end: bool, timeout_s: float) -> None:
        from confluent_kafka import OFFSET_BEGINNING, TopicPartition

        marks = {}  # (low, high) watermarks: where "earliest" and "latest" are now
        if until_end or start != "earliest":
            marks = {(t, p): self.consumer.get_watermark_offsets(TopicPartition(t, p), timeout=timeout_s)
                     for t, p in partitions}
        if isinstance(start, int):
            found = self.consumer.offsets_for_times([TopicPartition(t, p, start) for t, p in partitions],
                                                    timeout=timeout_s)
            # -1: no record at or after the timestamp, so nothing to read before the end.
            offsets = {(tp.topic, tp.partition): tp.offset if tp.offset >= 0 else marks[(tp.topic, tp.partition)][1]
                       for tp in found}
        elif start == "latest":
            offsets = {k: marks[k][1] for k in partitions}
        else:
            offsets = {k: OFFSET_BEGINNING for k in partitions}
        if until_end:
            first = {k: marks[k][0] if offsets[k] == OFFSET_BEGINNING else offsets[k] for k in partitions}
            self.pending = {k: marks[k][1] for k in partitions if first[k] < marks[k][1]}
            partitions = list(self.pending)
        if partitions:
            self.consumer.assign([TopicPartition(t, p, offsets[(t, p)]) for t, p in partitions])

    @property
    def reached_end(self) -> bool:
        """Every partition was read up to its end offset seen at start (False without ``until_end``)."""
        return self.pending is not None and not self.pending

    def batches(self) -> Iterator[Batch]:
        """The records as they come, in batches, until a stop condition (see the module's doc)."""
        from confluent_kafka import KafkaError

        while not self.stop.is_set() and time.monotonic() < self.deadline and not self.reached_end:
            msgs = self.consumer.consume(num_messages=BATCH_SIZE,
                                         timeout=min(POLL_S, max(0.0, self.deadline - time.monotonic())))
            if not msgs and self.pending:
                self._drop_reached(self.pending)  # the last offsets may be control records, never delivered
            messages, failures = [], []
            for msg in msgs:
                err = msg.error()
                if err is None:
                    messages.append(msg)
                    self._reached(msg)
                elif err.code() != KafkaError._PARTITION_EOF:
                    failures.append(msg)
            if messages or failures:
                yield Batch(messages, failures)

    def _reached(self, msg: Any) -> None:
        if self.pending is not None:
            key = (msg.topic(), msg.partition())
            if key in self.pending and msg.offset() + 1 >= self.pending[key]:
                del self.pending[key]

    def _drop_reached(self, pending: dict[tuple[str, int], int]) -> None:
        """Forget the partitions whose position already reached their end offset."""
        from confluent_kafka import TopicPartition

        for tp in self.consumer.position([TopicPartition(t, p) for t, p in pending]):
            if tp.offset >= 0 and tp.offset >= pending.get((tp.topic, tp.partition), math.inf):
                pending.pop((tp.topic, tp.partition), None)
