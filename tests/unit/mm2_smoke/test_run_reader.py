"""The one reader of test messages: where it starts, that it never commits, and each way it stops."""

from __future__ import annotations

import threading
import time

from confluent_kafka import OFFSET_BEGINNING, KafkaError

from mm2_smoke.run_reader import PartitionReader, reader_settings
from tests.support.fake_kafka import FakeConsumer, Msg


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
