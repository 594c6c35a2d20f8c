"""An in-memory Kafka consumer for the unit tests: the part of confluent-kafka's ``Consumer`` that the one reader of
test messages (``mm2_smoke.run_reader``) and step 1.4's count use, over partitions given as lists of offsets."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition


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
