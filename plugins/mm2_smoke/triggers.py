"""The deferred side of step 1.2's wait: a small async loop run by the triggerer.

The wait's logic is :mod:`mm2_smoke.step_1_2_replication`'s (:func:`~mm2_smoke.step_1_2_replication.measure`);
this module only runs it off the event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from mm2_smoke import step_1_2_replication as step
from mm2_smoke.settings import from_params


class ReplicationTrigger(BaseTrigger):
    """Check the replication counters until the wait is no longer ``waiting``.

    :param prometheus_conn_id: the ``http`` connection of Prometheus.
    :param produced: step 1.1's result (``delivered``, ``started_ms``, ``finished_ms``).
    :param settings: the run's settings (``SmokeSettings.to_dict()``): thresholds, timeouts, check interval.

    Emits one event: ``{"status": <outcome>, "after": {...}, "growth": {...}, "decided_at_s": t}``,
    or ``{"status": "error", "message": ...}`` if the loop itself failed.
    """

    def __init__(self, prometheus_conn_id: str, produced: dict[str, Any], settings: dict[str, Any]) -> None:
        super().__init__()
        self.prometheus_conn_id = prometheus_conn_id
        self.produced = produced
        self.settings = settings

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("mm2_smoke.triggers.ReplicationTrigger",
                {"prometheus_conn_id": self.prometheus_conn_id, "produced": self.produced, "settings": self.settings})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from mm2_smoke.hooks import PrometheusHook

        try:
            settings = from_params(self.settings)
            hook = PrometheusHook(self.prometheus_conn_id)
            while True:
                outcome, now, growth = await asyncio.to_thread(step.measure, hook, settings, self.produced)
                if outcome is not step.Outcome.WAITING:
                    self.log.info("replication wait ended: %s", outcome)
                    yield TriggerEvent({"status": str(outcome), "decided_at_s": time.time(),
                                        "after": step.as_dicts(now), "growth": step.as_dicts(growth)})
                    return
                await asyncio.sleep(settings.poke_interval_s)
        except Exception as exc:  # noqa: BLE001 - reported to the task, which fails with it
            yield TriggerEvent({"status": "error", "message": f"{type(exc).__name__}: {exc}"})
