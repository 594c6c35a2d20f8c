"""The one reader of test messages: where it starts, that it never commits, and each way it stops."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from types import SimpleNamespace

from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from mm2_smoke.run_reader import PartitionReader, reader_settings


@dataclass
class Msg:
    """A fetched record (or event) as confluent-kafka returns it."""

    _topic: str
    _partition: int
    _offset: int
    _value: bytes = b"x"
    _error: KafkaError | None = None

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def value(self) -> bytes:
        return self._value

    def error(self) -> KafkaError | None:
        return self._error


@dataclass
class FakeConsumer:
    """A consumer over in-memory partitions: ``logs[(topic, p)]`` are the offsets of its records; ``high`` the end
    (beyond the last record when the last offsets are control records)."""

    logs: dict[tuple[str, int], list[int]]
    high: dict[tuple[str, int], int]
    times: dict[tuple[str, int], int] = field(default_factory=dict)  # offset of the first record at the timestamp
    values: dict[tuple[str, int, int], bytes] = field(default_factory=dict)  # a record's value (default b"x")
    topic_error: KafkaError | None = None  # what the metadata says of the topic
    events: list[Msg] = field(default_factory=list)  # delivered first (EOF, errors)
    assigned: dict[tuple[str, int], int] = field(default_factory=dict)
    positions: dict[tuple[str, int], int] = field(default_factory=dict)
    watermark_calls: int = 0
    commits: int = 0

    def get_watermark_offsets(self, tp: TopicPartition, timeout: float) -> tuple[int, int]:
        self.watermark_calls += 1
        key = (tp.topic, tp.partition)
        return (self.logs[key][0] if self.logs[key] else self.high[key]), self.high[key]

    def offsets_for_times(self, tps: list[TopicPartition], timeout: float) -> list[TopicPartition]:
        return [TopicPartition(tp.topic, tp.partition, self.times.get((tp.topic, tp.partition), -1)) for tp in tps]

    def assign(self, tps: list[TopicPartition]) -> None:
        self.assigned = {(tp.topic, tp.partition): tp.offset for tp in tps}
        for key, offset in self.assigned.items():
            self.positions[key] = self.logs[key][0] if offset == OFFSET_BEGINNING and self.logs[key] else offset

    def consume(self, num_messages: int, timeout: float) -> list[Msg]:
        out, self.events = self.events[:num_messages], self.events[num_messages:]
        for key in self.assigned:
            for offset in self.logs[key]:
                if offset >= self.positions[key] and len(out) < num_messages:
                    out.append(Msg(key[0], key[1], offset, self.values.get((*key, offset), b"x")))
                    self.positions[key] = offset + 1
            if all(o < self.positions[key] for o in self.logs[key]):
                self.positions[key] = max(self.positions[key], self.high[key])  # past any control records
        return out

    def position(self, tps: list[TopicPartition]) -> list[TopicPartition]:
        return [TopicPartition(tp.topic, tp.partition, self.positions[(tp.topic, tp.partition)]) for tp in tps]

    def list_topics(self, topic: str, timeout: float) -> SimpleNamespace:
        partitions = {p: None for t, p in self.logs if t == topic}
        meta = SimpleNamespace(partitions=partitions, error=self.topic_error) if partitions else None
        return SimpleNamespace(topics={topic: meta} if meta else {})

    def commit(self, *args: object, **kwargs: object) -> None:
        self.commits += 1


def read_all(reader: PartitionReader) -> tuple[list[tuple[str, int, int]], list[Msg]]:
    messages, failures = [], []
    for batch in reader.batches():
        messages += [(m.topic(), m.partition(), m.offset()) for m in batch.messages]
        failures += batch.failures
    return messages, failures


def test_reads_from_a_timestamp_up_to_the_end_offsets_seen_at_start_and_never_commits() -> None:
    consumer = FakeConsumer(logs={("t", 0): list(range(10)), ("t", 1): [0, 1], ("t", 2): [0]},
                            high={("t", 0): 10, ("t", 1): 2, ("t", 2): 1}, times={("t", 0): 7, ("t", 1): 1})
    reader = PartitionReader(consumer, [("t", 0), ("t", 1), ("t", 2)], 1_000, until_end=True)
    assert consumer.assigned == {("t", 0): 7, ("t", 1): 1}  # partition 2 has nothing at or after the timestamp
    messages, failures = read_all(reader)
    assert messages == [("t", 0, 7), ("t", 0, 8), ("t", 0, 9), ("t", 1, 1)] and failures == []
    assert reader.reached_end and consumer.commits == 0
    assert reader_settings("g")["enable.auto.commit"] is False


def test_nothing_to_read_ends_at_once() -> None:
    consumer = FakeConsumer(logs={("t", 0): []}, high={("t", 0): 0})
    reader = PartitionReader(consumer, [("t", 0)], "earliest", until_end=True)
    assert read_all(reader) == ([], []) and reader.reached_end and consumer.assigned == {}


def test_control_records_at_the_end_do_not_keep_it_waiting() -> None:
    """The last two offsets are transaction markers: never delivered, yet the partition is read to its end."""
    consumer = FakeConsumer(logs={("t", 0): [0, 1, 2]}, high={("t", 0): 5})
    reader = PartitionReader(consumer, [("t", 0)], "earliest", until_end=True, deadline=time.monotonic() + 30)
    t0 = time.monotonic()
    messages, _ = read_all(reader)
    assert [m[2] for m in messages] == [0, 1, 2] and reader.reached_end and time.monotonic() - t0 < 5


def test_partition_eof_is_skipped_and_errors_are_returned_to_the_caller() -> None:
    consumer = FakeConsumer(logs={("t", 0): [0]}, high={("t", 0): 1},
                            events=[Msg("t", 0, 1, _error=KafkaError(KafkaError._PARTITION_EOF)),
                                    Msg("t", 0, -1, _error=KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED))])
    messages, failures = read_all(PartitionReader(consumer, [("t", 0)], "earliest", until_end=True))
    assert messages == [("t", 0, 0)]
    assert [f.error().code() for f in failures] == [KafkaError.TOPIC_AUTHORIZATION_FAILED]


def test_latest_starts_at_the_end_seen_at_start_and_earliest_asks_no_offsets() -> None:
    consumer = FakeConsumer(logs={("t", 0): [0, 1, 2]}, high={("t", 0): 3})
    PartitionReader(consumer, [("t", 0)], "latest")
    assert consumer.assigned == {("t", 0): 3}
    earliest = FakeConsumer(logs={("t", 0): [0, 1, 2]}, high={("t", 0): 3})
    PartitionReader(earliest, [("t", 0)], "earliest")
    assert earliest.assigned == {("t", 0): OFFSET_BEGINNING} and earliest.watermark_calls == 0


def test_stop_and_deadline_end_an_open_ended_read() -> None:
    consumer = FakeConsumer(logs={("t", 0): [0, 1]}, high={("t", 0): 2})
    stop = threading.Event()
    reader = PartitionReader(consumer, [("t", 0)], "earliest", stop=stop)
    seen = []
    for batch in reader.batches():
        seen += batch.messages
        stop.set()  # e.g. the consumer bomber's expected count reached
    assert len(seen) == 2 and not reader.reached_end
    expired = PartitionReader(consumer, [("t", 0)], "earliest", deadline=time.monotonic() - 1)
    assert read_all(expired) == ([], [])
