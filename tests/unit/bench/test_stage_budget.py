"""The stage budget's arithmetic (bench/stage_budget.py): seconds from the trigger to each stage's end."""

from __future__ import annotations

import importlib.util

from mm2_smoke import dag_layout as layout
from mm2_stack.config import REPO_ROOT

_spec = importlib.util.spec_from_file_location("stage_budget", REPO_ROOT / "bench" / "stage_budget.py")
stage_budget = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stage_budget)  # type: ignore[union-attr]


def _ti(ref, start: str, end: str, state: str = "success") -> dict:
    return {"task_id": ref.id, "start": f"2026-12-02T10:00:{start}+00:00", "end": f"2026-12-02T10:00:{end}+00:00",
            "state": state}


def test_a_pre_flight_stop_has_no_step_times_and_its_nogo_ranked_time() -> None:
    tis = [_ti(layout.PREFLIGHT, "03", "04"), _ti(layout.CHECKLIST, "05", "06"), _ti(layout.NOGO, "08", "09")]
    b = stage_budget.budget("2026-12-02T10:00:00+00:00", tis)
    assert b["pre-flight"] == 4.0 and b["checklist"] == 6.0 and b["NOGO ranked with its first cause"] == 9.0
    assert b["1.1 production + arrivals"] is None and b["1.2 replication confirmed"] is None
    assert b["airflow gaps between stages"] == 3.0 + 1.0 + 2.0


def test_a_go_run_has_no_nogo_time_though_its_skipped_task_has_dates() -> None:
    tis = [_ti(layout.CHECKLIST, "20", "21"), _ti(layout.NOGO, "22", "22", "skipped")]
    assert stage_budget.budget("2026-12-02T10:00:00+00:00", tis)["NOGO ranked with its first cause"] is None
