"""Which flows one run checks, and the pre-flight of each: the per-flow shape every later task reads.

:func:`plan` (first, in task ``preflight``): the chain's flows (each MirrorSourceConnector's source and target
aliases, policy and filters, from Connect REST; the ``source_alias -> target_alias`` flow of the Params when Connect
REST cannot say or MM2 runs dedicated), the ``flows`` Param's selection, each alias's Airflow connection
(``cluster_connections``), and what the flow graph itself makes unsafe (:func:`mm2_smoke.flows.topology_findings`):
two flows writing one remote topic is refused like a bad Param; a cycle that no topic prefix stops
(``IdentityReplicationPolicy``) is a certain NOGO ("replication loop") for the flows in it, before anything is
produced; a cycle that MM2's prefixes stop is a note.

:func:`flow_settings`: a flow's settings, the run's with the flow's aliases, its MirrorSourceConnector's selector and
its clusters' connections (keys :data:`~mm2_smoke.settings.FLOW_KEY`, ``source_conn``, ``target_conn``). Every task of
the flow reads those (the steps are mapped over them), so one flow is exactly today's run.

Pure but for the ``connect`` argument (a :class:`~mm2_smoke.hooks.ConnectHook` or anything with ``get_json``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from mm2_smoke.chain import Finding
from mm2_smoke.checks import Status
from mm2_smoke.errors import SettingsError
from mm2_smoke.flows import (
    AUTO,
    Flow,
    ReplicationPolicy,
    TopologyFinding,
    from_connector_configs,
    parse_name,
    select,
    topology_findings,
    with_connections,
)
from mm2_smoke.metrics import DEFAULT_CONNECTOR_REGEX
from mm2_smoke.naming import DEFAULT_POLICY
from mm2_smoke.settings import FLOW_KEY, SOURCE_CONN_KEY, TARGET_CONN_KEY, SmokeSettings, connection_for

#: A flow's settings key naming its origin cluster when the run checks several flows (the run tag carries it).
ORIGIN_KEY = "origin"


@dataclass(frozen=True)
class Plan:
    """The flows a run checks.

    :param flows: the selected flows, each tied to its clusters' connections, in the order checked.
    :param found_in: where the flows were read (``Connect REST``, or ``Params`` when it could not say).
    :param findings: the topology's own findings (a replication loop, a stopped cycle, the flows checked).
    :param looping: the names of the flows in a cycle MM2 cannot stop (they are not produced on).
    :param concerns: for each of ``findings``, in order, the flows it concerns.
    """

    flows: list[Flow]
    found_in: str
    findings: list[Finding] = field(default_factory=list)
    looping: frozenset[str] = frozenset()
    concerns: list[tuple[str, ...]] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.flows]


def params_flow(s: SmokeSettings) -> Flow:
    """The one flow the Params name (``source_alias -> target_alias``, the Params' policy)."""
    kind = DEFAULT_POLICY if s.replication_policy == AUTO else s.replication_policy
    policy = ReplicationPolicy(kind, "" if kind != DEFAULT_POLICY else s.replication_separator)
    return Flow(s.source_alias, s.target_alias, policy, s.source_connector)


def chain_flows(connect: Any) -> list[Flow] | None:
    """The flows of the MirrorSourceConnectors Connect REST shows (``GET /connectors?expand=info``; [] when it shows
    none); None when it cannot say (not reachable, an answer that is not the connectors' map)."""
    if connect is None:
        return None
    answer = connect.get_json("connectors", {"expand": "info"})
    if answer.status != 200 or not isinstance(answer.body, dict):
        return None
    configs = {name: ((entry or {}).get("info") or {}).get("config") or {}
               for name, entry in answer.body.items() if isinstance(entry, dict)}
    return from_connector_configs(configs)


def _named(s: SmokeSettings) -> list[str]:
    return [] if s.flows.strip() == AUTO else [w for w in s.flows.split(",") if w.strip()]


def plan(s: SmokeSettings, connect: Any, topic: str) -> Plan:
    """The run's flows (see the module's doc).

    :param topic: the test topic on each flow's source (the remote names follow each flow's policy).
    :raises SettingsError: an unknown flow, an alias with no connection, two flows writing one remote topic: each
        naming the Param and the fix.
    """
    found = chain_flows(connect) if s.mm2_mode == "connect" else None
    listed = found is not None
    found = found or None
    if found is None:
        base = params_flow(s)
        named = _named(s)
        if named:  # Connect REST cannot say which flows exist: the ones named are taken as named
            found = [replace(base, source=a, target=b, connector=f"{a}->{b}.MirrorSourceConnector")
                     for a, b in map(parse_name, named)]
        else:
            found = [base]
        where = ("Params" if s.mm2_mode == "dedicated" else "Params (Connect REST shows no MirrorSourceConnector)"
                 if listed else "Params (Connect REST could not list the connectors)")
    else:
        where = "Connect REST"
    chosen = select(found, s.flows)
    if s.replication_policy != AUTO:  # the Param overrides what the connector says
        chosen = [replace(f, policy=params_flow(s).policy) for f in chosen]
    aliases = {a for f in chosen for a in (f.source, f.target)}
    chosen = with_connections(chosen, {a: connection_for(s, a) for a in aliases})
    out: list[Finding] = []
    concerns: list[tuple[str, ...]] = []
    looping: set[str] = set()
    for t in topology_findings(chosen, topic):
        if t.kind == "same_remote_topic":
            raise SettingsError("{name}: {message}", {"name": "flows"}, message=t.message)
        out.append(_finding(t))
        concerns.append(t.flows)
        if t.kind == "loop":
            looping.update(t.flows)
    if len(chosen) > 1 or _named(s):
        out.append(Finding("flows", Status.GO, False, f"{len(chosen)} flow(s) checked: {', '.join(f.name for f in chosen)}"
                           f" (read from {where}; Param flows={s.flows})", where, ", ".join(f.name for f in chosen),
                           "every selected flow"))
        concerns.append(tuple(f.name for f in chosen))
    return Plan(chosen, where, out, frozenset(looping), concerns)


def _finding(t: TopologyFinding) -> Finding:
    if t.kind == "loop":
        return Finding("replication_loop", Status.NOGO, True, t.message, "the flow graph: " + ", ".join(t.flows),
                       "cycle under IdentityReplicationPolicy", "no cycle MM2 cannot stop")
    return Finding("topology_cycle", Status.GO, False, t.message, "the flow graph: " + ", ".join(t.flows),
                   "cycle stopped by alias prefixes", "no cycle MM2 cannot stop")


def flow_settings(s: SmokeSettings, flow: Flow, multi: bool) -> dict[str, Any]:
    """The settings of ``flow``'s tasks: the run's, with the flow's aliases and clusters' connections; with more
    than one flow, the default connector selector narrowed to the flow's MirrorSourceConnector (its task metrics
    are its own)."""
    regex = s.connector_regex
    if multi and regex == DEFAULT_CONNECTOR_REGEX and flow.connector:
        regex = connector_selector(flow.connector)
    policy = s.replication_policy
    if policy != AUTO:
        policy = flow.policy.kind
    resolved = replace(s, source_alias=flow.source, target_alias=flow.target, connector_regex=regex,
                       replication_policy=policy,
                       replication_separator=flow.policy.separator or s.replication_separator)
    return {**resolved.to_dict(), **flow_keys(flow, multi)}


def connector_selector(connector: str) -> str:
    """The ``connector`` label selector of exactly one connector: its name (regex-escaped; PromQL anchors it), with or
    without the quotes some exporter rules keep (Strimzi's)."""
    import re

    return f'"?{re.escape(connector)}"?'


def flow_keys(flow: Flow, multi: bool) -> dict[str, Any]:
    """The keys a flow's settings carry beyond the Params."""
    return {FLOW_KEY: flow.name, SOURCE_CONN_KEY: flow.source_conn, TARGET_CONN_KEY: flow.target_conn,
            ORIGIN_KEY: flow.source if multi else ""}


def conns(settings: dict[str, Any]) -> tuple[str, str]:
    """The (source, target) Airflow connections of a flow's settings (today's two when the settings name none)."""
    return settings.get(SOURCE_CONN_KEY) or "kafka_source", settings.get(TARGET_CONN_KEY) or "kafka_target"


def flow_name(settings: dict[str, Any]) -> str:
    """The flow a task's settings are for (``source_alias->target_alias`` when they name none)."""
    return settings.get(FLOW_KEY) or f"{settings.get('source_alias', 'source')}->{settings.get('target_alias', 'target')}"


def with_topology(outcome_findings: Sequence[Finding], plan_: Plan, flow: Flow) -> list[Finding]:
    """A flow's pre-flight findings with the topology's that concern it (a loop it is part of, the flows checked)."""
    mine = [f for f, names in zip(plan_.findings, plan_.concerns, strict=True) if flow.name in names]
    return [*outcome_findings, *mine]


@dataclass(frozen=True)
class FlowOutcome:
    """One flow's pre-flight: its resolved settings (profile and naming), its report section, whether it produces."""

    flow: str
    settings: dict[str, Any]
    report: dict[str, Any]
    proceed: bool

    def to_dict(self) -> dict[str, Any]:
        return {"flow": self.flow, "settings": self.settings, "preflight": self.report, "proceed": self.proceed}


def run_flows(prom: Any, s: SmokeSettings, plan_: Plan, connect: Any, kafka: Any) -> list[FlowOutcome]:
    """The pre-flight of every flow of ``plan_`` (:func:`mm2_smoke.preflight.run` with the flow's settings and
    clusters), each decided with the topology's findings that concern it.

    :param kafka: a function of an Airflow connection id to that cluster's hook.
    """
    from mm2_smoke.preflight import decide, finding_dict, run

    multi = len(plan_.flows) > 1
    out = []
    for flow in plan_.flows:
        settings = flow_settings(s, flow, multi)
        outcome = run(prom, settings, connect, kafka(flow.source_conn), kafka(flow.target_conn))
        findings = with_topology(outcome.findings, plan_, flow)
        status, proceed = decide(s.preflight_mode, findings)
        if flow.name in plan_.looping:  # whatever the mode: records produced into the loop would circle forever
            status, proceed = "NOGO", False
        report = {**outcome.report(), "status": status, "findings": [finding_dict(f) for f in findings]}
        resolved = {**outcome.settings, **flow_keys(flow, multi)}
        out.append(FlowOutcome(flow.name, resolved, report, proceed))
    return out


def run_tag(run_id: str, settings: dict[str, Any]) -> str:
    """The run tag of a flow's messages: the run id, with the flow's origin cluster when the run checks several
    flows (``<run id>@<source alias>``: a message seen anywhere says which cluster it was produced on)."""
    origin = settings.get(ORIGIN_KEY)
    return f"{run_id}@{origin}" if origin else run_id


def plan_checked(setup: Any, s: SmokeSettings, connect: Any, push: Any) -> Plan:
    """:func:`plan`, then the connections of every flow's clusters checked (without connecting) beyond those the
    Params' check already did. A problem is pushed as the setup's (``push(setup_dict)``: the checklist's rows say
    it) and raised: nothing is produced.

    :raises SettingsError: a bad ``flows`` / ``cluster_connections`` / topology (see :func:`plan`).
    :raises SetupError: a flow's cluster connection missing or incomplete.
    """
    from mm2_smoke.errors import SetupError
    from mm2_smoke.hooks import check_connections

    try:
        found = plan(s, connect, s.source_topic)
    except SettingsError as exc:
        push(replace(setup, settings=None, settings_error=str(exc), error=exc).to_dict())
        raise
    checked = set(setup.conns.split(", "))
    extra = tuple(sorted({c for f in found.flows for c in (f.source_conn, f.target_conn)} - checked))
    if extra:
        problems, _ = check_connections(extra, ())
        if problems:
            push(replace(setup, conns=", ".join([*checked, *extra]), problems=[*setup.problems, *problems]).to_dict())
            raise SetupError(problems)
    return found
