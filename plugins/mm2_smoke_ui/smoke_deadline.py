"""The DAG's deadline: a run still not finished ``deadline_minutes`` after it was queued alerts through the DAG's
notifier (``AlertNotifier``, kind ``deadline``), from the triggerer (an ``AsyncCallback``).

``deadline_minutes`` is a Param of the run (default ``MM2_SMOKE_DEADLINE_MINUTES``, else 10): Airflow's own
``DAGRUN_QUEUED_AT`` reference takes a fixed interval, so :class:`QueuedPlusParamMinutes` is a custom deadline
reference (registered by the plugin, ``smoke_view_plugin``) that reads the run's conf when the run is created.

The DAG file imports this module when it is parsed: only what the declaration needs is imported at the top; what
evaluating the reference needs (the ORM, the conf's reading in ``view_model``) is imported when it is evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from airflow.sdk.definitions.callback import AsyncCallback
from airflow.sdk.definitions.deadline import BaseDeadlineReference, DeadlineAlert

from mm2_smoke.notifiers import AlertNotifier


@dataclass(frozen=True)
class QueuedPlusParamMinutes(BaseDeadlineReference):
    """The run's ``queued_at`` + its ``deadline_minutes`` (its conf's, else ``default_minutes``).

    :param default_minutes: the Param's default (the DAG file's ``MM2_SMOKE_DEADLINE_MINUTES``, else 10).
    """

    default_minutes: float = 10.0
    required_kwargs: ClassVar[set[str]] = {"dag_id", "run_id"}

    def serialize_reference(self) -> dict[str, Any]:
        return {"reference_type": self.reference_name, "default_minutes": self.default_minutes}

    @classmethod
    def deserialize_reference(cls, reference_data: dict[str, Any]) -> QueuedPlusParamMinutes:
        return cls(default_minutes=float(reference_data.get("default_minutes", 10.0)))

    def _evaluate_with(self, *, session: Any, **kwargs: Any) -> datetime | None:
        from airflow.models import DagRun
        from sqlalchemy import select

        from mm2_smoke.view_model import deadline_minutes

        row = session.execute(select(DagRun.queued_at, DagRun.conf).where(
            DagRun.dag_id == kwargs["dag_id"], DagRun.run_id == kwargs["run_id"])).one_or_none()
        if row is None or row.queued_at is None:
            return None
        return row.queued_at + timedelta(minutes=deadline_minutes(row.conf, self.default_minutes))


def deadline_alert(default_minutes: float) -> DeadlineAlert:
    """The DAG's ``DeadlineAlert``: queued + ``deadline_minutes``, then ``AlertNotifier(kind="deadline")`` in the
    triggerer (it posts to the ``alert_webhook`` connection, or logs)."""
    return DeadlineAlert(reference=QueuedPlusParamMinutes(default_minutes=default_minutes), interval=timedelta(0),
                         callback=AsyncCallback(AlertNotifier, kwargs={"kind": "deadline"}),
                         name="mm2_smoke_not_finished")
