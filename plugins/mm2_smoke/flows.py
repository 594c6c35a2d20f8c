"""The flows of a MirrorMaker 2 deployment as data: which cluster replicates to which, through which connector, under
which replication policy, hence the remote topic's name on the target.

A flow is ``A->B``: records of cluster alias ``A`` written to cluster alias ``B``. One MM2 may carry many flows
(active/active ``A->B`` and ``B->A``, fan-in ``A->C`` and ``B->C``). Each flow is read from the chain where it can be
(:func:`from_connector_configs`: each MirrorSourceConnector's config in Connect REST), selected by the ``flows``
Param (:func:`select`), and tied to the Airflow connections of its two clusters (:func:`with_connections`).
:func:`topology_findings` says what the flow graph itself makes unsafe: two flows writing the same remote topic, a
cycle that no topic prefix stops (``IdentityReplicationPolicy``).

Pure: no Airflow, no Kafka client.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from mm2_smoke.errors import SettingsError
from mm2_smoke.naming import DEFAULT_POLICY, DEFAULT_SEPARATOR, IDENTITY_POLICY, remote_topic_name

#: MirrorMaker's policies, by the last part of ``replication.policy.class``.
_POLICY_CLASSES = {"DefaultReplicationPolicy": DEFAULT_POLICY, "IdentityReplicationPolicy": IDENTITY_POLICY}
#: How a flow is named in Params and reports.
FLOW_ARROW = "->"
_FLOW_NAME = re.compile(r"^\s*([A-Za-z0-9._-]+)\s*->\s*([A-Za-z0-9._-]+)\s*$")
#: The ``flows`` Param's value for "every flow found in the chain".
AUTO = "auto"
MIRROR_SOURCE_CLASS = "MirrorSourceConnector"


@dataclass(frozen=True)
class ReplicationPolicy:
    """How MM2 names a topic of the source on the target.

    :param kind: ``default`` (``<source alias><separator><topic>``) or ``identity`` (the topic's own name).
    :param separator: ``replication.policy.separator`` (default policy only).
    """

    kind: str = DEFAULT_POLICY
    separator: str = DEFAULT_SEPARATOR

    @classmethod
    def parse(cls, text: str) -> ReplicationPolicy:
        """``default``, ``default:<separator>`` or ``identity`` (the stack's knob and a Param's spelling).

        :raises SettingsError: anything else, naming the accepted forms.
        """
        kind, colon, separator = text.strip().partition(":")
        if kind == IDENTITY_POLICY and not colon:
            return cls(IDENTITY_POLICY, "")
        if kind == DEFAULT_POLICY and (not colon or separator):
            return cls(DEFAULT_POLICY, separator or DEFAULT_SEPARATOR)
        raise SettingsError(f"replication policy {text!r} is not one MM2 has: use 'default', 'default:<separator>' "
                            "(e.g. 'default:_') or 'identity'")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ReplicationPolicy:
        """The policy of a MirrorSourceConnector's config (Kafka's defaults where it says nothing); a custom class
        that is neither of MM2's is read as the default one with its separator (its names may differ: the
        pre-flight's remote-topic lookup tells)."""
        name = str(config.get("replication.policy.class") or "").rsplit(".", 1)[-1]
        kind = _POLICY_CLASSES.get(name, DEFAULT_POLICY)
        separator = str(config.get("replication.policy.separator") or DEFAULT_SEPARATOR)
        return cls(kind, "" if kind == IDENTITY_POLICY else separator)

    @property
    def spelled(self) -> str:
        """As :meth:`parse` reads it."""
        if self.kind == IDENTITY_POLICY:
            return IDENTITY_POLICY
        return DEFAULT_POLICY if self.separator == DEFAULT_SEPARATOR else f"{DEFAULT_POLICY}:{self.separator}"

    def remote_topic(self, source_alias: str, topic: str) -> str:
        """The name of ``topic`` of cluster ``source_alias`` on the target."""
        return remote_topic_name(self.kind, source_alias, self.separator, topic)

    def stops_cycle(self) -> bool:
        """MM2's cycle check (``isCycle``) follows topic-name prefixes back to the source: it works only when the
        remote name carries the source alias."""
        return self.kind != IDENTITY_POLICY


