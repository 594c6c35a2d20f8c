"""One-clock end-to-end latency: a consumer of the target's remote topic, started before production in the producer's
own process, so that each message's acknowledgement (by the source) and its arrival (on the target) are read on one
clock. MirrorMaker's own ``replication-latency-ms`` compares its own host's clock (another host's, unless MirrorMaker runs
on this one) with the source record's timestamp and blends a 60 s window of other traffic; this does neither.

Each message's arrival is stamped when the consumer hands it over (:func:`arrivals`): one ``poll`` that returns as soon
as a message is there, then what is already in the client's queue without waiting, stamped at each call's return. A
batch read (``consume(num_messages=1000, timeout=0.2)``) waits for its 1000 messages or its 200 ms and stamped every
message at its end: up to 200 ms added to each, on an idle chain about half of it (issue 26).

:class:`Watch` is used by step 1.1 (:func:`mm2_smoke.step_1_1_produce.produce_step`): started before production, fed
the producer's acknowledgements, waited on until every delivered message arrived (or the chain is known broken, or
the wait's bound passed). Its :class:`Result` goes into step 1.1's result, and so to step 1.2 (a complete count
decides the wait at once) and to the report.

Kafka clients are imported inside the functions that use them: the module imports without confluent-kafka.
"""

from __future__ import annotations

import logging
import threading
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, cast

from mm2_smoke.bomber.stats import percentile
from mm2_smoke.message import decode
from mm2_smoke.payloads import E2eDict, E2eLatency

log = logging.getLogger(__name__)

#: How often the watch looks for a remote topic that does not exist yet, in seconds.
TOPIC_POLL_S = 0.5
#: How a wait ended by a certain fault of the chain starts its ``ended`` (the fault's words follow).
CHAIN_FAULT = "chain fault: "
#: Longest wait of one poll for the next message, in seconds: how soon ``close`` is seen. A poll returns as soon as
#: a message is there, so this bounds the idle wait, never a message's stamp.
POLL_S = 0.2
#: Most messages taken at once from what the client already holds (a read that does not wait): every one of them
#: arrived before the call, and the stamp is taken at its return.
DRAIN_MAX = 100


def arrivals(consumer: Any, stop: threading.Event, clock: Callable[[], float] = time.time,
             poll_s: float = POLL_S, drain_max: int = DRAIN_MAX) -> Iterator[tuple[Any, float]]:
    """Each record the consumer hands over, with its arrival time on ``clock``, until ``stop`` is set.

    One ``poll(poll_s)`` waits for the next record and returns as soon as one is there; then the records already
    in the client's queue are taken without waiting (``consume(drain_max, timeout=0)``), until none is left. Every
    record is stamped at the return of the call that handed it over, so a record waits for no other before its stamp;
    taking the queued ones in small groups keeps the cost per record close to a batch read's
    (``bench/e2e_stamp_cost.py`` measures both). Records carrying an error (the partition EOF events the reader's
    settings turn off, a broker error) are skipped: the watch counts only what arrived.

    :param consumer: a confluent-kafka Consumer, assigned (:class:`mm2_smoke.run_reader.PartitionReader`).
    :param stop: ends the iteration (seen within ``poll_s``).
    :param clock: the arrival clock, in seconds since the epoch (the producer's acknowledgements use the same).
    :param poll_s: longest wait of one poll, in seconds.
    :param drain_max: most records taken in one call that does not wait.
    """
    while not stop.is_set():
        msg = consumer.poll(poll_s)
        at = clock()
        if msg is None:
            continue
        if msg.error() is None:
            yield msg, at
        while not stop.is_set():
            queued = consumer.consume(num_messages=drain_max, timeout=0)
            at = clock()
            if not queued:
                break
            for msg in queued:
                if msg.error() is None:
                    yield msg, at


