"""How the bombers reach a cluster, and the errors of a run.

- :class:`ClientSpec` checks the connection settings; :func:`connect` checks the brokers answer and accept the
  credentials, within seconds (a wrong password or an unknown host is one clear :class:`BomberConnectError`, not
  minutes of retries); :func:`ensure_topics` creates missing topics (the brokers may not auto-create them);
  :func:`warm_up` connects a producer before anything is timed.
- Errors are worded neutrally: their fields are spec fields (``rate_per_s``) and librdkafka keys
  (``bootstrap.servers``), and each audience names them its own way (:meth:`mm2_smoke.errors.Mm2SmokeError.renamed`:
  the CLIs with their flags, the DAG with its connection). What went wrong is data: :attr:`RunError.code` is Kafka's
  error code, :attr:`ErrorSink.fatal` the typed error that stopped a run.

Kafka clients are imported inside the functions that use them: the module imports without confluent-kafka.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from mm2_smoke.bomber.stats import MAX_ERRORS_KEPT
from mm2_smoke.connections import SASL_MECHANISMS, SECURITY_PROTOCOLS
from mm2_smoke.errors import InputError, Mm2SmokeError, UnavailableError

log = logging.getLogger(__name__)

#: The clients' local buffers, in KiB: the Java producer's default ``buffer.memory`` (32 MiB), so that an
#: unthrottled producer does not queue a gigabyte ahead of the brokers, nor a consumer prefetch 64 MiB
#: (librdkafka's defaults).
QUEUE_BUFFER_KIB = 32 * 1024


class BomberInputError(InputError):
    """A setting the bomber cannot run with; ``field`` is the spec field or librdkafka key, the message says what
    to give instead."""


class RunError(Mm2SmokeError):
    """An error of a run (a failed delivery, a read error, a client error), with Kafka's error code as data.

    :param code: the ``confluent_kafka.KafkaError`` code behind it; None when Kafka gave none.
    """

    def __init__(self, template: str, /, fields: Mapping[str, str] | None = None, code: int | None = None,
                 **values: Any) -> None:
        self.code = code
        super().__init__(template, fields, **values)

    def with_note(self, note: str) -> Self:
        """The same error with ``note`` after its message."""
        other = copy.copy(self)
        template = self.template if self.fields or self.values else self.template.replace("{", "{{").replace("}", "}}")
        other.template, other.values = template + "{_note}", {**self.values, "_note": note}
        other.args = (other.worded(),)
        return other


class BomberConnectError(RunError, UnavailableError):
    """The brokers cannot be reached, refuse the credentials, or refuse the topics; fields are librdkafka keys."""


class Interrupted(RunError):
    """Ctrl-C stopped the run (the summary is still printed)."""


def kafka_code(exc: BaseException) -> int | None:
    """The Kafka error code of a ``confluent_kafka.KafkaException`` (None for any other exception)."""
    from confluent_kafka import KafkaError

    err = exc.args[0] if exc.args else None
    return err.code() if isinstance(err, KafkaError) else None


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
    :param ssl_certificate_location: PEM file of this client's certificate (mTLS: ``security_protocol`` SSL).
    :param ssl_key_location: PEM file of that certificate's private key.
    :param ssl_key_password: the key's password when it is encrypted; never shown (not even in ``repr``).
    """

    bootstrap_servers: str
    security_protocol: str = "SASL_SSL"
    sasl_mechanism: str = "PLAIN"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ssl_ca_location: str | None = None
    ssl_certificate_location: str | None = None
    ssl_key_location: str | None = None
    ssl_key_password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.bootstrap_servers.strip():
            raise BomberInputError("{field} is empty: give host:port of at least one broker",
                                   {"field": "bootstrap.servers"})
        if self.security_protocol not in SECURITY_PROTOCOLS:
            raise BomberInputError("{field} {value!r} is unknown: use one of {known}", {"field": "security.protocol"},
                                   value=self.security_protocol, known=", ".join(SECURITY_PROTOCOLS))
        if self.sasl:
            if self.sasl_mechanism not in SASL_MECHANISMS:
                raise BomberInputError("{field} {value!r} is unknown: use one of {known}", {"field": "sasl.mechanism"},
                                       value=self.sasl_mechanism, known=", ".join(SASL_MECHANISMS))
            if not self.username:
                raise BomberInputError("{protocol} needs a user: give {field}", {"field": "sasl.username"},
                                       protocol=self.security_protocol)
            if not self.password:
                raise BomberInputError("{protocol} needs a password: set {field}", {"field": "sasl.password"},
                                       protocol=self.security_protocol)
        if self.ssl_ca_location and not Path(self.ssl_ca_location).is_file():
            raise BomberInputError("{field} {path}: no such file; give the PEM file of the CA that signed the brokers' "
                                   "certificates", {"field": "ssl.ca.location"}, path=self.ssl_ca_location)
        cert_files = {"ssl.certificate.location": self.ssl_certificate_location,
                      "ssl.key.location": self.ssl_key_location}
        if any(cert_files.values()):
            if not self.security_protocol.endswith("SSL"):
                raise BomberInputError("a client certificate needs TLS: set {field} to SSL (mTLS) or SASL_SSL",
                                       {"field": "security.protocol"})
            for key, path in cert_files.items():
                if not path:
                    raise BomberInputError("a client certificate needs both files: give {field} too", {"field": key})
                if not Path(path).is_file():
                    raise BomberInputError("{field} {path}: no such file", {"field": key}, path=path)

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
        if self.ssl_certificate_location and self.security_protocol.endswith("SSL"):
            cfg.update({"ssl.certificate.location": self.ssl_certificate_location,
                        "ssl.key.location": self.ssl_key_location})
            if self.ssl_key_password:
                cfg["ssl.key.password"] = self.ssl_key_password
        return cfg


