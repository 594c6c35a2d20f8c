"""The load tools' engine: a multi-topic, multi-thread tagged producer and a counting consumer.

The bomber CLIs (``include/kafka-consumer-producer/``) are thin wrappers around this module; it uses the
smoke test's message format (:mod:`mm2_smoke.message`) and topic naming (:mod:`mm2_smoke.naming`), so a
bomber's messages are counted by the DAG's step 1.4 and the DAG's by the consumer bomber.

- :func:`connect` checks the brokers answer and accept the credentials, within seconds (a wrong password
  or an unknown host is one clear :class:`BomberConnectError`, not minutes of retries).
- :func:`ensure_topics` creates missing topics (the brokers may not auto-create them).
- :func:`run_producer` sends tagged records from ``num_threads`` threads (one client each), round robin
  over the topics, paced at a total rate or unthrottled; :func:`run_consumer` reads them back with
  ``num_consumers`` threads and accounts loss, duplicates and end-to-end latency per topic.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mm2_smoke.bomber_stats import (
    MAX_ERRORS_KEPT,
    ConsumeSummary,
    ProduceSummary,
    TopicConsumeStats,
    TopicProduceStats,
)
from mm2_smoke.kafka_io import warm_up
from mm2_smoke.message import MessageFormatError, RunTag, decode, encode

log = logging.getLogger(__name__)

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
ACKS = ("all", "1", "0")
#: Largest record value the bomber sends, in bytes: librdkafka's default ``message.max.bytes`` is
#: 1,000,000 and a broker's default ``message.max.bytes`` 1,048,588 (both for the whole record batch).
MAX_RECORD_SIZE = 1_000_000
#: The clients' local buffers, in KiB: the Java producer's default ``buffer.memory`` (32 MiB), so that an
#: unthrottled producer does not queue a gigabyte ahead of the brokers, nor a consumer prefetch 64 MiB
#: (librdkafka's defaults).
QUEUE_BUFFER_KIB = 32 * 1024
#: Consumer group of the consumer bomber; it never commits (partitions are assigned, not subscribed), the
#: name only has to be one the user may use (the local stack grants ``mm2-smoke*``).
DEFAULT_GROUP_ID = "mm2-smoke-bomber"


class BomberInputError(ValueError):
    """A setting the bomber cannot run with; the message names it and says what to give instead."""


class BomberConnectError(RuntimeError):
    """The brokers cannot be reached, refuse the credentials, or refuse the topics."""


def new_run_id() -> str:
    """A run id for the tag: ``bomber-<UTC time>-<4 hex>``, unique enough to tell runs apart."""
    return f"bomber-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:4]}"


# --- connection ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClientSpec:
    """How to reach and authenticate to one cluster.

    :param bootstrap_servers: ``host:port[,host:port...]``.
    :param security_protocol: one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL (default SASL_SSL).
    :param sasl_mechanism: PLAIN (default), SCRAM-SHA-256 or SCRAM-SHA-512; used with SASL_* only.
    :param username: SASL user; required with SASL_*.
    :param password: SASL password; required with SASL_*; never shown (not even in ``repr``).
    :param ssl_ca_location: PEM file of the CA that signed the brokers' certificates (default: the system's).
    """

    bootstrap_servers: str
    security_protocol: str = "SASL_SSL"
    sasl_mechanism: str = "PLAIN"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ssl_ca_location: str | None = None

    def __post_init__(self) -> None:
        if not self.bootstrap_servers.strip():
            raise BomberInputError("--bootstrap-servers is empty: give host:port of at least one broker")
        if self.security_protocol not in SECURITY_PROTOCOLS:
            raise BomberInputError(f"--security-protocol {self.security_protocol!r} is unknown: use one of "
                                   f"{', '.join(SECURITY_PROTOCOLS)}")
        if self.sasl:
            if self.sasl_mechanism not in SASL_MECHANISMS:
                raise BomberInputError(f"--sasl-mechanism {self.sasl_mechanism!r} is unknown: use one of "
                                       f"{', '.join(SASL_MECHANISMS)}")
            if not self.username:
                raise BomberInputError(f"{self.security_protocol} needs a user: give --username")
            if not self.password:
                raise BomberInputError(f"{self.security_protocol} needs a password: set the variable named by "
                                       "--password-env (default KAFKA_PASS) or give --password")
        if self.ssl_ca_location and not Path(self.ssl_ca_location).is_file():
            raise BomberInputError(f"--ssl-ca-location {self.ssl_ca_location}: no such file; give the PEM file "
                                   "of the CA that signed the brokers' certificates")

    @property
    def sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    def config(self) -> dict[str, Any]:
        """librdkafka (confluent-kafka) settings; the same keys as the Airflow ``kafka`` connections' extra."""
        cfg: dict[str, Any] = {"bootstrap.servers": self.bootstrap_servers,
                               "security.protocol": self.security_protocol}
        if self.sasl:
            cfg.update({"sasl.mechanism": self.sasl_mechanism, "sasl.username": self.username,
                        "sasl.password": self.password})
        if self.ssl_ca_location and self.security_protocol.endswith("SSL"):
            cfg["ssl.ca.location"] = self.ssl_ca_location
        return cfg


