"""The sensor of step 1.2: wait on Prometheus until replication is proven, stalled or timed out."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from mm2_smoke.promql import Sample
from mm2_smoke.settings import from_params
from mm2_smoke.steps import counter_growth, replication_queries
from mm2_smoke.verdict import replication_progress


class ReplicationTriggerError(RuntimeError):
    """The deferred wait itself failed (not a NOGO: a bug or a broken triggerer)."""


class ReplicationSensor(BaseSensorOperator):
    """Wait until MM2 replicated the delivered messages, or until the runbook's NOGO condition holds.

    It does not fail on NOGO: it returns the evidence (``{"outcome", "after", "before", "delivered"}``) for
    the verdict. With ``deferrable=True`` (default) it pokes in the worker for up to the run's ``defer_after_s``
    setting (default 15 s), then defers to
    :class:`~mm2_smoke.triggers.ReplicationTrigger` and holds no worker slot while waiting; otherwise it
    pokes in ``reschedule`` mode.

    Why not defer at once: MM2 usually replicates a smoke test's messages within seconds, and a deferral costs
    a trigger start, a requeue and a new worker process (about 4 s here). A trigger that fires within seconds of
    the deferral also meets an Airflow 3.3 scheduler race (apache/airflow#72716, #71580): the stale "success"
    of the worker that deferred is read after the resumed try is queued or running, and the try is failed
    with "state mismatch" and no log. The DAG gives this sensor a retry for that case.

    :param prometheus_conn_id: the ``http`` connection of Prometheus.
    :param before: samples recorded before production (templated: pass the XCom of that task).
    :param produced: the result of step 1.1 (templated): ``delivered`` and ``finished_ms`` are used.
    :param settings: the run's settings dict (templated); ``poke_interval_s`` and ``defer_after_s`` are used here.
    """

    template_fields: Sequence[str] = ("before", "produced", "settings")

    def __init__(self, *, prometheus_conn_id: str, before: Any, produced: Any,
                 settings: Any, deferrable: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("poke_interval", 5)
        kwargs.setdefault("timeout", 7200)
        if not deferrable:
            kwargs.setdefault("mode", "reschedule")
        super().__init__(**kwargs)
        self.prometheus_conn_id = prometheus_conn_id
        self.before = before
        self.produced = produced
        self.settings = settings
        self.deferrable = deferrable

    def _state(self) -> tuple[str, dict[str, Sample]]:
        from mm2_smoke.hooks import PrometheusHook

        hook = PrometheusHook(self.prometheus_conn_id)
        settings = from_params(self.settings)
        now = {name: hook.query(q) for name, q in replication_queries(settings).items()}
        growth = counter_growth(hook, settings, self.produced["started_ms"] / 1000)
        before = {k: Sample.from_dict(v) for k, v in self.before.items()}
        elapsed = time.time() - self.produced["finished_ms"] / 1000
        state = replication_progress(before, now, self.produced["delivered"], settings, elapsed, growth)
        self._growth = {k: g.to_dict() for k, g in growth.items()}
        return state, now

    def _payload(self, outcome: str, after: dict[str, Any], decided_at_s: float,
                 growth: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"outcome": outcome, "after": after, "before": self.before, "delivered": self.produced["delivered"],
                "growth": growth if growth is not None else getattr(self, "_growth", {}),
                "decided_at_s": decided_at_s,
                "seconds_after_production": round(decided_at_s - self.produced["finished_ms"] / 1000, 3)}

    def poke(self, context: Any) -> PokeReturnValue:
        state, now = self._state()
        self.log.info("replication: %s (%s)", state,
                      ", ".join(f"{k}={s.value if s.ok else s.reason()}" for k, s in now.items()))
        if state == "waiting":
            return PokeReturnValue(is_done=False)
        return PokeReturnValue(is_done=True, xcom_value=self._payload(state, {k: s.to_dict() for k, s in now.items()},
                                                                      time.time()))

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        settings = from_params(self.settings)
        started = time.monotonic()
        while True:
            result = self.poke(context)
            if result.is_done:
                return result.xcom_value
            if time.monotonic() - started + settings.poke_interval_s > settings.defer_after_s:
                break
            time.sleep(settings.poke_interval_s)
        from mm2_smoke.triggers import ReplicationTrigger

        self.log.info("replication: still waiting after %.1f s in the worker: deferring to the triggerer",
                      time.monotonic() - started)
        self.defer(
            trigger=ReplicationTrigger(
                prometheus_conn_id=self.prometheus_conn_id,
                queries=replication_queries(settings),
                before=self.before,
                delivered=self.produced["delivered"],
                production_end_s=self.produced["finished_ms"] / 1000,
                settings=self.settings,
                production_start_s=self.produced["started_ms"] / 1000,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=settings.replication_timeout_s + 120),
        )

    def execute_complete(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        if event.get("status") == "error":
            raise ReplicationTriggerError(f"the replication wait failed: {event.get('message')}")
        return self._payload(event["status"], event["after"], event.get("decided_at_s", time.time()),
                             event.get("growth", {}))
