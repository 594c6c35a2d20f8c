"""The deferred side of step 1.2's wait: a small async loop run by the triggerer.

The wait's logic is :mod:`mm2_smoke.step_1_2_replication`'s (:func:`~mm2_smoke.step_1_2_replication.measure`);
this module only runs it off the event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from mm2_smoke import step_1_2_replication as step
from mm2_smoke.payloads import E2eDict, ReplicationEvent, WaitProduced
from mm2_smoke.settings import from_params


class ReplicationTrigger(BaseTrigger):
    """Check the replication counters until the wait is no longer ``waiting``.

    Its arguments are what the wait reads, and only that (what :meth:`serialize` stores in the trigger's row):

    :param prometheus_conn_id: the ``http`` connection of Prometheus.
    :param delivered: step 1.1's delivered count; ``started_ms``, ``finished_ms``, ``e2e`` and ``topic_new`` its
        other fields the wait reads (:data:`~mm2_smoke.step_1_2_replication.PRODUCED_FIELDS`).
    :param settings: the run's settings the wait reads (:data:`~mm2_smoke.step_1_2_replication.SETTINGS_FIELDS`:
        the queries', the thresholds and timeouts, the check interval); a whole settings dict is cut down to them.
    :param produced: step 1.1's result as one dict, taken in place of the named fields when given (a trigger row
        stored with a ``produced`` dict still loads).

    Emits one event: ``{"status": <outcome>, "after": {...}, "growth": {...}, "decided_at_s": t}``,
    or ``{"status": "error", "message": ...}`` if the loop itself failed.
    """

    def __init__(self, prometheus_conn_id: str, *, settings: Mapping[str, Any], delivered: int | None = None,
                 started_ms: int | None = None, finished_ms: int | None = None, e2e: E2eDict | None = None,
                 topic_new: bool = False, produced: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        if produced is not None:
            old = step.wait_produced(produced)
            delivered, started_ms, finished_ms = old["delivered"], old["started_ms"], old["finished_ms"]
            e2e, topic_new = old["e2e"], old["topic_new"]
        if delivered is None or started_ms is None or finished_ms is None:
            raise TypeError("ReplicationTrigger needs step 1.1's delivered, started_ms and finished_ms")
        self.prometheus_conn_id = prometheus_conn_id
        self.delivered = delivered
        self.started_ms = started_ms
        self.finished_ms = finished_ms
        self.e2e = e2e
        self.topic_new = topic_new
        self.settings = step.wait_settings(settings)

    @property
    def produced(self) -> WaitProduced:
        """What of step 1.1's result the wait reads."""
        return {"delivered": self.delivered, "started_ms": self.started_ms, "finished_ms": self.finished_ms,
                "e2e": self.e2e, "topic_new": self.topic_new}

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("mm2_smoke.triggers.ReplicationTrigger",
                {"prometheus_conn_id": self.prometheus_conn_id, **self.produced, "settings": self.settings})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from mm2_smoke.hooks import PrometheusHook

        try:
            settings = from_params(self.settings)
            hook = PrometheusHook(self.prometheus_conn_id)
            while True:
                outcome, now, growth = await asyncio.to_thread(step.measure, hook, settings, self.produced)
                if outcome is not step.Outcome.WAITING:
                    self.log.info("replication wait ended: %s", outcome)
                    event: ReplicationEvent = {"status": str(outcome), "decided_at_s": time.time(),
                                               "after": step.as_dicts(now), "growth": step.as_dicts(growth)}
                    yield TriggerEvent(event)
                    return
                await asyncio.sleep(settings.poke_interval_s)
        except Exception as exc:  # noqa: BLE001 - reported to the task, which fails with it
            yield TriggerEvent({"status": "error", "message": f"{type(exc).__name__}: {exc}"})


class FailoverTrigger(BaseTrigger):
    """Look for MM2's checkpoint of the failover check's commit until it is there or the wait's bound passes
    (:func:`mm2_smoke.failover_check.poll`, run off the event loop).

    :param target_conn_id: the ``kafka`` connection of the flow's target cluster.
    :param state: what the wait reads (the group, its commit, the checkpoints topic, ``deadline`` in epoch seconds);
        the operator's :data:`~mm2_smoke.failover_task.STATE_KEY` XCom.
    :param poke_interval_s: seconds between looks.

    Emits one event: the last look (``checkpoints``, ``done``...), or ``{"done": False, "checkpoints_error": ...}``
    when the loop itself failed.
    """

    def __init__(self, target_conn_id: str, state: Mapping[str, Any], poke_interval_s: float = 1.0) -> None:
        super().__init__()
        self.target_conn_id = target_conn_id
        self.state = dict(state)
        self.poke_interval_s = poke_interval_s

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("mm2_smoke.triggers.FailoverTrigger", {"target_conn_id": self.target_conn_id, "state": self.state,
                                                       "poke_interval_s": self.poke_interval_s})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from mm2_smoke.failover_check import poll
        from mm2_smoke.hooks import SmokeKafkaHook

        last: dict[str, Any] = {"done": False, "checkpoints": {}}
        try:
            target = SmokeKafkaHook(self.target_conn_id)
            while True:
                last = await asyncio.to_thread(poll, target, self.state)
                if last["done"] or time.time() >= self.state["deadline"]:
                    self.log.info("failover wait ended: %s", "checkpointed" if last["done"] else "bound reached")
                    yield TriggerEvent(last)
                    return
                await asyncio.sleep(self.poke_interval_s)
        except Exception as exc:  # noqa: BLE001 - the event says it; the task judges what it has
            yield TriggerEvent({**last, "done": False, "checkpoints_error": f"{type(exc).__name__}: {exc}"})
