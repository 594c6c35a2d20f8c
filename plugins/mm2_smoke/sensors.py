"""The Airflow side of step 1.2's wait: a sensor that polls in its worker, then defers to the triggerer.

The wait's logic is :mod:`mm2_smoke.step_1_2_replication`'s (:func:`~mm2_smoke.step_1_2_replication.measure`);
this module only schedules it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from mm2_smoke import step_1_2_replication as step
from mm2_smoke.errors import UnavailableError
from mm2_smoke.payloads import ReplicationEvent, ReplicationResult
from mm2_smoke.settings import from_params


class ReplicationSensor(BaseSensorOperator):
    """Wait until MM2 replicated the delivered messages, or until the runbook's NOGO condition holds.

    It does not fail on NOGO: it returns the evidence (:func:`mm2_smoke.step_1_2_replication.result`) for the
    checklist. With ``deferrable=True`` (default) it pokes in the worker for up to the run's ``defer_after_s``
    setting (default 15 s; 0 defers at once, without a check in the worker), then defers to
    :class:`~mm2_smoke.triggers.ReplicationTrigger` and holds no worker slot while waiting; otherwise it pokes in
    ``reschedule`` mode.

    Why not defer at once: MM2 usually replicates a smoke test's messages within seconds, and a deferral costs
    a trigger start, a requeue and a new worker process (seconds). A trigger that fires within seconds of
    the deferral also meets an Airflow 3.3 scheduler race (apache/airflow#72716, #71580): the stale "success"
    of the worker that deferred is read after the resumed try is queued or running, and the try is failed
    with "state mismatch" and no log. The DAG gives this sensor a retry for that case.

    :param prometheus_conn_id: the ``http`` connection of Prometheus.
    :param before: the counters recorded before production (templated: pass the XCom of that task).
    :param produced: the result of step 1.1 (templated): ``delivered``, ``started_ms``, ``finished_ms`` are used.
    :param settings: the run's settings dict (templated).
    """

    template_fields: Sequence[str] = ("before", "produced", "settings")

    def __init__(self, *, prometheus_conn_id: str, settings: Any, before: Any = None, produced: Any = None,
                 deferrable: bool = True, **kwargs: Any) -> None:
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

    def poke(self, context: Any) -> PokeReturnValue:
        from mm2_smoke.hooks import PrometheusHook

        outcome, now, growth = step.measure(PrometheusHook(self.prometheus_conn_id), from_params(self.settings),
                                            self.produced)
        self.log.info("replication: %s (%s)", outcome,
                      ", ".join(f"{k}={s.value if s.ok else s.reason}" for k, s in now.items()))
        if outcome is step.Outcome.WAITING:
            return PokeReturnValue(is_done=False)
        return PokeReturnValue(is_done=True, xcom_value=step.result(outcome, step.as_dicts(now), step.as_dicts(growth),
                                                                    self.before, self.produced, time.time()))

    def _pull_inputs(self, context: Any) -> bool:
        """Mapped over the flows (``before`` and ``produced`` not given): this flow's step 1.1 result and counters
        before production, by the task's map index. False when the flow produced nothing (its step 1.1 failed)."""
        if self.produced is None:
            from mm2_smoke import dag_layout as ids

            ti = context["ti"]
            index = max(ti.map_index, 0)
            self.produced = ti.xcom_pull(task_ids=ids.PRODUCE.id, map_indexes=ti.map_index)
            before = ti.xcom_pull(task_ids=ids.PREFLIGHT.id, key=ids.COUNTERS_BEFORE_KEY)
            self.before = before[index] if isinstance(before, list) and index < len(before) else before
        return bool(self.produced)

    def execute(self, context: Any) -> Any:
        if not self._pull_inputs(context):
            self.log.info("replication: this flow's step 1.1 gave no result: nothing to wait for")
            return None
        if not self.deferrable:
            return super().execute(context)
        settings = from_params(self.settings)
        started = time.monotonic()
        # 0 defers at once: the trigger makes the first check (a check here may already be met, and then there is
        # no wait in the triggerer at all: the tests that need one use 0).
        while settings.defer_after_s > 0:
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
            trigger=ReplicationTrigger(prometheus_conn_id=self.prometheus_conn_id,
                                       settings=step.wait_settings(self.settings), **step.wait_produced(self.produced)),
            method_name="execute_complete",
            timeout=timedelta(seconds=settings.replication_timeout_s + 120),
        )

    def execute_complete(self, context: Any, event: ReplicationEvent) -> ReplicationResult:
        self._pull_inputs(context)
        if event.get("status") == "error":
            raise UnavailableError("the replication wait failed in the triggerer: {message}",
                                   message=event.get("message"))
        return step.result(event["status"], event["after"], event.get("growth", {}), self.before, self.produced,
                           event.get("decided_at_s", time.time()))
