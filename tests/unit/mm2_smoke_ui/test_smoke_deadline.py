"""The DAG's deadline: queued + the run's ``deadline_minutes`` (its conf's, else the Param's default), then the
notifier in the triggerer; and the module stays light for the DAG file that imports it at parse."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[3]
QUEUED = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class _Session:
    """Answers the reference's one query with ``row``."""

    def __init__(self, row) -> None:
        self.row = row

    def execute(self, _statement):
        return SimpleNamespace(one_or_none=lambda: self.row)


@pytest.mark.parametrize(("row", "expected"), [
    (SimpleNamespace(queued_at=QUEUED, conf={"deadline_minutes": 3}), QUEUED + timedelta(minutes=3)),
    (SimpleNamespace(queued_at=QUEUED, conf={}), QUEUED + timedelta(minutes=7.5)),
    (SimpleNamespace(queued_at=QUEUED, conf={"deadline_minutes": "soon"}), QUEUED + timedelta(minutes=7.5)),
    (SimpleNamespace(queued_at=None, conf={}), None),
    (None, None),
])
def test_the_deadline_is_queued_plus_the_runs_minutes(row, expected) -> None:
    from mm2_smoke_ui.smoke_deadline import QueuedPlusParamMinutes

    reference = QueuedPlusParamMinutes(default_minutes=7.5)
    assert reference._evaluate_with(session=_Session(row), dag_id="d", run_id="r") == expected


def test_the_reference_round_trips_with_its_default() -> None:
    from mm2_smoke_ui.smoke_deadline import QueuedPlusParamMinutes

    data = QueuedPlusParamMinutes(default_minutes=4.0).serialize_reference()
    assert QueuedPlusParamMinutes.deserialize_reference(data) == QueuedPlusParamMinutes(default_minutes=4.0)


def test_the_alert_calls_the_notifier_in_the_triggerer() -> None:
    from airflow.sdk.definitions.callback import AsyncCallback
    from mm2_smoke_ui.smoke_deadline import QueuedPlusParamMinutes, deadline_alert

    alert = deadline_alert(6.0)
    assert alert.reference == QueuedPlusParamMinutes(default_minutes=6.0)
    assert alert.interval == timedelta(0)
    assert isinstance(alert.callback, AsyncCallback)
    assert alert.callback.path == "mm2_smoke.notifiers.AlertNotifier"
    assert alert.callback.kwargs == {"kind": "deadline"}


def test_declaring_the_deadline_imports_nothing_it_only_needs_when_evaluated_or_sending() -> None:
    # The DAG file imports this module at parse: the conf's reading (view_model) and the report are imported when
    # the deadline is evaluated or the alert sent.
    code = ("import sys, mm2_smoke_ui.smoke_deadline; "
            "print(' '.join(m for m in ('mm2_smoke.view_model', 'mm2_smoke.report') if m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'plugins'}:{REPO / 'include'}"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == ""
