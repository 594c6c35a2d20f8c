"""The Airflow plugin of the smoke-test view: the FastAPI app under ``/mm2-smoke``, its tabs on every DAG run
(``dag_run``) and DAG (``dag``), its nav entry, and the custom deadline reference of the DAG's ``DeadlineAlert``."""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from mm2_smoke.dag_layout import VIEW_PREFIX
from mm2_smoke_ui.smoke_deadline import QueuedPlusParamMinutes


class MM2SmokeViewPlugin(AirflowPlugin):
    """``/mm2-smoke``: each run's report, each DAG's history and baseline trends (``smoke_view_app``)."""

    name = "mm2_smoke_view"
    external_views = [
        {"name": "Smoke test report", "href": VIEW_PREFIX + "/dags/{DAG_ID}/runs/{RUN_ID}", "destination": "dag_run",
         "url_route": "mm2-smoke-report"},
        {"name": "Smoke test history", "href": VIEW_PREFIX + "/dags/{DAG_ID}", "destination": "dag",
         "url_route": "mm2-smoke-history"},
        {"name": "MM2 smoke tests", "href": VIEW_PREFIX + "/", "destination": "nav", "category": "browse",
         "url_route": "mm2-smoke"},
    ]
    deadline_references = [QueuedPlusParamMinutes]

    @property
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        """Imported when the API server asks for it: the other components load the plugin without FastAPI's app."""
        from mm2_smoke_ui.smoke_view_app import app

        return [{"app": app, "url_prefix": VIEW_PREFIX, "name": "MM2 smoke test view"}]
