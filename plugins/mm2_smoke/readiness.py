"""Failover readiness of one flow, judged from what was read: READY, NOT READY or UNKNOWN, with every reason.

The question: if the source died now, could the smoke test's own consumer group move to the target without losing
or re-reading much? What is read (by the per-flow failover task after step 1.4, mapped over the flows like the
steps: :mod:`mm2_smoke.failover_task`) is handed here as plain facts, per partition of the test topic:

- the group's committed offset on the source, and MM2's newest checkpoint of that partition for the group (read on
  the target's ``<source alias>.checkpoints.internal``, :func:`mm2_smoke.failover.decode_checkpoint`);
- the switch rehearsed at the checkpoint's downstream offset (:func:`mm2_smoke.failover.rehearse`);
- the group's committed offset on the target when MM2 syncs group offsets (``sync.group.offsets.enabled``);
- the age of the newest heartbeat of the flow on the target.

Truthful: READY only when every partition has a fresh checkpoint (its upstream offset is the committed one), the
rehearsal loses nothing and re-reads no more than ``reread_max``, the heartbeats are younger than their bound, and
(with group sync) the target group sits at the translation. Never READY with ``would_lose`` > 0; UNKNOWN when
something could not be read and nothing proves NOT READY, and when MM2 has not learnt the group yet (it lists new
groups every ``refresh.groups.interval.seconds``: the next run says).

Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mm2_smoke.failover import Checkpoint, Rehearsal

READY, NOT_READY, UNKNOWN = "READY", "NOT READY", "UNKNOWN"


@dataclass(frozen=True)
class PartitionFacts:
    """What was read of one partition of the test topic.

    :param committed: the group's committed offset on the source (None: could not be read).
    :param checkpoint: MM2's newest checkpoint of the partition for the group (None: none found).
    :param rehearsal: the switch rehearsed at the checkpoint's downstream offset (None: not rehearsed).
    :param on_target: the group's committed offset on the target (None: none, or not read).
    """

    partition: int
    committed: int | None
    checkpoint: Checkpoint | None = None
    rehearsal: Rehearsal | None = None
    on_target: int | None = None


@dataclass(frozen=True)
class Bounds:
    """What the judgment holds the facts to, from the chain's own config and the Params.

    :param reread_max: most messages a switch may re-read (default: the connector's ``offset.lag.max``, 100).
    :param heartbeat_max_age_s: a newest heartbeat older than this says MM2 does not run the flow.
    :param sync_group_offsets: MM2 writes the translated offsets to the target group (``sync.group.offsets.enabled``).
    :param refresh_groups_s: ``refresh.groups.interval.seconds``: how soon MM2 learns a new group.
    """

    reread_max: int = 100
    heartbeat_max_age_s: float = 60.0
    sync_group_offsets: bool = False
    refresh_groups_s: float = 600.0


@dataclass(frozen=True)
class Readiness:
    """One flow's readiness, as the report's ``failover.flows[]`` holds it (:meth:`to_dict`)."""

    flow: str
    verdict: str
    checkpoint_age_s: float | None
    translated: dict[int, int] | None
    would_lose: int | None
    would_reread: int | None
    heartbeat_age_s: float | None
    synced_on_target: bool | None
    reasons: list[str] = field(default_factory=list)

    def to_dict(self, diagnoses: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
        return {"flow": self.flow, "verdict": self.verdict, "checkpoint_age_s": self.checkpoint_age_s,
                "translated": ({str(p): o for p, o in sorted(self.translated.items())}
                               if self.translated is not None else None),
                "would_lose": self.would_lose, "would_reread": self.would_reread,
                "heartbeat_age_s": self.heartbeat_age_s, "synced_on_target": self.synced_on_target,
                "reasons": self.reasons, "diagnoses": list(diagnoses)}


def judge(flow: str, partitions: Sequence[PartitionFacts], bounds: Bounds, *, group_known: bool | None,
          checkpoint_age_s: float | None, heartbeat_age_s: float | None) -> Readiness:
    """The flow's readiness (see the module's doc).

    :param group_known: MM2 lists the group among those it checkpoints (False: not yet; None: could not tell).
    :param checkpoint_age_s: seconds since the newest checkpoint of the group was written (None: none read).
    :param heartbeat_age_s: seconds since the newest heartbeat of the flow on the target (None: none read).
    """
    not_ready: list[str] = []
    unknown: list[str] = []
    if group_known is False:
        unknown.append(f"MM2 has not learnt the group yet (it lists new groups every {bounds.refresh_groups_s:g} s, "
                       "refresh.groups.interval.seconds): the next run can say")
    if not partitions:
        unknown.append("no partition of the test topic was read")
    translated: dict[int, int] = {}
    lose = reread = 0
    rehearsed = True
    for p in partitions:
        if p.committed is None:
            unknown.append(f"partition {p.partition}: the group's committed offset on the source could not be read")
            rehearsed = False
            continue
        if p.checkpoint is None:
            (unknown if group_known is False else not_ready).append(
                f"partition {p.partition}: no checkpoint for the group (committed {p.committed})")
            rehearsed = False
            continue
        translated[p.partition] = p.checkpoint.downstream
        if p.checkpoint.upstream != p.committed:
            not_ready.append(f"partition {p.partition}: the newest checkpoint is stale: upstream offset "
                             f"{p.checkpoint.upstream}, the group committed {p.committed}")
        if p.rehearsal is None:
            unknown.append(f"partition {p.partition}: the switch could not be rehearsed on the target")
            rehearsed = False
            continue
        lose += p.rehearsal.would_lose
        reread += p.rehearsal.would_reread
        if bounds.sync_group_offsets and p.on_target != p.checkpoint.downstream:
            not_ready.append(f"partition {p.partition}: the target group's offset is {p.on_target}, not the "
                             f"translation {p.checkpoint.downstream} (MM2 writes it only while the target group is "
                             "empty)")
    if lose:
        not_ready.insert(0, f"a switch now would lose {lose} message(s) the group had not consumed")
    if reread > bounds.reread_max:
        not_ready.append(f"a switch now would re-read {reread} message(s), more than {bounds.reread_max} "
                         "(offset.lag.max: the translation gap)")
    if heartbeat_age_s is None:
        unknown.append("no heartbeat of the flow was read on the target")
    elif heartbeat_age_s > bounds.heartbeat_max_age_s:
        not_ready.append(f"the newest heartbeat is {heartbeat_age_s:.0f} s old (more than "
                         f"{bounds.heartbeat_max_age_s:g} s): MM2 may not be running the flow")
    synced = (all(p.on_target is not None and p.checkpoint is not None and p.on_target == p.checkpoint.downstream
                  for p in partitions) if bounds.sync_group_offsets and partitions else None)
    verdict = NOT_READY if not_ready else UNKNOWN if unknown else READY
    complete = rehearsed and bool(partitions)
    return Readiness(flow, verdict, checkpoint_age_s, translated or None, lose if complete or lose else None,
                     reread if complete else None, heartbeat_age_s, synced, not_ready + unknown)


def overall(flows: Sequence[Readiness]) -> str:
    """The run's readiness: NOT READY when a flow is, READY only when every flow is (UNKNOWN otherwise, and for no
    flow)."""
    verdicts = [f.verdict for f in flows]
    if NOT_READY in verdicts:
        return NOT_READY
    return READY if verdicts and all(v == READY for v in verdicts) else UNKNOWN
