"""The producer bomber: tagged records from ``num_threads`` threads (one client each), round robin over the topics,
paced at a total rate or unthrottled; what was sent, acknowledged and failed, per topic.

Kafka clients are imported inside the functions that use them: the module imports without confluent-kafka.
"""

from __future__ import annotations

import math
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mm2_smoke.bomber.client import (
    QUEUE_BUFFER_KIB,
    BomberConnectError,
    BomberInputError,
    ErrorSink,
    RunError,
    join_threads,
    kafka_code,
    warm_up,
)
from mm2_smoke.bomber.stats import ProduceSummary, TopicProduceStats
from mm2_smoke.message import MAX_RECORD_SIZE_BYTES, MessageFormatError, RunTag, encode, parse_key

#: The producer's ``acks`` choices.
ACKS = ("all", "1", "0")


def new_run_id() -> str:
    """A run id for the tag: ``bomber-<UTC time>-<4 hex>``, unique enough to tell runs apart."""
    return f"bomber-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:4]}"


def producer_id(thread_number: int) -> str:
    """The tag's producer id of one sending thread (1-based): ``<host>-<pid>-t<n>``."""
    return f"{socket.gethostname()}-{os.getpid()}-t{thread_number}"


@dataclass(frozen=True)
class ProducerSpec:
    """What the producer bomber sends.

    :param topics: the topics, sent to round robin (each thread sends to every topic).
    :param rate_per_s: total rate over every thread and topic, in messages per second; None is unthrottled.
    :param num_threads: sending threads, one client each (default 1).
    :param duration_s: stop after this many seconds (None: only ``num_messages`` stops it).
    :param num_messages: messages per topic, shared by the threads (None: only ``duration_s`` stops it).
    :param record_size: bytes of each record's value (default 1024), the run tag included.
    :param acks: ``all`` (default), ``1`` or ``0``. The producer is not idempotent (see ``client_settings``).
    :param run_id: the run tag's run id (default: a new one).
    :param linger_ms: how long the client waits to fill a batch, in ms (default 5, as the Java producer's).
    :param message_timeout_s: a record not acknowledged after this many seconds fails (default 30).
    :param flush_timeout_s: at the end, how long to wait for the last acknowledgements, in seconds (default 30).
    :raises BomberInputError: naming the spec field and the fix.
    """

    topics: tuple[str, ...]
    rate_per_s: float | None = 10.0
    num_threads: int = 1
    duration_s: float | None = 60.0
    num_messages: int | None = None
    record_size: int = 1024
    acks: str = "all"
    run_id: str = field(default_factory=new_run_id)
    linger_ms: int = 5
    message_timeout_s: float = 30.0
    flush_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if not self.topics:
            raise BomberInputError("no topic: give {field} 1 or more", {"field": "topics"})
        if self.rate_per_s is not None and not (self.rate_per_s > 0 and math.isfinite(self.rate_per_s)):
            raise BomberInputError("{field} {value:g} must be above 0: give the total rate in messages per second "
                                   "(e.g. 10), or {unthrottled} for as fast as possible",
                                   {"field": "rate_per_s", "unthrottled": "rate_per_s=None"}, value=self.rate_per_s)
        if self.num_threads < 1:
            raise BomberInputError("{field} {value} must be 1 or more", {"field": "num_threads"},
                                   value=self.num_threads)
        if self.duration_s is not None and not self.duration_s > 0:
            raise BomberInputError("{field} {value:g} must be above 0", {"field": "duration_s"}, value=self.duration_s)
        if self.num_messages is not None and self.num_messages < 1:
            raise BomberInputError("{field} {value} must be 1 or more", {"field": "num_messages"},
                                   value=self.num_messages)
        if self.duration_s is None and self.num_messages is None:
            raise BomberInputError("neither {field} nor {count}: give one to say when to stop",
                                   {"field": "duration_s", "count": "num_messages"})
        if self.acks not in ACKS:
            raise BomberInputError("{field} {value!r} is unknown: use one of {known}", {"field": "acks"},
                                   value=self.acks, known=", ".join(ACKS))
        if self.record_size > MAX_RECORD_SIZE_BYTES:
            raise BomberInputError("{field} {value} B is above the {limit:,} B a record may have (brokers refuse "
                                   "larger batches by default): use {field} {limit} or less", {"field": "record_size"},
                                   value=self.record_size, limit=MAX_RECORD_SIZE_BYTES)
        try:  # the longest tag this run will write must fit
            encode(RunTag(self.run_id, 10**12, int(time.time() * 1000), producer_id(self.num_threads)),
                   self.record_size)
        except MessageFormatError as exc:
            raise BomberInputError("{field} {value}: {why}", {"field": "record_size"}, value=self.record_size,
                                   why=str(exc)) from None
        if not 0 <= self.linger_ms <= 900_000:
            raise BomberInputError("{field} {value} ms must be between 0 and 900000", {"field": "linger_ms"},
                                   value=self.linger_ms)

    def thread_quota(self, thread: int) -> int | None:
        """Messages per topic that thread ``thread`` (0-based) sends; None without ``num_messages``."""
        if self.num_messages is None:
            return None
        return self.num_messages // self.num_threads + (1 if thread < self.num_messages % self.num_threads else 0)

    def thread_interval_s(self) -> float:
        """Time between two sends of one thread, in seconds (0: unthrottled)."""
        return 0.0 if self.rate_per_s is None else self.num_threads / self.rate_per_s

    def thread_plan(self, thread: int) -> int | None:
        """How many records thread ``thread`` sends in all (every topic), when that is known in advance.

        A duration at a rate gives ``ceil(duration × thread rate)`` sends (the last one before the end); a
        message count gives its quota times the topics; both give the smaller; unthrottled with a duration only
        is open-ended (None).
        """
        plans = []
        quota = self.thread_quota(thread)
        if quota is not None:
            plans.append(quota * len(self.topics))
        if self.duration_s is not None and self.rate_per_s is not None:
            plans.append(math.ceil(self.duration_s * self.rate_per_s / self.num_threads - 1e-9))
        return min(plans) if plans else None

    def client_settings(self) -> dict[str, Any]:
        """Producer settings beyond the connection."""
        # No idempotence: librdkafka's idempotent producer may hold the first send up to 500 ms while it
        # acquires its producer id (a timer, not the network), and MM2 would count that wait, stamped into
        # the record's timestamp, as replication latency. acks=all still means durable; duplicates from a
        # retry are found by the run tag and reported.
        return {"acks": self.acks, "enable.idempotence": False, "linger.ms": self.linger_ms,
                "message.timeout.ms": int(self.message_timeout_s * 1000),
                "queue.buffering.max.kbytes": QUEUE_BUFFER_KIB,
                "message.max.bytes": MAX_RECORD_SIZE_BYTES + 48_576}


