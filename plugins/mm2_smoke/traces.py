"""Reading a Connect task's or connector's trace to its real cause: every exception of its causal chain (the top
one and each ``Caused by:``), each classified, and the one that explains the failure.

A FAILED MirrorMaker task's trace usually starts with Connect's wrapper (``ConnectException``, "Unrecoverable
exception from producer send callback") and ends in the client error that made it fail
(``SaslAuthenticationException``, ``RecordTooLargeException``, ``TopicAuthorizationException``...). The cause is
the deepest exception of a known class; the wrappers only say where it surfaced.

Which cluster an error concerns comes from the client named in the trace (``[Producer clientId=...]``,
``[Consumer clientId=...]``, ``[AdminClient clientId=...]``) or by Connect's wrapper ("Unrecoverable exception from
producer send callback"): a MirrorSourceTask reads the source with its consumer and writes the target with its
producer, unless the client's MM2 role says its side (``A->B|A->B-0|offset-syncs-source-producer`` writes the
source) (:func:`side_of_client`).

Pure: the classes are a table (:data:`CLASSES`), a new class is one row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

#: Failure classes of an exception, by its simple class name. The first matching row wins.
CLASSES: tuple[tuple[str, str], ...] = (
    ("SaslAuthenticationException", "authentication"),
    ("SslAuthenticationException", "authentication"),
    ("AuthenticationException", "authentication"),
    ("TopicAuthorizationException", "authorization"),
    ("GroupAuthorizationException", "authorization"),
    ("ClusterAuthorizationException", "authorization"),
    ("TransactionalIdAuthorizationException", "authorization"),
    ("DelegationTokenAuthorizationException", "authorization"),
    ("AuthorizationException", "authorization"),
    ("RecordTooLargeException", "record_too_large"),
    ("RecordBatchTooLargeException", "record_too_large"),
    ("PolicyViolationException", "policy_violation"),
    ("InvalidRecordException", "policy_violation"),
    ("ThrottlingQuotaExceededException", "quota"),
    ("UnknownTopicOrPartitionException", "unknown_topic"),
    ("InvalidTopicException", "unknown_topic"),
    ("OffsetOutOfRangeException", "out_of_range"),
    ("SerializationException", "serialization"),
    ("DataException", "serialization"),
    ("ConfigException", "misconfiguration"),
    ("InvalidConfigurationException", "misconfiguration"),
    ("TimeoutException", "timeout"),
    ("DisconnectException", "timeout"),
    ("NetworkException", "timeout"),
    ("NotLeaderOrFollowerException", "timeout"),
)
#: How each failure class reads as a diagnosis' cause class (:data:`mm2_smoke.diagnosis.base.CLASSES`); a failure
#: class not listed is "failed" (an error of no known class).
CAUSE_CLASSES = {
    "authentication": "authentication",
    "authorization": "authorization",
    "record_too_large": "resource_limit",
    "policy_violation": "resource_limit",
    "quota": "resource_limit",
    "unknown_topic": "misconfiguration",
    "serialization": "misconfiguration",
    "misconfiguration": "misconfiguration",
    "timeout": "unresponsive",
}
#: Exceptions that only say where a failure surfaced (Connect's and Java's wrappers): never the cause.
WRAPPERS = ("ConnectException", "RetriableException", "ExecutionException", "KafkaException",
            "CompletionException", "RuntimeException", "Exception")
#: Client kinds of a MirrorSourceTask and the cluster each talks to.
CLIENT_SIDES = {"Consumer": "source", "Producer": "target", "AdminClient": "source"}
#: What Connect's wrappers say of the client that failed, when the trace names no client id.
WRAPPER_CLIENTS = (("producer send callback", "Producer"),)

_EXCEPTION = re.compile(r"^(?:Caused by:\s*)?((?:[a-zA-Z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error))(?::\s*(.*))?$")
_CLIENT = re.compile(r"\[(Producer|Consumer|AdminClient) clientId=([^,\]]+)")


@dataclass(frozen=True)
class Raised:
    """One exception of a trace's causal chain.

    :param name: its fully qualified class name.
    :param message: its message ('' when none).
    :param failure: its class (:data:`CLASSES`), '' for a wrapper or an unknown exception.
    """

    name: str
    message: str
    failure: str

    @property
    def simple(self) -> str:
        return self.name.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class TraceCause:
    """What a trace says.

    :param chain: every exception, outermost first.
    :param cause: the one that explains the failure: the deepest classified one, else the deepest non-wrapper,
        else the outermost (None for an empty trace).
    :param side: the cluster the failing client talks to (``source``/``target``), '' when the trace does not say.
    :param client: the client id named in the trace ('' when none).
    """

    chain: tuple[Raised, ...]
    cause: Raised | None
    side: str = ""
    client: str = ""

    @property
    def failure(self) -> str:
        """The cause's class ('' when it is not a known one)."""
        return self.cause.failure if self.cause else ""

    @property
    def cause_class(self) -> str:
        """The cause's class as a diagnosis names it (:data:`CAUSE_CLASSES`; "failed" when not a known one)."""
        return CAUSE_CLASSES.get(self.failure, "failed")

    @property
    def caused_by(self) -> str:
        """The cause's line as the trace writes it (``Caused by: <class>: <message>``; '' for an empty trace)."""
        if self.cause is None:
            return ""
        line = f"{self.cause.name}: {self.cause.message}".rstrip(": ")
        return line if self.chain and self.cause is self.chain[0] else f"Caused by: {line}"

    def summary(self) -> str:
        """``SaslAuthenticationException: <message>`` (via its wrappers), for a diagnosis' evidence."""
        if self.cause is None:
            return "empty trace"
        text = f"{self.cause.simple}: {self.cause.message}".rstrip(": ")
        outer = [r.simple for r in self.chain if r is not self.cause]
        return text + (f" (via {' < '.join(outer)})" if outer else "")