@dataclass(frozen=True)
class Flow:
    """One flow of the deployment.

    :param source: the source cluster's alias; ``target`` the target's.
    :param policy: its replication policy.
    :param connector: the MirrorSourceConnector carrying it ('' in dedicated mode).
    :param topics: its ``topics`` filter; ``topics_exclude`` its ``topics.exclude`` ('' : MM2's defaults).
    :param source_conn: the Airflow connection of the source cluster ('' until tied); ``target_conn`` the target's.
    """

    source: str
    target: str
    policy: ReplicationPolicy = field(default_factory=ReplicationPolicy)
    connector: str = ""
    topics: str = ""
    topics_exclude: str = ""
    source_conn: str = ""
    target_conn: str = ""

    @property
    def name(self) -> str:
        return f"{self.source}{FLOW_ARROW}{self.target}"

    def remote_topic(self, topic: str) -> str:
        return self.policy.remote_topic(self.source, topic)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["policy"] = self.policy.spelled
        d["name"] = self.name
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Flow:
        data = {k: v for k, v in d.items() if k != "name"}
        data["policy"] = ReplicationPolicy.parse(str(data.get("policy") or DEFAULT_POLICY))
        return cls(**data)


def parse_name(text: str) -> tuple[str, str]:
    """``("A", "B")`` of ``"A->B"``.

    :raises SettingsError: not of the form ``<alias>-><alias>`` with two different aliases.
    """
    m = _FLOW_NAME.match(text)
    if not m or m.group(1) == m.group(2):
        raise SettingsError("{name}: {text!r} is not a flow: name each as '<source alias>-><target alias>' with two "
                            "different aliases (e.g. 'A->B'), or use 'auto' for every flow of the chain",
                            {"name": "flows"}, text=text)
    return m.group(1), m.group(2)


def from_connector_configs(configs: Mapping[str, Mapping[str, Any]]) -> list[Flow]:
    """The flows of the MirrorSourceConnectors among Connect REST's connector configs (name -> config), sorted by
    name; other connectors (checkpoint, heartbeat, not MM2's) are not flows."""
    out = []
    for name, cfg in configs.items():
        if str(cfg.get("connector.class", "")).rsplit(".", 1)[-1] != MIRROR_SOURCE_CLASS:
            continue
        source, target = cfg.get("source.cluster.alias"), cfg.get("target.cluster.alias")
        if not source or not target:
            continue
        out.append(Flow(str(source), str(target), ReplicationPolicy.from_config(cfg), name,
                        str(cfg.get("topics") or ""), str(cfg.get("topics.exclude") or "")))
    return sorted(out, key=lambda f: f.name)


def select(found: Sequence[Flow], wanted: str | Sequence[str]) -> list[Flow]:
    """The flows a run checks: every flow found (``auto``) or the ones named, in the order named.

    :raises SettingsError: a name that is not a flow, or one the chain does not carry (naming those it does).
    """
    if isinstance(wanted, str):
        wanted = [w for w in wanted.split(",") if w.strip()] if wanted.strip() != AUTO else []
    if not wanted:
        if not found:
            raise SettingsError("{name}=auto found no flow: no MirrorSourceConnector with source.cluster.alias and "
                                "target.cluster.alias answered in Connect REST; name the flows (e.g. 'A->B') or fix "
                                "the connection to Connect REST", {"name": "flows"})
        return list(found)
    by_name = {f.name: f for f in found}
    out = []
    for w in wanted:
        name = FLOW_ARROW.join(parse_name(w))
        if name not in by_name:
            carried = ", ".join(by_name) or "none"
            raise SettingsError("{name}: {flow!r} is not a flow of this chain (it carries: {carried}): fix the {name} "
                                "Param or the MirrorSourceConnector's source/target aliases", {"name": "flows"},
                                flow=name, carried=carried)
        if by_name[name] not in out:
            out.append(by_name[name])
    return out


def with_connections(flows: Iterable[Flow], connections: Mapping[str, str]) -> list[Flow]:
    """Each flow with the Airflow connections of its clusters (``connections``: alias -> connection id).

    :raises SettingsError: an alias with no connection, naming the Param and the fix.
    """
    out = []
    for f in flows:
        missing = [a for a in (f.source, f.target) if not connections.get(a)]
        if missing:
            raise SettingsError("{name}: no Airflow connection for cluster alias(es) {aliases} of flow {flow}: map "
                                "each alias to a Kafka connection id, e.g. {example}", {"name": "cluster_connections"},
                                aliases=", ".join(map(repr, missing)), flow=f.name,
                                example='{"A": "kafka_a", "B": "kafka_b"}')
        out.append(Flow(f.source, f.target, f.policy, f.connector, f.topics, f.topics_exclude,
                        connections[f.source], connections[f.target]))
    return out


@dataclass(frozen=True)
class TopologyFinding:
    """What the flow graph itself says, before any record is produced.

    :param kind: ``same_remote_topic`` (two flows write one topic: refused), ``loop`` (a cycle MM2 cannot stop:
        NOGO), ``cycle_stopped`` (a cycle MM2's prefix rule stops: a note).
    :param flows: the flows concerned.
    :param message: what it means and what to do.
    """

    kind: str
    flows: tuple[str, ...]
    message: str


