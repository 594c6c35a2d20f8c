"""Why a flow is not READY to fail over: causes from what the failover check read, evidence first.

Facts in (:class:`FailoverFacts`: the flow's checkpoint config as Connect REST shows it, the readiness judged, the
target group's state, whether the offset-syncs topic exists, why something could not be read), diagnoses out, ranked.
The rows are :mod:`.causes`' (components ``checkpoint_connector``, ``heartbeat_connector``, ``offset_syncs``,
``target_group``). These diagnoses stay in the report's ``failover`` block: the Phase 1 verdict never reads them.

Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mm2_smoke.diagnosis.base import (
    AHEAD,
    CHECKPOINT_CONNECTOR,
    DOWN,
    FAILED,
    GROUP_FILTERED,
    HEARTBEAT_CONNECTOR,
    IN_USE,
    LAGGING,
    MISCONFIGURATION,
    NOT_INSPECTED,
    NOT_YET,
    OFFSET_SYNCS,
    TARGET_GROUP,
    UNATTRIBUTED,
    Diagnosis,
    diagnosis,
    rank,
)
from mm2_smoke.failover import has_members

#: The symptom every failover diagnosis names.
NOT_READY_SYMPTOM = "failover_not_ready"
_STOPPED = ("PAUSED", "STOPPED", "UNASSIGNED")


@dataclass(frozen=True)
class FailoverFacts:
    """What the failover check of one flow read, for its diagnosis.

    :param verdict: the flow's readiness (READY, NOT READY, UNKNOWN); ``reasons`` its reasons.
    :param config: the checkpoint config's dict (:meth:`mm2_smoke.failover_check.CheckpointConfig.to_dict`),
        with ``rest_read``, ``emit_enabled``, ``sync_enabled``, ``group_filtered`` (why, '' passes),
        ``offset_lag_max`` resolved.
    :param would_reread: what a switch re-reads; ``reread_max`` its bound.
    :param synced_on_target: the target group sits at the translation (None: not judged).
    :param target_state: the group's state on the target (``EMPTY``, ``STABLE``...; '' unread).
    :param heartbeat_age_s: the flow's newest heartbeat's age; ``heartbeat_bound_s`` its bound.
    :param offset_syncs: the offset-syncs topic exists (None: could not tell); ``offset_syncs_topic`` its name.
    :param group_known: MM2 was assigned the group (None: not read).
    :param target_ahead: the partitions where the group's offset on the target is past the translation ('' none):
        MM2's group sync never moves an offset back, and a switched consumer starts there.
    """

    flow: str
    group: str
    verdict: str
    reasons: Sequence[str] = ()
    config: dict[str, Any] = field(default_factory=dict)
    would_reread: int | None = None
    reread_max: int = 100
    synced_on_target: bool | None = None
    target_state: str = ""
    heartbeat_age_s: float | None = None
    heartbeat_bound_s: float = 60.0
    offset_syncs: bool | None = None
    offset_syncs_topic: str = ""
    group_known: bool | None = None
    unread: Sequence[str] = ()
    target_ahead: str = ""


def readiness_causes(f: FailoverFacts) -> list[Diagnosis]:
    """The causes of a flow that is not READY, most likely first (none for READY). Every reason the readiness gave
    is covered: what no rule explains is one row that lists it (not certain)."""
    if f.verdict == "READY":
        return []
    c = f.config
    name = c.get("connector") or "the flow's MirrorCheckpointConnector"
    state = c.get("state") or ""
    found: list[Diagnosis] = []

    def add(component: str, cause_class: str, cause: str, evidence: str, **kw: Any) -> None:
        found.append(diagnosis(NOT_READY_SYMPTOM, component, cause_class, cause, evidence, connector=name, **kw))

    if c.get("rest_read") and not c.get("connector"):
        add(CHECKPOINT_CONNECTOR, DOWN, f"the flow {f.flow} has no MirrorCheckpointConnector: nothing translates "
            "consumer-group offsets to the target", f"Connect REST lists no MirrorCheckpointConnector with "
            f"source.cluster.alias/target.cluster.alias of {f.flow}")
    elif state in _STOPPED:
        add(CHECKPOINT_CONNECTOR, DOWN, f"{name} is {state}: no checkpoint is written",
            f"GET /connectors/{name}/status: {state}")
    elif state == "FAILED":
        add(CHECKPOINT_CONNECTOR, FAILED, f"{name} (or a task of it) FAILED", f"GET /connectors/{name}/status: "
            f"FAILED: {c.get('trace') or 'no trace'}")
    if c.get("connector") and not c.get("emit_enabled", True):
        add(CHECKPOINT_CONNECTOR, MISCONFIGURATION, f"{name} does not emit checkpoints (emit.checkpoints.enabled="
            "false)", f"{name} config: emit.checkpoints.enabled=false")
    if c.get("group_filtered"):
        add(CHECKPOINT_CONNECTOR, MISCONFIGURATION, f"the group {f.group} is filtered out of {name}'s checkpoints",
            f"{name} config: {c['group_filtered']}", cause_id=GROUP_FILTERED,
            score=95 if c.get("rest_read") else 70)
    if f.offset_syncs is False:
        add(OFFSET_SYNCS, MISCONFIGURATION, f"MM2's offset-syncs topic {f.offset_syncs_topic} does not exist: MM2 has "
            "nothing to translate offsets with", f"{f.offset_syncs_topic}: absent on the cluster "
            f"offset-syncs.topic.location={(c.get('settings') or {}).get('offset-syncs.topic.location', 'source')} "
            "names")
    if f.would_reread is not None and f.would_reread > f.reread_max:
        add(OFFSET_SYNCS, LAGGING, f"the translation is {f.would_reread} messages behind the commit (more than "
            f"{f.reread_max})", f"rehearsal: a consumer switched at the translated offsets re-reads {f.would_reread} "
            f"of this run's messages; offset.lag.max={c.get('offset_lag_max', 100)}")
    if f.target_ahead:
        add(TARGET_GROUP, AHEAD, f"the group {f.group}'s offsets on the target are past MM2's translation: its group "
            "sync never moves them back, and a consumer switched now starts there, skipping what the group had not "
            "consumed", f"target: {f.target_ahead}")
    if f.synced_on_target is False and has_members(f.target_state):
        add(TARGET_GROUP, IN_USE, f"the group {f.group} is {f.target_state} on the target: MM2's group offset sync "
            "cannot write its offsets there", f"target: describe group {f.group}: {f.target_state}; its committed "
            "offsets differ from the translation")
    if f.heartbeat_age_s is not None and f.heartbeat_age_s > f.heartbeat_bound_s:
        hb, hb_state = c.get("heartbeat_connector") or "", c.get("heartbeat_state") or ""
        evidence = (f"the flow's newest heartbeat on the target is {f.heartbeat_age_s:.0f} s old (bound "
                    f"{f.heartbeat_bound_s:g} s)")
        if hb and hb_state in (*_STOPPED, "FAILED"):
            found.append(diagnosis(NOT_READY_SYMPTOM, HEARTBEAT_CONNECTOR, DOWN, f"{hb} is {hb_state}: the flow's "
                                   "heartbeats stopped", f"{evidence}; GET /connectors/{hb}/status: {hb_state}",
                                   connector=hb))
        else:
            found.append(diagnosis(NOT_READY_SYMPTOM, HEARTBEAT_CONNECTOR, LAGGING, "the flow's heartbeats stopped "
                                   "arriving on the target", evidence, connector=hb or "the heartbeat connector"))
    if f.group_known is False and not c.get("group_filtered"):
        refresh = (c.get("settings") or {}).get("refresh.groups.interval.seconds", "600")
        add(CHECKPOINT_CONNECTOR, NOT_YET, f"MM2 has not learnt the group {f.group} yet: it lists new groups every "
            f"{refresh} s (refresh.groups.interval.seconds): next run", f"{name}'s tasks: task.assigned.groups does "
            f"not hold {f.group}")
    proven = [d for d in found if d.certain]
    if f.verdict == "NOT READY" and not proven:
        stale = [r for r in f.reasons if "stale" in r or "no checkpoint" in r]
        if stale and state == "RUNNING":
            add(CHECKPOINT_CONNECTOR, LAGGING, f"{name} is RUNNING but its checkpoints lag this run's commit",
                "; ".join(stale))
    explained = bool(found)
    if not explained or f.unread:
        what = [*f.reasons] if not explained else []
        what += [f"could not read: {u}" for u in f.unread]
        found.append(diagnosis(NOT_READY_SYMPTOM, UNATTRIBUTED, NOT_INSPECTED, f"{f.verdict}: no cause proven",
                               "; ".join(what) or "nothing read explains it"))
    return rank(found)