@dataclass(frozen=True)
class Result:
    """What the watch saw.

    :param count: this run's messages seen with both times (duplicates count once).
    :param p50: median acknowledgement -> arrival, in ms; p95, p99 and max likewise (None when nothing arrived).
    :param complete: every delivered message arrived.
    :param ended: why the wait ended: ``complete``, ``timeout``, ``chain fault: <its words>``, ``nothing delivered``
        or ``not watched: <why>``.
    :param last_arrival_s: when the last message arrived (seconds since the epoch; None when none did).
    """

    count: int
    p50: int | None
    p95: int | None
    p99: int | None
    max: int | None
    complete: bool
    ended: str
    last_arrival_s: float | None = None

    def to_dict(self) -> E2eDict:
        return cast(E2eDict, asdict(self))

    @property
    def fault(self) -> str:
        """The certain chain fault that ended the wait ('' when none did)."""
        return self.ended.removeprefix(CHAIN_FAULT) if self.ended.startswith(CHAIN_FAULT) else ""

    @classmethod
    def from_dict(cls, d: E2eDict | None) -> Result | None:
        return cls(**d) if d else None

    def report(self) -> E2eLatency:
        """The report's ``e2e_latency_ms`` (``p50``, ``p95``, ``p99``, ``max``, ``count``)."""
        return {"p50": self.p50, "p95": self.p95, "p99": self.p99, "max": self.max, "count": self.count}


class Watch:
    """A thread reading the remote topic for this run's messages, and the producer's acknowledgement times.

    :param client: librdkafka settings of the target cluster (the smoke test's ``kafka_target`` connection).
    :param topic: the remote topic.
    :param run_tag: this attempt's run tag (only its messages count).
    :param capacity: the highest sequence number expected (the messages requested).
    """

    def __init__(self, client: dict[str, Any], topic: str, run_tag: str, capacity: int) -> None:
        self.client, self.topic, self.run_tag = client, topic, run_tag
        self._acked = array("d", bytes(8 * (capacity + 1)))  # seq -> acknowledgement time (0: none yet)
        self._arrived = array("d", bytes(8 * (capacity + 1)))  # seq -> first arrival time
        self._seen = 0
        self._last_arrival = 0.0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self.error = ""
        self._thread = threading.Thread(target=self._run, name="e2e-watch", daemon=True)

    # --- the producer's side -----------------------------------------------------------------------------------
    def acked(self, seq: int, at_s: float) -> None:
        """A delivery report: message ``seq`` acknowledged by the source at ``at_s`` (this host's clock)."""
        if 0 < seq < len(self._acked):
            self._acked[seq] = at_s

    # --- the consumer's side -----------------------------------------------------------------------------------
    def start(self, ready_timeout_s: float = 10.0) -> bool:
        """Start reading and wait until the consumer is positioned (so nothing produced after is missed).

        :return: False when it could not get ready in time (``error`` says why; the run goes on without it).
        """
        self._thread.start()
        if not self._ready.wait(ready_timeout_s) and not self.error:
            self.error = f"the consumer of {self.topic} was not positioned within {ready_timeout_s:g} s"
        return not self.error

    def _run(self) -> None:
        from confluent_kafka import Consumer

        from mm2_smoke.run_reader import PartitionReader, reader_settings

        consumer = None
        try:
            consumer = Consumer({**self.client, **reader_settings("mm2-smoke-e2e", "earliest"), "log_level": 0})
            start: str = "latest"
            while not self._stop.is_set():
                md = consumer.list_topics(self.topic, timeout=5)
                meta = md.topics.get(self.topic)
                if meta is not None and meta.error is None and meta.partitions:
                    break
                start = "earliest"  # created after we looked: everything in it is this run's or later
                self._ready.set()
                self._stop.wait(TOPIC_POLL_S)
            else:
                return
            # The reader assigns the partitions at ``start``; the records are read one by one (:func:`arrivals`).
            PartitionReader(consumer, [(self.topic, p) for p in meta.partitions], start, stop=self._stop)
            self._ready.set()
            for msg, at in arrivals(consumer, self._stop):
                tag = decode(msg.value())
                if tag is not None and tag.run_id == self.run_tag:
                    self.arrived(tag.seq, at)
        except Exception as exc:  # noqa: BLE001 - the watch is a measurement: its failure is reported, not raised
            self.error = f"{type(exc).__name__}: {exc}"
            self._ready.set()
        finally:
            if consumer is not None:
                consumer.close()

    def arrived(self, seq: int, at_s: float) -> None:
        """Message ``seq`` of this run read on the target at ``at_s`` (a duplicate keeps the first arrival)."""
        if 0 < seq < len(self._arrived):
            with self._lock:
                if not self._arrived[seq]:
                    self._arrived[seq] = at_s
                    self._seen += 1
                    self._last_arrival = max(self._last_arrival, at_s)

    def seen(self) -> int:
        with self._lock:
            return self._seen

    def wait(self, delivered: int, until_s: float, chain_fault: Callable[[], str | None] | None = None,
             check_every_s: float = 2.0) -> str:
        """Wait until ``delivered`` messages arrived, a chain fault is known, or ``until_s`` (epoch seconds) passed.

        :param chain_fault: asked every ``check_every_s`` seconds: the words of a certain fault of the chain, or None.
        :return: why the wait ended (``complete``, ``timeout``, ``chain fault: <its words>``).
        """
        next_check = time.monotonic() + check_every_s
        while True:
            if self.seen() >= delivered:
                return "complete"
            if self.error:
                return f"not watched: {self.error}"
            if time.time() >= until_s:
                return "timeout"
            if chain_fault is not None and time.monotonic() >= next_check:
                fault = chain_fault()
                if fault:
                    return CHAIN_FAULT + fault
                next_check = time.monotonic() + check_every_s
            time.sleep(0.05)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def result(self, delivered: int, ended: str) -> Result:
        """What was seen: ack -> arrival latency percentiles of the messages with both times."""
        with self._lock:
            pairs = [(s, self._arrived[s] - self._acked[s]) for s in range(1, len(self._arrived))
                     if self._arrived[s] and self._acked[s]]
            seen = self._seen
            last = self._last_arrival or None
        counts = Counter(max(0, round(d * 1000)) for _s, d in pairs)
        return Result(len(pairs), percentile(counts, 50), percentile(counts, 95), percentile(counts, 99),
                      max(counts) if counts else None, seen >= delivered > 0, ended, last)