#: TLS alerts a broker sends when it refuses the client's certificate (mTLS), as OpenSSL words them. TLS 1.3 sends
#: them after the handshake looked done, so librdkafka reports a transport failure (``_TRANSPORT``), not ``_SSL``.
CLIENT_CERT_ALERTS = ("alert bad certificate", "alert certificate required", "alert unknown ca",
                      "alert certificate unknown", "alert certificate expired", "alert certificate revoked",
                      "alert unsupported certificate", "alert access denied")
#: The name a client error gets when it is such a refusal (an error name of its own: see :func:`error_name`).
CLIENT_CERT_REFUSED = "_SSL_CLIENT_CERTIFICATE_REFUSED"


def client_cert_refused(text: str) -> bool:
    """The client error's text says the broker refused this client's certificate (a TLS alert about it)."""
    lowered = text.lower()
    return any(alert in lowered for alert in CLIENT_CERT_ALERTS)


def error_name(err: Any) -> str:
    """A client error's name (``_TRANSPORT``...), or :data:`CLIENT_CERT_REFUSED` when its text says the broker refused
    the client's certificate."""
    return CLIENT_CERT_REFUSED if client_cert_refused(err.str()) else err.name()


def connect_failure(err: Any, bootstrap: str, user: str | None) -> BomberConnectError | None:
    """Why a client error means the cluster cannot be used at all (None: the client may recover from it).

    :param err: a ``confluent_kafka.KafkaError`` from a client's ``error_cb``.
    :param bootstrap: the brokers, as named in the message.
    :param user: the SASL user, as named in the message.
    """
    from confluent_kafka import KafkaError

    code = err.code()
    facts = {"code": code, "bootstrap": bootstrap, "user": user, "reason": err.str()}
    if code == KafkaError._AUTHENTICATION:
        return BomberConnectError("authentication failed on {bootstrap} as user {user!r}: {reason}; check the user "
                                  "name, the password and {mechanism}", {"mechanism": "sasl.mechanism"}, **facts)
    if code == KafkaError._RESOLVE:
        return BomberConnectError("cannot resolve a broker address of {bootstrap}: {reason}; check {servers} "
                                  "(host:port)", {"servers": "bootstrap.servers"}, **facts)
    if code == KafkaError._ALL_BROKERS_DOWN:
        return BomberConnectError("cannot connect to any broker of {bootstrap}: {reason}; check {servers}, the port, "
                                  "the network and {protocol}",
                                  {"servers": "bootstrap.servers", "protocol": "security.protocol"}, **facts)
    if client_cert_refused(err.str()):
        return BomberConnectError("the brokers of {bootstrap} refused this client's certificate: {reason}; check that "
                                  "{cert} was signed by a CA the brokers trust and is not expired, and that {key} is "
                                  "its key", {"cert": "ssl.certificate.location", "key": "ssl.key.location"}, **facts)
    if code == KafkaError._SSL:
        return BomberConnectError("TLS handshake with {bootstrap} failed: {reason}; check {ca}, {protocol}, and with "
                                  "mTLS that {cert} was signed by a CA the brokers trust and {key} is its key",
                                  {"ca": "ssl.ca.location", "protocol": "security.protocol",
                                   "cert": "ssl.certificate.location", "key": "ssl.key.location"}, **facts)
    if code in (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED,
                KafkaError.GROUP_AUTHORIZATION_FAILED):
        return BomberConnectError("not authorized on {bootstrap} as user {user!r}: {reason}; ask for the ACLs this "
                                  "needs", **facts)
    if err.fatal():
        return BomberConnectError("fatal client error on {bootstrap}: {reason}", **facts)
    return None


