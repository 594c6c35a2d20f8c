"""The deferrable wait of step 1.2: a small async loop on Prometheus, run by the triggerer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from mm2_smoke.promql import Sample
from mm2_smoke.settings import from_params
from mm2_smoke.steps import counter_growth
from mm2_smoke.verdict import replication_progress


class ReplicationTrigger(BaseTrigger):
    """Poll the replication counters until :func:`~mm2_smoke.verdict.replication_progress` is not ``waiting``.

    :param prometheus_conn_id: the ``http`` connection of Prometheus.
    :param queries: PromQL by measurement name (``poll_total``, ``write_total``, ``topic_record_count``,
        ``topics_replicated``).
    :param before: the samples recorded before production (``Sample.to_dict()``), by measurement name.
    :param delivered: messages delivered in step 1.1.
    :param production_end_s: wall clock (epoch seconds) when production ended.
    :param settings: the run's settings (``SmokeSettings.to_dict()``): thresholds, timeouts, poke interval.
    :param production_start_s: wall clock (epoch seconds) when production started: the counters' growth is
        read as ranges from there, across resets (None: instant after - before, as older triggers did).

    Emits one event: ``{"status": "met"|"stalled"|"unavailable"|"timeout", "after": {...samples}}``,
    or ``{"status": "error", "message": ...}`` if the loop itself failed.
    """

    def __init__(self, prometheus_conn_id: str, queries: dict[str, str], before: dict[str, dict[str, Any]],
                 delivered: int, production_end_s: float, settings: dict[str, Any],
                 production_start_s: float | None = None) -> None:
        super().__init__()
        self.prometheus_conn_id = prometheus_conn_id
        self.queries = queries
        self.before = before
        self.delivered = delivered
        self.production_end_s = production_end_s
        self.settings = settings
        self.production_start_s = production_start_s

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "mm2_smoke.triggers.ReplicationTrigger",
            {
                "prometheus_conn_id": self.prometheus_conn_id,
                "queries": self.queries,
                "before": self.before,
                "delivered": self.delivered,
                "production_end_s": self.production_end_s,
                "settings": self.settings,
                "production_start_s": self.production_start_s,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from mm2_smoke.hooks import PrometheusHook

        try:
            settings = from_params(self.settings)
            before = {k: Sample.from_dict(v) for k, v in self.before.items()}
            hook = PrometheusHook(self.prometheus_conn_id)
            while True:
                now = {name: await asyncio.to_thread(hook.query, q) for name, q in self.queries.items()}
                growth = None
                if self.production_start_s is not None:
                    growth = await asyncio.to_thread(counter_growth, hook, settings, self.production_start_s)
                state = replication_progress(before, now, self.delivered, settings,
                                             time.time() - self.production_end_s, growth)
                if state != "waiting":
                    self.log.info("replication wait ended: %s", state)
                    yield TriggerEvent({"status": state, "decided_at_s": time.time(),
                                        "after": {k: s.to_dict() for k, s in now.items()},
                                        "growth": {k: g.to_dict() for k, g in (growth or {}).items()}})
                    return
                await asyncio.sleep(settings.poke_interval_s)
        except Exception as exc:  # noqa: BLE001 - reported to the task, which fails with it
            yield TriggerEvent({"status": "error", "message": f"{type(exc).__name__}: {exc}"})
