"""The Airflow side of failover readiness: one task per flow after step 1.4 that commits the smoke test's own
group on the source, waits for MM2's checkpoint of that commit (in its worker for ``defer_after_s``, then in the
triggerer: no worker slot while it waits), rehearses the switch and judges READY / NOT READY / UNKNOWN.

What it reads is :mod:`mm2_smoke.failover_check`'s, the judgment :func:`mm2_smoke.readiness.judge`, the causes
:func:`mm2_smoke.diagnosis.failover.readiness_causes`. Its XCom is the flow's ``failover.flows[]`` entry (plus
``reasons``, ``group``, ``seconds``, ``reread_max``), or None when the check is off for the flow.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseOperator

from mm2_smoke.settings import from_params

#: The operator's XCom key of what the deferred half needs (the commit, the config, the wait's start).
STATE_KEY = "failover_state"


def _quiet(*_args: Any) -> None:
    """A log that says nothing (the functions' default outside a task)."""


class FailoverReadinessOperator(BaseOperator):
    """Failover readiness of one flow (mapped over the flows: ``settings`` is the flow's).

    :param settings: the flow's settings dict (templated).
    """

    template_fields = ("settings",)

    def __init__(self, *, settings: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings

    def execute(self, context: Any) -> dict[str, Any] | None:
        from airflow.exceptions import TaskDeferred

        try:
            return self._execute(context)
        except TaskDeferred:
            raise
        except Exception as exc:  # noqa: BLE001 - the check itself broke: UNKNOWN with why, never a missing block
            self.log.exception("failover check failed")
            return unknown(self.settings, f"the failover check failed: {type(exc).__name__}: {exc}")

    def _execute(self, context: Any) -> dict[str, Any] | None:
        from mm2_smoke import dag_layout as ids
        from mm2_smoke.hooks import SmokeKafkaHook, connect_rest
        from mm2_smoke.topology import conns

        ti = context["ti"]
        produced = ti.xcom_pull(task_ids=ids.PRODUCE.id, map_indexes=ti.map_index)
        source_conn, target_conn = conns(self.settings)
        state = prepare(self.settings, produced, context["dag"].dag_id, context["run_id"],
                        connect_rest(self.settings), SmokeKafkaHook(source_conn), log=self.log.info)
        if state is None:
            return None
        ti.xcom_push(key=STATE_KEY, value=state)
        s = from_params(self.settings)
        last = wait(SmokeKafkaHook(target_conn), state, until=state["started"] + s.defer_after_s,
                    interval_s=min(1.0, s.poke_interval_s))
        if last["done"] or time.time() >= state["deadline"] or not state["committed"]:
            return self._finish(context, state, last)
        from mm2_smoke.triggers import FailoverTrigger

        self.log.info("failover %s: deferring the wait to the triggerer", state["flow"])
        self.defer(trigger=FailoverTrigger(target_conn_id=target_conn, state=state,
                                           poke_interval_s=min(1.0, s.poke_interval_s)),
                   method_name="execute_complete", timeout=timedelta(seconds=state["bound_s"] + 120))

    def execute_complete(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        from mm2_smoke import dag_layout as ids

        ti = context["ti"]
        state = ti.xcom_pull(task_ids=ids.FAILOVER.id, key=STATE_KEY, map_indexes=ti.map_index)
        try:
            return self._finish(context, state, event)
        except Exception as exc:  # noqa: BLE001
            self.log.exception("failover check failed")
            return unknown(self.settings, f"the failover check failed: {type(exc).__name__}: {exc}")

    def _finish(self, context: Any, state: dict[str, Any], last: dict[str, Any]) -> dict[str, Any]:
        from mm2_smoke.hooks import SmokeKafkaHook, connect_rest
        from mm2_smoke.topology import conns

        source_conn, target_conn = conns(self.settings)
        from mm2_smoke.dag_layout import PROMETHEUS_CONN
        from mm2_smoke.hooks import PrometheusHook

        return finish(self.settings, state, last, connect_rest(self.settings), SmokeKafkaHook(source_conn),
                      SmokeKafkaHook(target_conn), log=self.log.info, prom=PrometheusHook(PROMETHEUS_CONN))


def prepare(settings: dict[str, Any], produced: dict[str, Any] | None, dag_id: str, run_id: str, connect: Any,
            source: Any, log: Callable[..., None] = _quiet) -> dict[str, Any] | None:
    """The check's first half: the flow's checkpoint config, the group's commit on the source half-way through this
    run's messages, and the wait's bound. The wait's state (JSON), or None when the check is off for the flow."""
    from mm2_smoke.failover_check import commit_half, read_config, topics_of
    from mm2_smoke.naming import failover_group
    from mm2_smoke.topology import flow_name, run_tag

    started = time.time()
    s = from_params(settings)
    flow = flow_name(settings)
    if s.failover_check == "off":
        log("failover %s: failover_check=off", flow)
        return None
    if not produced or not produced.get("delivered"):
        log("failover %s: step 1.1 delivered nothing: nothing to rehearse", flow)
        return None
    config = read_config(connect, s.source_alias, s.target_alias)
    if s.failover_check == "auto" and config.rest_read and not config.connector:
        log("failover %s: no MirrorCheckpointConnector for the flow (failover_check=auto: not checked)", flow)
        return None
    group = failover_group(dag_id, s.source_alias, s.target_alias)
    tag = produced.get("run_tag") or run_tag(run_id, settings)
    commit = commit_half(source, produced["topic"], group, tag, produced["started_ms"] - 60_000)
    log("failover %s: group %s committed %s on source%s", flow, group, commit.committed,
        f" ({commit.error})" if commit.error else "")
    topics = topics_of(settings, config)
    bound = config.wait_bound_s(config.group_known(group), s.failover_timeout_s)
    hopeless = config.hopeless(group)
    if hopeless:  # one look, no wait: the verdict comes at once, with the cause
        bound = 0.0
        log("failover %s: no checkpoint can come (%s): not waiting", flow, hopeless)
    else:
        log("failover %s: waiting up to %.0f s for MM2's checkpoint of the commit (config from %s)", flow, bound,
            config.read_from)
    return {"flow": flow, "group": group, "topic": produced["topic"], "remote_topic": s.remote_topic,
            "committed": {str(p): o for p, o in commit.committed.items()}, "commit": commit.to_dict(),
            "config": config.to_dict(), "checkpoints_topic": topics.checkpoints,
            "offset_syncs_topic": topics.offset_syncs, "sync": config.sync_enabled,
            "since_ms": commit.at_ms - 600_000, "started": started, "deadline": time.time() + bound,
            "bound_s": bound, "run_tag": tag, "started_ms": produced["started_ms"]}


def wait(target: Any, state: dict[str, Any], until: float, interval_s: float = 1.0) -> dict[str, Any]:
    """Look for MM2's checkpoint of the commit until it is there, ``until`` (epoch s) or the wait's bound; the last
    look (:func:`mm2_smoke.failover_check.poll`)."""
    from mm2_smoke.failover_check import poll

    last: dict[str, Any] = {"done": False, "checkpoints": {}}
    if not state["committed"]:
        return last
    while True:
        last = poll(target, state)
        if last["done"] or time.time() >= min(until, state["deadline"]):
            return last
        time.sleep(interval_s)


def finish(settings: dict[str, Any], state: dict[str, Any], last: dict[str, Any], connect: Any, source: Any,
           target: Any, log: Callable[..., None] = _quiet, prom: Any = None) -> dict[str, Any]:
    """The check's second half: the chain re-read as it is now (MM2 may have learnt the group, a connector changed
    state, during the wait), the switch rehearsed, judged and diagnosed (:func:`conclude`)."""
    from mm2_smoke.failover_check import log_line, read_config

    s = from_params(settings)
    now = read_config(connect, s.source_alias, s.target_alias)
    if now.rest_read:
        state = {**state, "config": now.to_dict()}
    result = conclude(s, state, last, source, target)
    result["checkpoint_latency_ms"] = checkpoint_latency(prom, s, state) if prom is not None else None
    log(log_line(result))
    for d in result["diagnoses"][:3]:
        log("failover %s cause: %s (%s/%s): %s", result["flow"], d["cause"], d["component"], d["cause_class"],
            d["evidence"])
    return result


def checkpoint_latency(prom: Any, s: Any, state: dict[str, Any]) -> dict[str, Any] | None:
    """MM2's own checkpoint metric for the group (``checkpoint-latency-ms`` avg and max, ms: the checkpoint's write
    delay, not how stale the translation is), as the run's metric profile names it; None when the profile is not
    resolved. A value the store does not have is None with its reason (never 0)."""
    from mm2_smoke.metrics import AUTO, checkpoint_latency_query, profile

    if s.metric_profile == AUTO:
        return None
    out: dict[str, Any] = {}
    for stat in ("avg", "max"):
        m = prom.query(checkpoint_latency_query(profile(s.metric_profile), stat, state["group"], state["remote_topic"]))
        out[stat] = round(m.value, 1) if m.ok else None
        if not m.ok:
            out[f"{stat}_reason"] = m.reason
    return out


def unknown(settings: dict[str, Any], why: str) -> dict[str, Any]:
    """The flow's readiness when the check could not run to its end: UNKNOWN, saying why."""
    from mm2_smoke.diagnosis.base import NOT_INSPECTED, UNATTRIBUTED, diagnosis
    from mm2_smoke.diagnosis.failover import NOT_READY_SYMPTOM
    from mm2_smoke.readiness import UNKNOWN, Readiness
    from mm2_smoke.topology import flow_name

    flow = flow_name(settings)
    found = diagnosis(NOT_READY_SYMPTOM, UNATTRIBUTED, NOT_INSPECTED, "UNKNOWN: the check could not run", why)
    r = Readiness(flow, UNKNOWN, None, None, None, None, None, None, [why])
    return {**r.to_dict([{**found.to_dict(), "flow": flow}]), "group": "", "reread_max": None, "seconds": None}


def conclude(s: Any, state: dict[str, Any], last: dict[str, Any], source: Any, target: Any) -> dict[str, Any]:
    """Rehearse the switch from the wait's last look, read heartbeats and the target group, judge, diagnose."""
    from mm2_smoke.diagnosis.failover import FailoverFacts, readiness_causes
    from mm2_smoke.failover import Checkpoint, rehearse
    from mm2_smoke.failover_check import (
        CheckpointConfig,
        Commit,
        downstream_messages,
        flow_heartbeat_age_s,
        placed,
        target_group,
        topic_exists,
    )
    from mm2_smoke.readiness import Bounds, PartitionFacts, judge

    config = CheckpointConfig.from_dict(state["config"])
    commit = Commit.from_dict(state["commit"])
    group, flow = state["group"], state["flow"]
    unread: list[str] = []
    if commit.error:
        unread.append(commit.error)
    now_ms = time.time() * 1000
    found = {int(p): (Checkpoint(group, state["remote_topic"], int(p), v[0], v[1]), int(v[2]))
             for p, v in (last.get("checkpoints") or {}).items()}
    if last.get("checkpoints_error"):
        unread.append(last["checkpoints_error"])
    try:
        down = downstream_messages(target, state["remote_topic"], state["run_tag"], state["started_ms"] - 60_000)
    except Exception as exc:  # noqa: BLE001 - no rehearsal: UNKNOWN for that part, said
        down = None
        unread.append(f"this run's messages on {state['remote_topic']}: {type(exc).__name__}: {exc}")
    if "target_offsets" in last:
        offsets = {int(p): o for p, o in last["target_offsets"].items()}
        group_state, error = last.get("target_state", ""), last.get("target_error", "")
    else:
        offsets, group_state, error = target_group(target, group, state["remote_topic"])
    if error:
        unread.append(f"the group on target: {error}")
    by_partition = placed(commit, down or {})
    partitions = []
    ahead: list[str] = []
    for p, committed in sorted(commit.committed.items()):
        cp = found.get(p, (None, 0))[0]
        # Where a switched consumer starts: with group sync, the group's own offset on the target (what MM2 wrote,
        # or what is left there: MM2 never moves it back); else the checkpoint's translation.
        start = cp.downstream if cp else None
        if cp and state["sync"] and offsets.get(p) is not None:
            start = offsets[p]
            if offsets[p] > cp.downstream:
                ahead.append(f"partition {p}: {offsets[p]} on the target, the translation is {cp.downstream}")
        rehearsal = rehearse(by_partition.get(p, []), committed, start) if cp and down is not None else None
        partitions.append(PartitionFacts(p, committed, cp, rehearsal, offsets.get(p)))
    known = config.group_known(group)
    if known is None and found:
        known = True
    ages = [(now_ms - ts) / 1000 for _cp, ts in found.values()]
    checkpoint_age = round(max(ages), 1) if ages else None
    heartbeat_age, hb_why = flow_heartbeat_age_s(target, s.source_alias, s.target_alias, now_ms)
    if heartbeat_age is None:
        unread.append(hb_why)
    reread_max = s.failover_reread_max if s.failover_reread_max >= 0 else config.offset_lag_max
    hb_bound = config.heartbeat_bound_s(s.heartbeat_max_age_s)
    bounds = Bounds(reread_max, hb_bound, config.sync_enabled, config.seconds("refresh.groups.interval.seconds"))
    readiness = judge(flow, partitions, bounds, group_known=known, checkpoint_age_s=checkpoint_age,
                      heartbeat_age_s=round(heartbeat_age, 1) if heartbeat_age is not None else None)
    syncs: bool | None = None
    if readiness.verdict != "READY":
        location = config.get("offset-syncs.topic.location")
        syncs, why = topic_exists(target if location == "target" else source, state["offset_syncs_topic"])
        if syncs is None:
            unread.append(f"{state['offset_syncs_topic']}: {why}")
    facts = FailoverFacts(
        flow, group, readiness.verdict, readiness.reasons,
        {**config.to_dict(), "rest_read": config.rest_read, "emit_enabled": config.emit_enabled,
         "sync_enabled": config.sync_enabled, "group_filtered": config.group_filtered(group),
         "offset_lag_max": config.offset_lag_max},
        readiness.would_reread, reread_max, readiness.synced_on_target, group_state,
        readiness.heartbeat_age_s, hb_bound, syncs, state["offset_syncs_topic"], known,
        unread if readiness.verdict != "READY" else (), "; ".join(ahead))
    causes = readiness_causes(facts)
    proven = next((d for d in causes if d.certain), None)
    if readiness.verdict == "UNKNOWN" and proven is not None:
        # The verdict follows proof: what could not be measured is explained by a proven fault (a group filtered
        # out, checkpoints disabled, the connector paused...): NOT READY, not "I don't know".
        readiness = replace(readiness, verdict="NOT READY", reasons=[
            f"NOT READY, not UNKNOWN: {proven.cause}", *readiness.reasons])
    diagnoses = [{**d.to_dict(), "flow": flow} for d in causes]
    return {**readiness.to_dict(diagnoses), "group": group, "reread_max": reread_max,
            "seconds": round(time.time() - state["started"], 1), "waited_s": round(
                min(time.time(), state["deadline"]) - state["started"], 1), "config_from": config.read_from}
