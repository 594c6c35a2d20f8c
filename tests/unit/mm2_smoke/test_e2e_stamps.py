"""The one-clock watch's arrival stamps (issue 26): each message stamped when it is handed over, never at the end of a
batch's wait; and the MirrorMaker-vs-one-clock note names clock skew only when MirrorMaker runs on another host."""

from __future__ import annotations

import socket
import sys
import threading
import types
from typing import Any

import pytest

from mm2_smoke import e2e
from mm2_smoke.e2e import Result, Watch, arrivals, compare, on_other_host
from mm2_smoke.message import RunTag, encode


class FakeMessage:
    def __init__(self, value: bytes, error: Any = None) -> None:
        self._value, self._error = value, error

    def value(self) -> bytes:
        return self._value

    def error(self) -> Any:
        return self._error


class TimedConsumer:
    """A consumer on a simulated clock: each record is in the client's queue from its arrival time on. ``poll``
    returns at the first record's arrival (or its timeout); ``consume`` waits, as librdkafka's does, for
    ``num_messages`` records or its timeout."""

    def __init__(self, records: list[tuple[float, FakeMessage]], stop: threading.Event) -> None:
        self.records, self.stop, self.now = sorted(records, key=lambda r: r[0]), stop, 0.0
        self.calls: list[tuple[str, float]] = []

    def clock(self) -> float:
        return self.now

    def _idle(self, timeout: float) -> None:
        self.now += timeout
        if not self.records:
            self.stop.set()  # everything read: the test's end

    def poll(self, timeout: float) -> FakeMessage | None:
        self.calls.append(("poll", timeout))
        if self.records and self.records[0][0] <= self.now + timeout:
            at, msg = self.records.pop(0)
            self.now = max(self.now, at)
            return msg
        self._idle(timeout)
        return None

    def consume(self, num_messages: int, timeout: float) -> list[FakeMessage]:
        self.calls.append(("consume", timeout))
        deadline = self.now + timeout
        taken = []
        while self.records and self.records[0][0] <= deadline and len(taken) < num_messages:
            at, msg = self.records.pop(0)
            taken.append(msg)
            if len(taken) == num_messages:
                self.now = max(self.now, at)
                return taken
        self.now = deadline
        if not self.records and not taken:
            self.stop.set()
        return taken


def value(seq: int) -> bytes:
    return encode(RunTag("run-1", seq, 0, "p"), 200)


def stamps(records: list[tuple[float, FakeMessage]], drain_max: int = e2e.DRAIN_MAX
           ) -> tuple[list[tuple[bytes, float]], TimedConsumer]:
    stop = threading.Event()
    consumer = TimedConsumer(records, stop)
    got = [(m.value(), at) for m, at in arrivals(consumer, stop, clock=consumer.clock, drain_max=drain_max)]
    return got, consumer


def test_each_message_is_stamped_at_its_own_arrival_not_at_the_end_of_a_batch_wait() -> None:
    records = [(0.01, FakeMessage(value(1))), (0.05, FakeMessage(value(2))), (0.12, FakeMessage(value(3))),
               (0.31, FakeMessage(value(4)))]
    got, _ = stamps(records)
    # A batch read (consume(1000, 0.2)) would stamp the first three at 0.2 s and the fourth at 0.4 s.
    assert got == [(value(1), 0.01), (value(2), 0.05), (value(3), 0.12), (value(4), 0.31)]


def test_records_already_queued_are_taken_without_waiting_in_small_groups() -> None:
    burst = [(0.5, FakeMessage(value(seq))) for seq in range(1, 8)]
    got, consumer = stamps(burst, drain_max=3)
    assert [v for v, _ in got] == [value(seq) for seq in range(1, 8)]
    assert {at for _, at in got} == {0.5}  # all there at 0.5 s: none waited for a batch to fill
    assert all(timeout == 0 for kind, timeout in consumer.calls if kind == "consume")
    assert sum(1 for kind, _ in consumer.calls if kind == "consume") >= 3  # 6 queued after the poll, 3 at a time


def test_records_with_an_error_are_skipped_and_the_stop_ends_the_iteration() -> None:
    got, _ = stamps([(0.1, FakeMessage(b"", error="broker down")), (0.2, FakeMessage(value(1))),
                     (0.2, FakeMessage(b"", error="eof"))])
    assert got == [(value(1), 0.2)]
    stop = threading.Event()
    stop.set()
    assert list(arrivals(TimedConsumer([(0.0, FakeMessage(value(1)))], stop), stop)) == []


def test_the_watch_records_the_stamp_arrivals_gives_not_a_later_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The watch's thread, with its Kafka client and reader replaced: each run message's arrival is the stamp the
    read loop gave it; other runs' records are ignored."""

    class Meta:
        error = None
        partitions = {0: None}

    class Consumer:
        def __init__(self, conf: dict[str, Any]) -> None:
            self.closed = False

        def list_topics(self, topic: str, timeout: float) -> Any:
            return types.SimpleNamespace(topics={topic: Meta()})

        def close(self) -> None:
            self.closed = True

    def fake_arrivals(consumer: Any, stop: threading.Event) -> Any:
        yield FakeMessage(value(1)), 100.010
        yield FakeMessage(encode(RunTag("other-run", 2, 0, "p"), 200)), 100.020
        yield FakeMessage(value(2)), 100.030
        stop.wait(5)

    monkeypatch.setitem(sys.modules, "confluent_kafka", types.SimpleNamespace(Consumer=Consumer))
    monkeypatch.setattr("mm2_smoke.run_reader.PartitionReader", lambda *a, **k: None)
    monkeypatch.setattr(e2e, "arrivals", fake_arrivals)
    w = Watch({"bootstrap.servers": "127.0.0.1:1"}, "source.t", "run-1", 2)
    w.acked(1, 100.000)
    w.acked(2, 100.005)
    assert w.start(ready_timeout_s=5)
    assert w.wait(2, until_s=float("inf")) == "complete"
    w.close()
    r = w.result(2, "complete")
    assert (r.count, r.p50, r.max, r.last_arrival_s) == (2, 10, 25, 100.030)


def test_clock_skew_is_named_only_when_mirrormaker_runs_on_another_host() -> None:
    r = Result(100, 30, 60, 80, 90, True, "complete", 1.0)
    other = compare(r, 239.0, 263.0, other_host=True)
    same = compare(r, 239.0, 263.0, other_host=False)
    unknown = compare(r, 239.0, 263.0)
    assert other and "another host" in other and "skew between the two hosts' clocks goes into" in other
    assert same and "no clock skew" in same and "skew between" not in same and "60 s window" in same
    assert unknown and "only if MirrorMaker runs on another host" in unknown
    assert compare(r, 45.0, 120.0, other_host=True) is None  # agreeing figures: no note at all


def test_a_host_is_another_one_unless_it_is_this_hosts_name_or_a_loopback_address() -> None:
    assert on_other_host("localhost") is False
    assert on_other_host("127.0.0.1") is False and on_other_host("[::1]") is False
    assert on_other_host(socket.gethostname()) is False
    assert on_other_host("192.0.2.10") is True  # TEST-NET-1: never this host
    assert on_other_host(None) is None and on_other_host("") is None
    assert on_other_host("no-such-host.invalid") is None
