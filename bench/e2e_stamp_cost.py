"""The one-clock watch's read loop: what stamping each message at its arrival costs, and what it corrects.

A micro-benchmark, not a test: it prints numbers and never fails on one. It needs no stack: librdkafka's in-process
mock cluster (``test.mock.num.brokers``) serves the records, so it runs anywhere the venv does. Three read loops,
each feeding a :class:`mm2_smoke.e2e.Watch` as the watch's thread does (decode the run tag, record the arrival):

- ``batch``: the loop before issue 26, ``consume(num_messages=1000, timeout=0.2)``, every message stamped when the
  batch returns;
- ``poll``: one ``poll(0.2)`` per message, each stamped at its return;
- ``arrivals``: :func:`mm2_smoke.e2e.arrivals` (a poll, then what is already queued, in groups of
  :data:`mm2_smoke.e2e.DRAIN_MAX`, each group stamped at its return), what the watch runs now.

1. CPU: ``--messages`` records (default 100,000, 1 KiB) produced first, then read back by each loop in turn: the
   reading thread's CPU seconds (``time.thread_time``), per message, and the wall time (the records are all there:
   the worst case for a loop's cost per call).
2. Stamps: ``--paced`` records at ``--rate`` msg/s read by the three loops at once (one consumer each): the
   acknowledgement -> arrival latency each loop reports (p50 / p95 / max, ms). Their differences are what the loop
   adds; the mock broker's own delay is the same for all three.

Run: ``PYTHONPATH=plugins .venv/bin/python bench/e2e_stamp_cost.py`` (about 30 s).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "plugins"), str(REPO / "include")]

from mm2_smoke.e2e import Watch, arrivals  # noqa: E402
from mm2_smoke.message import RunTag, decode, encode  # noqa: E402
from mm2_smoke.run_reader import reader_settings  # noqa: E402

RUN = "bench-e2e-stamp"
#: A read loop: the records of an assigned consumer with their arrival stamps, until the event is set.
Loop = Callable[[Any, threading.Event], Iterator[tuple[Any, float]]]


def batch_loop(consumer: Any, stop: threading.Event) -> Iterator[tuple[Any, float]]:
    """The watch's loop before issue 26: one stamp per ``consume(1000, 0.2)``."""
    while not stop.is_set():
        msgs = consumer.consume(num_messages=1000, timeout=0.2)
        now = time.time()
        for msg in msgs:
            if msg.error() is None:
                yield msg, now


def poll_loop(consumer: Any, stop: threading.Event) -> Iterator[tuple[Any, float]]:
    """One ``poll`` per message, stamped at its return."""
    while not stop.is_set():
        msg = consumer.poll(0.2)
        now = time.time()
        if msg is not None and msg.error() is None:
            yield msg, now


LOOPS: dict[str, Loop] = {"batch": batch_loop, "poll": poll_loop, "arrivals": arrivals}


def mock_cluster() -> tuple[Any, str]:
    """A librdkafka mock cluster of one broker, kept alive by the returned producer; its bootstrap address."""
    from confluent_kafka import Producer

    holder = Producer({"test.mock.num.brokers": 1, "log_level": 0})
    broker = next(iter(holder.list_topics(timeout=10).brokers.values()))
    return holder, f"{broker.host}:{broker.port}"


def assigned_consumer(bootstrap: str, topic: str, group: str) -> tuple[Any, int]:
    """A consumer of every partition of ``topic`` from its beginning (the watch's reader settings), and how many
    records the topic holds (the mock broker drops a partition's oldest records beyond a few MiB).

    ``fetch.wait.max.ms`` is 10 ms here only: the mock broker answers an empty fetch at its end, where a real broker
    answers as soon as a record comes (``fetch.min.bytes`` 1), and the same for every loop.
    """
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, **reader_settings(group), "fetch.wait.max.ms": 10,
                         "log_level": 0})
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    marks = [consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in partitions]
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    return consumer, sum(high - low for low, high in marks)


def feed(watch: Watch, consumer: Any, loop: Loop, expected: int, timeout_s: float) -> tuple[float, float]:
    """Read with ``loop`` into ``watch`` (as the watch's thread does) until ``expected`` arrived.

    :return: the reading thread's CPU seconds and the wall seconds.
    """
    stop = threading.Event()
    timer = threading.Timer(timeout_s, stop.set)
    timer.start()
    cpu0, wall0 = time.thread_time(), time.monotonic()
    try:
        for msg, at in loop(consumer, stop):
            tag = decode(msg.value())
            if tag is not None and tag.run_id == RUN:
                watch.arrived(tag.seq, at)
            if watch.seen() >= expected:
                stop.set()
    finally:
        timer.cancel()
    return time.thread_time() - cpu0, time.monotonic() - wall0