def connect_failure(err: Any, bootstrap: str, user: str | None) -> str | None:
    """Why a client error means the cluster cannot be used at all (None: the client may recover from it).

    :param err: a ``confluent_kafka.KafkaError`` from a client's ``error_cb``.
    """
    from confluent_kafka import KafkaError

    code = err.code()
    reason = err.str()
    if code == KafkaError._AUTHENTICATION:
        return (f"authentication failed on {bootstrap} as user {user!r}: {reason}; check the user name, the "
                "password and --sasl-mechanism")
    if code == KafkaError._RESOLVE:
        return f"cannot resolve a broker address of {bootstrap}: {reason}; check --bootstrap-servers (host:port)"
    if code == KafkaError._ALL_BROKERS_DOWN:
        return (f"cannot connect to any broker of {bootstrap}: {reason}; check --bootstrap-servers, the port, "
                "the network and --security-protocol")
    if code == KafkaError._SSL:
        return (f"TLS handshake with {bootstrap} failed: {reason}; check --ssl-ca-location and "
                "--security-protocol")
    if code in (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED,
                KafkaError.GROUP_AUTHORIZATION_FAILED):
        return f"not authorized on {bootstrap} as user {user!r}: {reason}; ask for the ACLs this needs"
    if err.fatal():
        return f"fatal client error on {bootstrap}: {reason}"
    return None