@dataclass
class ProducerProgress:
    """A live view of the producer, for progress lines.

    :param elapsed_s: seconds since the first send.
    """

    elapsed_s: float
    sent: int
    delivered: int
    failed: int
    errors: int
    transient: int


class _SendThread(threading.Thread):
    """One sending thread: its own client, every topic round robin, paced from the common start."""

    def __init__(self, runner: _ProducerRun, index: int) -> None:
        super().__init__(name=f"bomber-send-{index + 1}", daemon=True)
        self.runner = runner
        self.index = index
        self.pid = producer_id(index + 1)
        self.stats = [TopicProduceStats(t) for t in runner.spec.topics]
        self._by_topic = {t: s for t, s in zip(runner.spec.topics, self.stats, strict=True)}
        self.max_gap_s: float | None = None
        self.first_send: float | None = None
        self.last_send: float | None = None

    def _on_delivery(self, err: Any, msg: Any) -> None:
        stats = self._by_topic[msg.topic()]
        if err is None:
            stats.delivered += 1
            if self.runner.on_ack is not None:
                run_seq = parse_key(msg.key())
                if run_seq is not None:
                    self.runner.on_ack(run_seq[1], time.time())
            return
        stats.failed += 1
        run_seq = parse_key(msg.key())
        if run_seq is not None:
            stats.failed_seqs.append(run_seq[1])
        self.runner.sink.error(RunError("{topic} key {key}: {reason}", code=err.code(), topic=msg.topic(),
                                        key=msg.key().decode(errors="replace"), reason=err.str()))

    def run(self) -> None:
        r = self.runner
        producer = None
        try:
            from confluent_kafka import Producer

            producer = Producer({**r.client, **r.spec.client_settings(), "on_delivery": self._on_delivery,
                                 "error_cb": r.sink.client_error, "log_level": r.log_level})
            for topic in r.spec.topics:  # handshake and metadata before the clock starts
                why = _warm_up_retrying(producer, topic, r.stop)
                if why:
                    r.sink.error(BomberConnectError("cannot produce to {topic}: {why}", why.fields, code=why.code,
                                                    topic=topic, why=why.worded()))
                    r.stop.set()
            r.barrier.wait()
            if not r.stop.is_set():
                self._send(producer)
        except threading.BrokenBarrierError:
            pass
        except Exception as exc:  # noqa: BLE001 - a thread's failure is the run's error, with its reason
            r.sink.error(RunError("thread {n}: {kind}: {why}", code=kafka_code(exc), n=self.index + 1,
                                  kind=type(exc).__name__, why=str(exc)))
            r.stop.set()
            r.barrier.abort()
        finally:
            if producer is not None:
                self._finish(producer)

    def _send(self, producer: Any) -> None:
        r = self.runner
        spec = r.spec
        topics = spec.topics
        k = len(topics)
        plan = spec.thread_plan(self.index)
        interval = spec.thread_interval_s()
        start = r.t0 + self.index * interval / spec.num_threads  # threads interleave: the total rate stays even
        deadline = r.t0 + spec.duration_s if spec.duration_s is not None else math.inf
        last_send: float | None = None
        i = 0
        while not r.stop.is_set() and (plan is None or i < plan):
            due = start + i * interval
            # Paced: the plan and the schedule decide (a late send is still sent); unthrottled: the clock.
            if due >= deadline or (interval == 0 and time.monotonic() >= deadline):
                break
            while (wait := due - time.monotonic()) > 0 and not r.stop.is_set():
                producer.poll(min(wait, 0.1))
            if r.stop.is_set():
                break
            topic_idx, seq = i % k, i // k + 1
            tag = RunTag(spec.run_id, seq, int(time.time() * 1000), self.pid)
            value = encode(tag, spec.record_size)
            while True:
                try:
                    producer.produce(topics[topic_idx], key=tag.key(), value=value)
                    break
                except BufferError:  # local queue full: let acknowledgements drain it
                    producer.poll(0.05)
                    if r.stop.is_set():
                        return
            now = time.monotonic()
            if last_send is None:
                self.first_send = now
            elif self.max_gap_s is None or now - last_send > self.max_gap_s:
                self.max_gap_s = now - last_send
            last_send = self.last_send = now
            stats = self.stats[topic_idx]
            stats.sent += 1
            stats.bytes_sent += len(value)
            producer.poll(0)
            i += 1

    def _finish(self, producer: Any) -> None:
        """Wait for the last acknowledgements (purge on abort or fatal error); count the unanswered as failed."""
        r = self.runner
        deadline = time.monotonic() + r.spec.flush_timeout_s
        while len(producer) and time.monotonic() < deadline and not r.abort.is_set() and r.sink.fatal is None:
            producer.flush(0.5)
        if len(producer):
            producer.purge()  # each purged record gets a failed delivery report
            producer.flush(5)
        for s in self.stats:
            unanswered = s.sent - s.delivered - s.failed
            if unanswered > 0:
                s.failed += unanswered
                r.sink.error(RunError("{topic}: {n} record(s) got no delivery report", topic=s.topic, n=unanswered))