def _cycles(flows: Sequence[Flow]) -> list[list[Flow]]:
    """Every elementary cycle of the flow graph, each once (as the list of its flows, from its smallest alias)."""
    by_source: dict[str, list[Flow]] = {}
    for f in flows:
        by_source.setdefault(f.source, []).append(f)
    found: dict[tuple[str, ...], list[Flow]] = {}

    def walk(start: str, node: str, path: list[Flow], seen: set[str]) -> None:
        for f in by_source.get(node, []):
            if f.target == start:
                cycle = [*path, f]
                key = tuple(sorted(c.name for c in cycle))
                found.setdefault(key, cycle)
            elif f.target not in seen and f.target > start:
                walk(start, f.target, [*path, f], seen | {f.target})

    for start in sorted(by_source):
        walk(start, start, [], {start})
    return list(found.values())


def topology_findings(flows: Sequence[Flow], topic: str) -> list[TopologyFinding]:
    """Two flows writing ``topic``'s copies to one remote topic on one cluster, and the graph's cycles: a cycle with
    a flow whose policy does not prefix names (identity) replicates records back to their origin forever."""
    out = []
    writers: dict[tuple[str, str], list[str]] = {}
    for f in flows:
        writers.setdefault((f.target, f.remote_topic(topic)), []).append(f.name)
    for (cluster, remote), names in sorted(writers.items()):
        if len(names) > 1:
            out.append(TopologyFinding("same_remote_topic", tuple(names),
                                       f"flows {', '.join(names)} all write {remote!r} on {cluster}: their copies "
                                       "cannot be told apart; use the default replication policy (alias-prefixed "
                                       "names) for one of them or select one flow (Param flows)"))
    for cycle in _cycles(flows):
        names = tuple(f.name for f in cycle)
        unsafe = [f.name for f in cycle if not f.policy.stops_cycle()]
        if unsafe:
            out.append(TopologyFinding("loop", names,
                                       f"replication loop: flows {', '.join(names)} form a cycle and {', '.join(unsafe)} "
                                       "use(s) IdentityReplicationPolicy, whose names carry no source alias, so MM2 "
                                       "cannot see a record come back: exclude the replicated topics from the reverse "
                                       "flow (topics.exclude) or use the default policy"))
        else:
            out.append(TopologyFinding("cycle_stopped", names,
                                       f"flows {', '.join(names)} form a cycle; MM2's alias prefixes stop records "
                                       "from coming back (a record crosses each flow once)"))
    return out


@dataclass(frozen=True)
class Sighting:
    """Where a run's messages were seen after replication: cluster alias, topic, the origin cluster they carry, and
    how many distinct messages (``copies``: how many records, a message seen twice counts twice)."""

    cluster: str
    topic: str
    origin: str
    messages: int
    copies: int


def expected_places(flows: Sequence[Flow], origin: str, topic: str) -> dict[tuple[str, str], int]:
    """Where each message produced on ``origin``'s ``topic`` must be once: its own topic, and every cluster the flows
    reach from ``origin`` (following the flows hop by hop, under each flow's policy), with the hop count."""
    places = {(origin, topic): 0}
    frontier = [(origin, topic, 0)]
    while frontier:
        cluster, name, hops = frontier.pop()
        for f in flows:
            if f.source != cluster or f.target == origin:
                continue
            key = (f.target, f.remote_topic(name))
            if key not in places:
                places[key] = hops + 1
                frontier.append((f.target, key[1], hops + 1))
    return places


def loop_guard(flows: Sequence[Flow], origin: str, topic: str,
               sightings: Sequence[Sighting]) -> list[str]:
    """What is wrong with where ``origin``'s messages were seen: every message exactly once where the
    topology says (:func:`expected_places`), nowhere else ([] when all is as it should be)."""
    expected = expected_places(flows, origin, topic)
    problems = []
    for s in sightings:
        if s.origin != origin:
            continue
        key = (s.cluster, s.topic)
        if key not in expected:
            where = "back on their origin" if s.cluster == origin else "where no flow leads"
            problems.append(f"{s.messages} message(s) of {origin} seen {where}: {s.topic} on {s.cluster} "
                            "(replication loop or an unexpected path)")
        elif s.copies > s.messages and key == (origin, topic):
            problems.append(f"{s.copies - s.messages} cop(ies) of {origin}'s messages came back to their origin "
                            f"({s.topic} on {s.cluster}): replication loop")
        elif s.copies > s.messages:
            problems.append(f"{s.copies - s.messages} extra cop(ies) of {origin}'s messages in {s.topic} on "
                            f"{s.cluster}: more than one path leads there")
    return problems