class ErrorSink:
    """Client errors of every thread: fatal ones stop the run, transient ones are counted, the first kept."""

    def __init__(self, bootstrap: str, user: str | None, stop: threading.Event) -> None:
        self.bootstrap = bootstrap
        self.user = user
        self.stop = stop
        self.fatal: str | None = None
        self.errors: list[str] = []
        self.error_count = 0
        self.transient = 0
        self._lock = threading.Lock()

    def client_error(self, err: Any) -> None:
        """An ``error_cb``: classify a client error."""
        why = connect_failure(err, self.bootstrap, self.user)
        with self._lock:
            if why is None:
                self.transient += 1
                log.debug("transient client error: %s", err.str())
                return
            if self.fatal is None:
                self.fatal = why
                self._keep(why)
            self.stop.set()

    def error(self, text: str) -> None:
        """An error of the run (a failed delivery, a consumer error): counted, the first ones kept."""
        with self._lock:
            self._keep(text)

    def _keep(self, text: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(text)


def connect(config: dict[str, Any], timeout_s: float = 10.0) -> tuple[Any, Any]:
    """An admin client and the cluster's metadata, once the brokers answered and accepted the credentials.

    Fails within a second or two on a wrong password, an unknown host or a refused connection (the client's
    error callback names them), and after ``timeout_s`` seconds when the brokers do not answer at all.

    :param config: librdkafka settings (:meth:`ClientSpec.config`).
    :param timeout_s: how long to wait for the metadata, in seconds (default 10).
    :raises BomberConnectError: naming the cause and what to check.
    """
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient

    bootstrap = config.get("bootstrap.servers", "?")
    errors: list[Any] = []
    admin = AdminClient({**config, "error_cb": errors.append, "log_level": 0})
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while True:
        try:
            return admin, admin.list_topics(timeout=max(0.1, min(1.0, deadline - time.monotonic())))
        except KafkaException as exc:
            last = exc.args[0].str() if exc.args else str(exc)
        admin.poll(0)  # serves error_cb
        for err in errors:
            why = connect_failure(err, bootstrap, config.get("sasl.username"))
            if why:
                transport = [e.str() for e in errors if e.code() == KafkaError._TRANSPORT]
                raise BomberConnectError(why + (f" (last connection error: {transport[-1]})" if transport else ""))
        if time.monotonic() >= deadline:
            seen = f" (client errors: {'; '.join(e.str() for e in errors[:3])})" if errors else ""
            raise BomberConnectError(f"no metadata from {bootstrap} within {timeout_s:g} s: {last}{seen}; check "
                                     "--bootstrap-servers, the network and --security-protocol")


def topic_partitions(metadata: Any, topics: Sequence[str]) -> dict[str, list[int]]:
    """Partitions of each of ``topics`` in ``metadata``; absent topics are left out.

    :raises BomberConnectError: when a topic is present but refused (not authorized) or has an error.
    """
    found: dict[str, list[int]] = {}
    for topic in topics:
        meta = metadata.topics.get(topic)
        if meta is None:
            continue
        if meta.error is not None:
            raise BomberConnectError(f"topic {topic}: {meta.error.str()}; check the user's ACLs on it")
        found[topic] = sorted(meta.partitions)
    return found


def ensure_topics(admin: Any, metadata: Any, topics: Sequence[str], partitions: int = 1,
                  replication_factor: int = -1, timeout_s: float = 15.0) -> list[str]:
    """Create those of ``topics`` that do not exist; return the ones created.

    :param partitions: partitions of a created topic (default 1).
    :param replication_factor: replication factor of a created topic; -1 (default) is the broker's default.
    :param timeout_s: how long to wait for the brokers to create them, in seconds.
    :raises BomberConnectError: when a topic cannot be created (e.g. the user may not create it).
    """
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import NewTopic

    missing = [t for t in topics if t not in topic_partitions(metadata, topics)]
    if not missing:
        return []
    futures = admin.create_topics([NewTopic(t, num_partitions=partitions, replication_factor=replication_factor)
                                   for t in missing], request_timeout=timeout_s, operation_timeout=timeout_s)
    created = []
    for topic, fut in futures.items():
        try:
            fut.result()
            created.append(topic)
        except KafkaException as exc:
            err = exc.args[0]
            if err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue
            if err.code() in (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED):
                raise BomberConnectError(f"topic {topic} does not exist and this user may not create it: create "
                                         "it first, or ask for CREATE on it") from None
            raise BomberConnectError(f"creating topic {topic} failed: {err.str()}; create it first "
                                     "(see --partitions and --replication-factor)") from None
    return sorted(created)


# --- producer --------------------------------------------------------------------------------------
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
            raise BomberInputError("no topic: give --num-topics 1 or more")
        if self.rate_per_s is not None and not (self.rate_per_s > 0 and math.isfinite(self.rate_per_s)):
            raise BomberInputError(f"--messages-per-second {self.rate_per_s:g} must be above 0: give the total "
                                   "rate in messages per second (e.g. 10), or --unthrottled for as fast as possible")
        if self.num_threads < 1:
            raise BomberInputError(f"--num-threads {self.num_threads} must be 1 or more")
        if self.duration_s is not None and not self.duration_s > 0:
            raise BomberInputError(f"--duration-minutes {self.duration_s / 60:g} must be above 0")
        if self.num_messages is not None and self.num_messages < 1:
            raise BomberInputError(f"--num-messages {self.num_messages} must be 1 or more")
        if self.duration_s is None and self.num_messages is None:
            raise BomberInputError("neither --duration-minutes nor --num-messages: give one to say when to stop")
        if self.acks not in ACKS:
            raise BomberInputError(f"--acks {self.acks!r} is unknown: use one of {', '.join(ACKS)}")
        if self.record_size > MAX_RECORD_SIZE:
            raise BomberInputError(f"--record-size {self.record_size} B is above the {MAX_RECORD_SIZE:,} B a record "
                                   "may have (brokers refuse larger batches by default): use --record-size "
                                   f"{MAX_RECORD_SIZE} or less")
        try:  # the longest tag this run will write must fit
            encode(RunTag(self.run_id, 10**12, int(time.time() * 1000), producer_id(self.num_threads)),
                   self.record_size)
        except MessageFormatError as exc:
            raise BomberInputError(f"--record-size {self.record_size}: {exc}") from None
        if not 0 <= self.linger_ms <= 900_000:
            raise BomberInputError(f"linger {self.linger_ms} ms must be between 0 and 900000")

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
                "message.max.bytes": MAX_RECORD_SIZE + 48_576}


def producer_id(thread_number: int) -> str:
    """The tag's producer id of one sending thread (1-based): ``<host>-<pid>-t<n>``."""
    return f"{socket.gethostname()}-{os.getpid()}-t{thread_number}"


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
        else:
            stats.failed += 1
            stats.failed_seqs.append(int(msg.key().rsplit(b":", 1)[1]))
            self.runner.sink.error(f"{msg.topic()} key {msg.key().decode(errors='replace')}: {err.str()}")

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
                    r.sink.error(f"cannot produce to {topic}: {why}")
                    r.stop.set()
            r.barrier.wait()
            if not r.stop.is_set():
                self._send(producer)
        except threading.BrokenBarrierError:
            pass
        except Exception as exc:  # noqa: BLE001 - a thread's failure is the run's error, with its reason
            r.sink.error(f"thread {self.index + 1}: {type(exc).__name__}: {exc}")
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
                r.sink.error(f"{s.topic}: {unanswered} record(s) got no delivery report")