def classify(name: str) -> str:
    """The failure class of an exception class name ('' when unknown or a wrapper)."""
    simple = name.rsplit(".", 1)[-1]
    return next((failure for cls, failure in CLASSES if simple == cls), "")


def side_of_client(kind: str, connector_class: str = "MirrorSourceConnector", client: str = "") -> str:
    """The cluster a client of an MM2 task talks to. MM2 names its clients' role last in their id
    (``source->target|source->target-0|offset-syncs-source-producer``, ``...|replication-target-admin``): a role
    naming ``source`` or ``target`` says it. Otherwise a MirrorSourceTask consumes the source and produces to the
    target (its admin client describes the source); other connectors' clients are not attributed."""
    role = client.rsplit("|", 1)[1].split("-") if "|" in client else []
    side = next((word for word in role if word in ("source", "target")), "")
    if side:
        return side
    return CLIENT_SIDES.get(kind, "") if connector_class == "MirrorSourceConnector" else ""


def read_trace(trace: str | None, connector_class: str = "MirrorSourceConnector") -> TraceCause:
    """The causal chain of a Connect trace (``status.tasks[].trace``) and its cause."""
    chain: list[Raised] = []
    client = kind = ""
    for line in (trace or "").splitlines():
        text = line.strip()
        m = _EXCEPTION.match(text)
        if m:
            chain.append(Raised(m.group(1), (m.group(2) or "").strip(), classify(m.group(1))))
        c = _CLIENT.search(text)
        if c and not client:
            kind, client = c.group(1), c.group(2).strip()
        if m and not kind:
            kind = next((k for words, k in WRAPPER_CLIENTS if words in (m.group(2) or "")), "")
    side = side_of_client(kind, connector_class, client) if kind else ""
    return TraceCause(tuple(chain), _cause(chain), side, client)


def _cause(chain: Sequence[Raised]) -> Raised | None:
    classified = [r for r in chain if r.failure]
    if classified:
        return classified[-1]
    plain = [r for r in chain if r.simple not in WRAPPERS]
    return plain[-1] if plain else (chain[0] if chain else None)
