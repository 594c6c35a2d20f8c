"""The checklist task's extra link: the run's smoke-test report in Airflow's UI (the view's page)."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperatorLink

from mm2_smoke.dag_layout import view_url


class SmokeReportLink(BaseOperatorLink):
    """"Smoke test report": the run's page of the ``/mm2-smoke`` view (computed by the worker when the task ends, as
    Airflow 3 does for every extra link, and kept in the task's XCom)."""

    name = "Smoke test report"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        return view_url(ti_key.dag_id, ti_key.run_id)