def _warm_up_retrying(producer: Any, topic: str, stop: threading.Event, timeout_s: float = 15.0) -> str | None:
    """:func:`mm2_smoke.kafka_io.warm_up`, retried while a just-created topic's metadata propagates."""
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
                 stop: threading.Event | None = None, log_level: int = 0) -> ProduceSummary:
    """Send the run's tagged records; return what was sent, acknowledged and failed, per topic.

    Ctrl-C (KeyboardInterrupt) stops sending and waits for the records in flight (a second one drops them);
    the summary says it stopped early.

    :param client: librdkafka connection settings (:meth:`ClientSpec.config`).
    :param progress: called every ``progress_interval_s`` seconds (default 5) with a live view.
    :param stop: set it to stop sending early (another thread, a signal handler).
    :param log_level: librdkafka's log level (0, the default, silences its logs: errors are reported here).
    """
    stop = stop or threading.Event()
    sink = ErrorSink(client.get("bootstrap.servers", "?"), client.get("sasl.username"), stop)
    run = _ProducerRun(client, spec, sink, stop, threading.Event(), log_level)
    threads = [_SendThread(run, i) for i in range(spec.num_threads)]
    for t in threads:
        t.start()
    stopped = _wait(threads, stop, run.abort, lambda: progress and progress(_producer_view(run, threads)),
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
    if sink.fatal and not stopped:
        stopped = sink.fatal
    return ProduceSummary(run_id=spec.run_id, topics=per_topic, elapsed_s=max(0.0, elapsed),
                          max_gap_ms=max(gaps) * 1000 if gaps else None,
                          nominal_interval_ms=interval * 1000 if interval else None,
                          errors=list(sink.errors), error_count=sink.error_count, stopped=stopped,
                          transient_errors=sink.transient,
                          send_span_s=max(lasts) - min(firsts) if firsts else 0.0,
                          started_ms=run.t0_wall_ms or int(time.time() * 1000), finished_ms=int(time.time() * 1000))


def _producer_view(run: _ProducerRun, threads: Sequence[_SendThread]) -> ProducerProgress:
    stats = [s for th in threads for s in th.stats]
    return ProducerProgress(elapsed_s=time.monotonic() - run.t0 if run.t0 else 0.0,
                            sent=sum(s.sent for s in stats), delivered=sum(s.delivered for s in stats),
                            failed=sum(s.failed for s in stats), errors=run.sink.error_count,
                            transient=run.sink.transient)


def _wait(threads: Sequence[threading.Thread], stop: threading.Event, abort: threading.Event,
          report: Callable[[], Any], interval_s: float) -> str:
    """Join ``threads``, reporting every ``interval_s``; Ctrl-C sets ``stop``, a second one ``abort``.

    :return: why the run stopped early ('' when it did not).
    """
    stopped = ""
    next_report = time.monotonic() + interval_s
    while any(t.is_alive() for t in threads):
        try:
            for t in threads:
                t.join(timeout=max(0.05, min(0.5, next_report - time.monotonic())))
                if time.monotonic() >= next_report:
                    next_report += interval_s
                    report()
        except KeyboardInterrupt:
            if stop.is_set() and stopped:
                abort.set()
                stopped = "interrupted twice (Ctrl-C): records in flight dropped"
            else:
                stopped = "interrupted (Ctrl-C)"
                stop.set()
    return stopped


# --- consumer --------------------------------------------------------------------------------------
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
            raise BomberInputError("no topic: give --num-topics 1 or more")
        if self.num_consumers < 1:
            raise BomberInputError(f"--num-consumers {self.num_consumers} must be 1 or more")
        if self.duration_s is not None and not self.duration_s > 0:
            raise BomberInputError(f"--duration-minutes {self.duration_s / 60:g} must be above 0")
        if self.auto_offset_reset not in ("earliest", "latest"):
            raise BomberInputError(f"--auto-offset-reset {self.auto_offset_reset!r} is unknown: use earliest or "
                                   "latest")
        if self.expect_per_topic is not None and self.expect_per_topic < 1:
            raise BomberInputError(f"--expect-messages {self.expect_per_topic} must be 1 or more")
        if self.until_end and self.auto_offset_reset == "latest":
            raise BomberInputError("--until-end with --auto-offset-reset latest has nothing to read: use earliest")
        if self.duration_s is None and self.expect_per_topic is None and not self.until_end:
            raise BomberInputError("nothing would stop the consumer: give --duration-minutes, --expect-messages "
                                   "or --until-end")

    def client_settings(self) -> dict[str, Any]:
        return {"group.id": self.group_id, "enable.auto.commit": False, "enable.partition.eof": False,
                "auto.offset.reset": self.auto_offset_reset, "queued.max.messages.kbytes": QUEUE_BUFFER_KIB}


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
    """One reading thread: its own client, assigned partitions (no group rebalance), never commits."""

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
            pending = self._assign(consumer)
            self._read(consumer, pending)
        except Exception as exc:  # noqa: BLE001 - a thread's failure is the run's error, with its reason
            self.sink.error(f"{self.name}: {type(exc).__name__}: {exc}")
            self.state.stop.set()
        finally:
            if consumer is not None:
                consumer.close()

    def _assign(self, consumer: Any) -> dict[tuple[str, int], int] | None:
        """Assign the partitions at the start offset; with ``until_end``, the end offsets still to reach."""
        from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, TopicPartition

        start = OFFSET_BEGINNING if self.spec.auto_offset_reset == "earliest" else OFFSET_END
        consumer.assign([TopicPartition(t, p, start) for t, p in self.partitions])
        if not self.spec.until_end:
            return None
        pending = {}
        for t, p in self.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(t, p), timeout=10)
            if high > low:
                pending[(t, p)] = high
        return pending

    def _read(self, consumer: Any, pending: dict[tuple[str, int], int] | None) -> None:
        from confluent_kafka import KafkaError

        while not self.state.stop.is_set() and time.monotonic() < self.deadline:
            if pending is not None and not pending:
                return
            msgs = consumer.consume(num_messages=1000, timeout=min(0.2, max(0.0, self.deadline - time.monotonic())))
            if not msgs and pending:
                _drop_reached(consumer, pending)  # the last offsets may be control records, never delivered
            batch = []
            for msg in msgs:
                if msg.error():
                    if msg.error().code() != KafkaError._PARTITION_EOF:
                        self.sink.error(f"reading {msg.topic()}: {msg.error().str()}")
                        if msg.error().fatal():
                            self.state.stop.set()
                    continue
                batch.append((msg.topic(), time.time(), decode(msg.value())))
                if pending is not None:
                    key = (msg.topic(), msg.partition())
                    if key in pending and msg.offset() + 1 >= pending[key]:
                        del pending[key]
            if batch:
                self.state.add(batch)