class ErrorSink:
    """Client errors of every thread: fatal ones stop the run, transient ones are counted, the first kept.

    :param bootstrap: the brokers, as named in messages.
    :param user: the SASL user, as named in messages.
    :param stop: set when a fatal error ends the run.
    """

    def __init__(self, bootstrap: str, user: str | None, stop: threading.Event) -> None:
        self.bootstrap = bootstrap
        self.user = user
        self.stop = stop
        self.fatal: BomberConnectError | None = None
        self.errors: list[RunError] = []
        self.error_count = 0
        self.transient = 0
        self._lock = threading.Lock()

    def client_error(self, err: Any) -> None:
        """An ``error_cb``: classify a client error."""
        failure = connect_failure(err, self.bootstrap, self.user)
        with self._lock:
            if failure is None:
                self.transient += 1
                log.debug("transient client error: %s", err.str())
                return
            if self.fatal is None:
                self.fatal = failure
                self._keep(failure)
            self.stop.set()

    def error(self, error: RunError) -> None:
        """An error of the run (a failed delivery, a consumer error): counted, the first ones kept."""
        with self._lock:
            self._keep(error)

    def _keep(self, error: RunError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(error)


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
    last, last_code = "no answer", None
    while True:
        try:
            return admin, admin.list_topics(timeout=max(0.1, min(1.0, deadline - time.monotonic())))
        except KafkaException as exc:
            last, last_code = (exc.args[0].str() if exc.args else str(exc)), kafka_code(exc)
        admin.poll(0)  # serves error_cb
        for err in errors:
            failure = connect_failure(err, bootstrap, config.get("sasl.username"))
            if failure:
                transport = [e.str() for e in errors if e.code() == KafkaError._TRANSPORT]
                raise failure.with_note(f" (last connection error: {transport[-1]})") if transport else failure
        if time.monotonic() >= deadline:
            seen = f" (client errors: {'; '.join(e.str() for e in errors[:3])})" if errors else ""
            raise BomberConnectError("no metadata from {bootstrap} within {timeout_s:g} s: {last}{seen}; check "
                                     "{servers}, the network and {protocol}",
                                     {"servers": "bootstrap.servers", "protocol": "security.protocol"},
                                     code=last_code, bootstrap=bootstrap, timeout_s=timeout_s, last=last, seen=seen)


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
            raise BomberConnectError("topic {topic}: {reason}; check the user's ACLs on it", code=meta.error.code(),
                                     topic=topic, reason=meta.error.str())
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
                raise BomberConnectError("topic {topic} does not exist and this user may not create it: create it "
                                         "first, or ask for CREATE on it", code=err.code(), topic=topic) from None
            raise BomberConnectError("creating topic {topic} failed: {reason}; create it first (see {partitions} and "
                                     "{replication})", {"partitions": "partitions", "replication": "replication_factor"},
                                     code=err.code(), topic=topic, reason=err.str()) from None
    return sorted(created)


def warm_up(client: Any, topic: str, timeout_s: float = 15.0) -> BomberConnectError | None:
    """Connect, authenticate and fetch ``topic``'s metadata before timing anything; None when ready.

    Without it the first messages' timestamps (taken at ``produce()``) include the TLS and SASL handshakes,
    which MM2's replication latency then counts as if MM2 were slow.

    :param client: a confluent-kafka Producer (or any client with ``list_topics``).
    :param timeout_s: how long to wait for the metadata, in seconds (default 15).
    :return: why the topic cannot be produced to (no broker answer, topic missing, not authorized).
    """
    from confluent_kafka import KafkaException

    try:
        md = client.list_topics(topic, timeout=timeout_s)
    except KafkaException as exc:
        return BomberConnectError("no metadata from the brokers within {timeout_s:g} s: {reason}", code=kafka_code(exc),
                                  timeout_s=timeout_s, reason=exc.args[0].str())
    meta = md.topics.get(topic)
    if meta is None:
        return BomberConnectError("topic {topic} is absent from the metadata", topic=topic)
    if meta.error is not None:
        return BomberConnectError("topic {topic}: {reason}", code=meta.error.code(), topic=topic,
                                  reason=meta.error.str())
    if not meta.partitions:
        return BomberConnectError("topic {topic} has no partition", topic=topic)
    return None


def join_threads(threads: Sequence[threading.Thread], stop: threading.Event, abort: threading.Event,
                 report: Callable[[], Any], interval_s: float) -> Interrupted | None:
    """Join ``threads``, reporting every ``interval_s`` seconds; Ctrl-C sets ``stop``, a second one ``abort``.

    :return: the interruption when Ctrl-C stopped the run early (None when it did not).
    """
    stopped: Interrupted | None = None
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
                stopped = Interrupted("interrupted twice (Ctrl-C): records in flight dropped")
            else:
                stopped = Interrupted("interrupted (Ctrl-C)")
                stop.set()
    return stopped