#: Beyond this factor between MirrorMaker's average latency and the one-clock median (and :data:`DISAGREE_MIN_MS`
#: apart), the report flags the two measures as disagreeing.
DISAGREE_FACTOR = 4.0
DISAGREE_MIN_MS = 50.0


def compare(result: Result | None, mm2_avg_ms: float | None, mm2_max_ms: float | None,
            other_host: bool | None = None) -> str | None:
    """A note when MirrorMaker's ``replication-latency-ms`` and the one-clock latency disagree by more than
    :data:`DISAGREE_FACTOR` (None when they agree, or when either is missing).

    :param other_host: MirrorMaker runs on another host than this worker (:func:`on_other_host`): only then is clock
        skew named as a cause; on one host it is ruled out; None (not known) says on which condition it would count.
    """
    if result is None or result.p50 is None or mm2_avg_ms is None:
        return None
    low, high = sorted((float(result.p50), float(mm2_avg_ms)))
    if high - low < DISAGREE_MIN_MS or high <= DISAGREE_FACTOR * max(low, 1.0):
        return None
    which = "higher" if mm2_avg_ms > result.p50 else "lower"
    if other_host:
        clocks = ("MirrorMaker runs on another host than this worker: the skew between the two hosts' clocks goes "
                  "into its figure")
    elif other_host is None:
        clocks = "clock skew would go into its figure only if MirrorMaker runs on another host than this worker"
    else:
        clocks = "MirrorMaker runs on this worker's host: one clock, so no clock skew is in its figure"
    return (f"MirrorMaker's replication latency (avg {mm2_avg_ms:g} ms, max {mm2_max_ms if mm2_max_ms is not None else 'n/a'} "
            f"ms) is {which} than this run's one-clock end-to-end latency (p50 {result.p50} ms, max {result.max} ms) "
            f"by more than {DISAGREE_FACTOR:g}x: MirrorMaker computes it against the source record's timestamp and "
            "averages a 60 s window of other traffic (a backlog replayed after a pause counts in it); the one-clock "
            f"figure times this run's messages only; {clocks}")


def on_other_host(host: str | None) -> bool | None:
    """Whether ``host`` (MirrorMaker's: the Connect worker's address from its REST connection) is another host than
    this one: False for a loopback address or a name of this host (or one resolving to them), True for any other
    address, None when it is not known (no host, or a name that does not resolve).

    The run's records are stamped by its producer on this host's clock (CreateTime), and MirrorMaker reads its
    latency on its own: the two clocks differ only when the hosts do.
    """
    import ipaddress
    import socket

    if not host:
        return None
    host = host.strip("[]").lower()
    here = {"localhost", socket.gethostname().lower(), socket.gethostname().lower().split(".")[0]}
    if host in here:
        return False
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError):
        return None
    try:
        local = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}
    except (OSError, UnicodeError):
        local = set()
    return not all(ipaddress.ip_address(a.split("%")[0]).is_loopback or a in local for a in addresses)


def not_watched(why: str) -> Result:
    """The result when no watch ran (variant B's untagged records, a watch that could not start)."""
    return Result(0, None, None, None, None, False, f"not watched: {why}")