def _drop_reached(consumer: Any, pending: dict[tuple[str, int], int]) -> None:
    """Forget the partitions whose position already reached their end offset."""
    from confluent_kafka import TopicPartition

    for tp in consumer.position([TopicPartition(t, p) for t, p in pending]):
        if tp.offset >= 0 and tp.offset >= pending.get((tp.topic, tp.partition), math.inf):
            pending.pop((tp.topic, tp.partition), None)


def share_partitions(partitions: dict[str, list[int]], num_consumers: int) -> list[list[tuple[str, int]]]:
    """Deal every (topic, partition) to the consumers round robin (extra consumers get none)."""
    flat = [(t, p) for t in sorted(partitions) for p in partitions[t]]
    return [flat[i::num_consumers] for i in range(num_consumers)]


def run_consumer(client: dict[str, Any], spec: ConsumerSpec, partitions: dict[str, list[int]],
                 progress: Callable[[ConsumerProgress], None] | None = None, progress_interval_s: float = 5.0,
                 stop: threading.Event | None = None, log_level: int = 0) -> ConsumeSummary:
    """Read the topics' records; account per topic messages, rate, loss, duplicates and end-to-end latency.

    :param client: librdkafka connection settings (:meth:`ClientSpec.config`).
    :param partitions: each topic's partitions (:func:`topic_partitions`); each must be in ``spec.topics``.
    :param progress: called every ``progress_interval_s`` seconds (default 5) with a live view.
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

    stopped = _wait(threads, stop, threading.Event(), report, progress_interval_s)
    elapsed = time.monotonic() - t0
    if not stopped:
        stopped = sink.fatal or ""
    if not stopped and spec.until_end and time.monotonic() >= deadline:
        stopped = f"--duration-minutes reached before the end offsets ({spec.duration_s:g} s)"
    finished = state.reason or ("every partition read to its end offset at start" if spec.until_end and not stopped
                                else "")
    return ConsumeSummary(topics=[state.stats[t] for t in spec.topics], elapsed_s=elapsed,
                          expected=spec.expect_per_topic, errors=list(sink.errors), error_count=sink.error_count,
                          stopped=stopped, finished=finished, transient_errors=sink.transient)