def _warm_up_retrying(producer: Any, topic: str, stop: threading.Event,
                      timeout_s: float = 15.0) -> BomberConnectError | None:
    """:func:`~mm2_smoke.bomber.client.warm_up`, retried while a just-created topic's metadata propagates."""
    deadline = time.monotonic() + timeout_s
    while True:
        why = warm_up(producer, topic, timeout_s=max(1.0, deadline - time.monotonic()))
        if why is None or stop.is_set() or time.monotonic() >= deadline:
            return why
        producer.poll(0.2)


@dataclass
class _ProducerRun:
    client: dict[str, Any]
    spec: ProducerSpec
    sink: ErrorSink
    stop: threading.Event
    abort: threading.Event
    log_level: int
    on_ack: Callable[[int, float], None] | None = None
    barrier: threading.Barrier = field(init=False)
    t0: float = 0.0
    t0_wall_ms: int = 0

    def __post_init__(self) -> None:
        self.barrier = threading.Barrier(self.spec.num_threads, action=self._start_clock)

    def _start_clock(self) -> None:
        self.t0 = time.monotonic() + 0.01
        self.t0_wall_ms = int((time.time() + 0.01) * 1000)


def run_producer(client: dict[str, Any], spec: ProducerSpec,
                 progress: Callable[[ProducerProgress], None] | None = None, progress_interval_s: float = 5.0,
                 stop: threading.Event | None = None, log_level: int = 0,
                 on_ack: Callable[[int, float], None] | None = None) -> ProduceSummary:
    """Send the run's tagged records; return what was sent, acknowledged and failed, per topic.

    Ctrl-C (KeyboardInterrupt) stops sending and waits for the records in flight (a second one drops them);
    the summary says it stopped early (``stopped``: the interruption, or the fatal client error that stopped it).

    :param client: librdkafka connection settings (:meth:`~mm2_smoke.bomber.client.ClientSpec.config`).
    :param spec: what to send.
    :param progress: called every ``progress_interval_s`` seconds (default 5) with a live view.
    :param progress_interval_s: seconds between two progress calls.
    :param stop: set it to stop sending early (another thread, a signal handler).
    :param log_level: librdkafka's log level (0, the default, silences its logs: errors are reported here).
    :param on_ack: called from the sending thread with each acknowledged record's sequence number and the time of
        its delivery report (seconds since the epoch): the one-clock end-to-end latency's start (mm2_smoke.e2e).
    """
    stop = stop or threading.Event()
    sink = ErrorSink(client.get("bootstrap.servers", "?"), client.get("sasl.username"), stop)
    run = _ProducerRun(client, spec, sink, stop, threading.Event(), log_level, on_ack)
    threads = [_SendThread(run, i) for i in range(spec.num_threads)]
    for t in threads:
        t.start()
    stopped = join_threads(threads, stop, run.abort, lambda: progress and progress(_producer_view(run, threads)),
                           progress_interval_s)
    elapsed = time.monotonic() - run.t0 if run.t0 else 0.0
    per_topic = [TopicProduceStats(t) for t in spec.topics]
    for th in threads:
        for total, part in zip(per_topic, th.stats, strict=True):
            total.merge(part)
    gaps = [th.max_gap_s for th in threads if th.max_gap_s is not None]
    firsts = [th.first_send for th in threads if th.first_send is not None]
    lasts = [th.last_send for th in threads if th.last_send is not None]
    interval = spec.thread_interval_s()
    return ProduceSummary(run_id=spec.run_id, topics=per_topic, elapsed_s=max(0.0, elapsed),
                          max_gap_ms=max(gaps) * 1000 if gaps else None,
                          nominal_interval_ms=interval * 1000 if interval else None,
                          errors=list(sink.errors), error_count=sink.error_count, stopped=stopped or sink.fatal,
                          transient_errors=sink.transient,
                          send_span_s=max(lasts) - min(firsts) if firsts else 0.0,
                          started_ms=run.t0_wall_ms or int(time.time() * 1000), finished_ms=int(time.time() * 1000))


def _producer_view(run: _ProducerRun, threads: Sequence[_SendThread]) -> ProducerProgress:
    stats = [s for th in threads for s in th.stats]
    return ProducerProgress(elapsed_s=time.monotonic() - run.t0 if run.t0 else 0.0,
                            sent=sum(s.sent for s in stats), delivered=sum(s.delivered for s in stats),
                            failed=sum(s.failed for s in stats), errors=run.sink.error_count,
                            transient=run.sink.transient)