def produce(bootstrap: str, topic: str, n: int, size: int, rate: float | None, watch: list[Watch]) -> None:
    """``n`` tagged records to ``topic`` (paced at ``rate`` msg/s, or as fast as possible); each acknowledgement is
    given to every watch."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0 if rate else 5,
                         "log_level": 0})

    def acked(err: Any, msg: Any) -> None:
        if err is None:
            tag = decode(msg.value())
            now = time.time()
            for w in watch:
                w.acked(tag.seq, now)

    t0 = time.monotonic()
    for seq in range(1, n + 1):
        if rate:
            time.sleep(max(0.0, t0 + (seq - 1) / rate - time.monotonic()))
        value = encode(RunTag(RUN, seq, int(time.time() * 1000), "bench"), size)
        while True:
            try:
                producer.produce(topic, value=value, on_delivery=acked)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    if producer.flush(60):
        raise SystemExit("bench: the mock cluster did not acknowledge every record in 60 s")


def bench_cpu(bootstrap: str, n: int, size: int) -> dict[str, tuple[float, float, int]]:
    """Each loop's reading-thread CPU seconds, wall seconds and records read.

    Each loop reads its own topic while a thread produces to it unthrottled (the mock broker keeps only a few MiB
    per partition, so the records cannot all be produced first); the reading thread's CPU is its own.
    """
    print(f"[1/2] CPU: {n:,} records of {size} B produced unthrottled, read as they come by each loop in turn",
          file=sys.stderr)
    out = {}
    for name, loop in LOOPS.items():
        topic = f"bench-cpu-{name}"
        produce(bootstrap, topic, 1, size, None, [])  # the topic exists before the consumer looks
        consumer, _held = assigned_consumer(bootstrap, topic, f"bench-cpu-{name}")
        producer = threading.Thread(target=produce, args=(bootstrap, topic, n, size, None, []))
        try:
            watch = Watch({}, topic, RUN, n)
            producer.start()
            out[name] = (*feed(watch, consumer, loop, n, timeout_s=120), watch.seen())
            if watch.seen() < n:
                raise SystemExit(f"bench: the {name} loop read {watch.seen()} of {n} records in 120 s")
        finally:
            producer.join()
            consumer.close()
    return out


def bench_stamps(bootstrap: str, n: int, rate: float, size: int) -> dict[str, Any]:
    """Each loop's :class:`mm2_smoke.e2e.Result` of ``n`` records produced at ``rate`` msg/s."""
    topic = "bench-stamps"
    print(f"[2/2] stamps: {n} records at {rate:g} msg/s, read by the three loops at once", file=sys.stderr)
    produce(bootstrap, topic, 1, size, None, [])  # the topic exists before the consumers look
    watches = {name: Watch({}, topic, RUN, n) for name in LOOPS}
    consumers = {name: assigned_consumer(bootstrap, topic, f"bench-stamps-{name}")[0] for name in LOOPS}
    threads = [threading.Thread(target=feed, args=(watches[name], consumers[name], loop, n, n / rate + 30))
               for name, loop in LOOPS.items()]
    try:
        for t in threads:
            t.start()
        time.sleep(1.0)  # each consumer has read the first record and waits
        for w in watches.values():
            w.arrived(1, 0.0)  # the topic's creation record is not timed
        produce(bootstrap, topic, n, size, rate, list(watches.values()))
        for t in threads:
            t.join()
    finally:
        for c in consumers.values():
            c.close()
    return {name: w.result(n, "bench") for name, w in watches.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/e2e_stamp_cost.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000, help="records of the CPU test (default 100000)")
    parser.add_argument("--size", type=int, default=1024, help="record size in bytes (default 1024, the Param's)")
    parser.add_argument("--paced", type=int, default=300, help="records of the stamp test (default 300)")
    parser.add_argument("--rate", type=float, default=30.0, help="their rate, msg/s (default 30)")
    args = parser.parse_args(argv)
    holder, bootstrap = mock_cluster()
    try:
        cpu = bench_cpu(bootstrap, args.messages, args.size)
        stamps = bench_stamps(bootstrap, args.paced, args.rate, args.size)
    finally:
        holder.flush(5)
    print(f"\nthe watch's read loop, librdkafka mock cluster, {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"{'loop':<10} {'CPU s':>7} {'us/msg':>7} {'wall s':>7}   ack->arrival at {args.rate:g} msg/s: "
          "p50 / p95 / max ms")
    for name in LOOPS:
        cpu_s, wall_s, read = cpu[name]  # read == --messages (checked)
        r = stamps[name]
        print(f"{name:<10} {cpu_s:7.2f} {1e6 * cpu_s / read:7.2f} {wall_s:7.2f}   "
              f"{r.p50} / {r.p95} / {r.max} ({r.count} timed)")
    print(f"(CPU columns: the reading thread's, for {args.messages:,} records of {args.size} B; wall: as fast as "
          "the producer)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
