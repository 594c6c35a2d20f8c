"""The smoke-test view's FastAPI app, mounted by Airflow's API server under ``/mm2-smoke`` (``smoke_view_plugin``).

Thin: each route reads the runs and their ``checklist``/``nogo`` XComs from Airflow's metadata database (the API
server's own session: the reports come from Airflow, not from the worker's disk) and hands them to the pure
``mm2_smoke.view_model`` / ``mm2_smoke.view_html``. Every route goes through Airflow's auth: the user comes from the
JWT (the UI's ``_token`` cookie or an ``Authorization: Bearer`` header; none: 401) and must be allowed to read the
DAG's XComs (``requires_access_dag``), as the REST API's XCom routes require.

| route | what |
|---|---|
| ``GET /`` | the smoke-test DAGs the user may read (the nav entry) |
| ``GET /dags/{dag_id}`` | history of runs and baseline trends (HTML) |
| ``GET /dags/{dag_id}/runs/{run_id}`` | the run's report (HTML) |
| ``GET /api/dags/{dag_id}/history?limit=N`` | the same as JSON |
| ``GET /api/dags/{dag_id}/runs/{run_id}`` | the run's report as JSON |

Each answer carries ``Server-Timing: render;dur=<ms>`` (database reads and rendering).
"""

from __future__ import annotations

import time
from typing import Any

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from airflow.models.dagrun import DagRun
from airflow.models.xcom import XComModel
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import and_, or_, select

from mm2_smoke import dag_layout as layout
from mm2_smoke import view_html, view_model
from mm2_smoke.dag_layout import VIEW_PREFIX, run_url

#: The most runs the history reads (the newest ones).
MAX_HISTORY = 500
_SECRETS_TTL_S = 60.0
_secrets_cache: tuple[float, tuple[str, ...]] = (0.0, ())

app = FastAPI(title="MM2 smoke test view", description=__doc__, docs_url=None, redoc_url=None, openapi_url=None)
_CAN_READ = [Depends(requires_access_dag(method="GET", access_entity=DagAccessEntity.XCOM))]
_REPORT_XCOMS = ((layout.CHECKLIST.id, "return_value"), (layout.NOGO.id, layout.NOGO_REPORT_KEY))


def _known_secrets() -> tuple[str, ...]:
    """The Kafka connections' passwords (the login's and the extra's ``sasl.password``), masked wherever they would
    appear in a report; read at most once a minute."""
    global _secrets_cache
    at, cached = _secrets_cache
    if time.monotonic() - at < _SECRETS_TTL_S:
        return cached
    from airflow.models.connection import Connection

    found: list[str] = []
    for conn_id in layout.KAFKA_CONNS + layout.HTTP_CONNS + (layout.ALERT_CONN,):
        try:
            conn = Connection.get_connection_from_secrets(conn_id)
        except Exception:  # noqa: BLE001 - an absent connection has no secret to mask
            continue
        found += [conn.password or ""]
        extra = conn.extra_dejson if isinstance(conn.extra_dejson, dict) else {}
        found += [str(v) for k, v in extra.items() if view_model.SECRET_KEY.search(str(k)) and v]
    _secrets_cache = (time.monotonic(), tuple(s for s in found if s))
    return _secrets_cache[1]


def _iso(value: Any) -> str:
    return value.isoformat() if value is not None else ""


def _run_info(run: DagRun) -> view_model.RunInfo:
    return view_model.RunInfo(run.run_id, str(run.state or ""), _iso(run.queued_at), _iso(run.start_date),
                              _iso(run.end_date), str(run.run_type or ""))


def _reports(session: Any, dag_id: str, run_ids: list[str]) -> dict[str, dict[str, Any] | None]:
    """run id -> its report (``view_model.run_report``) from the checklist's and the nogo task's XComs, one query."""
    if not run_ids:
        return {}
    wanted = or_(*(and_(XComModel.task_id == t, XComModel.key == k) for t, k in _REPORT_XCOMS))
    rows = session.execute(select(XComModel.run_id, XComModel.task_id, XComModel.value).where(
        XComModel.dag_id == dag_id, XComModel.run_id.in_(run_ids), XComModel.map_index == -1, wanted)).all()
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        found.setdefault(row.run_id, {})[row.task_id] = XComModel.deserialize_value(row)
    secrets = _known_secrets()
    return {run_id: view_model.run_report(parts.get(layout.CHECKLIST.id), parts.get(layout.NOGO.id), secrets)
            for run_id, parts in found.items()}


def _prefix(request: Request) -> str:
    return request.scope.get("root_path") or VIEW_PREFIX


def _timed(response: HTMLResponse | JSONResponse, t0: float) -> HTMLResponse | JSONResponse:
    response.headers["Server-Timing"] = f"render;dur={(time.perf_counter() - t0) * 1000:.1f}"
    return response


def _run(session: Any, dag_id: str, run_id: str) -> DagRun:
    run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
    if run is None:
        raise HTTPException(404, f"no run {run_id!r} of DAG {dag_id!r}")
    return run


def _history(session: Any, dag_id: str, limit: int) -> tuple[list[view_model.HistoryRow], list[view_model.Trend]]:
    runs = session.scalars(select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc())
                           .limit(limit)).all()
    infos = [_run_info(r) for r in runs]
    rows = view_model.history(infos, _reports(session, dag_id, [r.run_id for r in infos]))
    return rows, view_model.trends(rows)


@app.get("/", response_class=HTMLResponse)
def index(request: Request, session: SessionDep, user: GetUserDep) -> HTMLResponse:
    """The DAGs with a smoke-test checklist XCom that the user may read."""
    t0 = time.perf_counter()
    dag_ids = session.scalars(select(XComModel.dag_id).where(XComModel.task_id == layout.CHECKLIST.id)
                              .distinct()).all()
    allowed = [d for d in sorted(dag_ids) if get_auth_manager().is_authorized_dag(
        method="GET", access_entity=DagAccessEntity.XCOM, details=DagDetails(id=d), user=user)]
    body = view_html.index_body(allowed, prefix=_prefix(request))
    return _timed(HTMLResponse(view_html.page("MM2 smoke tests", body)), t0)


@app.get("/dags/{dag_id}", response_class=HTMLResponse, dependencies=_CAN_READ)
def dag_view(dag_id: str, request: Request, session: SessionDep,
             limit: int = Query(50, ge=1, le=MAX_HISTORY)) -> HTMLResponse:
    """History of the DAG's newest ``limit`` runs and the baseline's trends."""
    t0 = time.perf_counter()
    rows, trends = _history(session, dag_id, limit)
    prefix = _prefix(request)
    body = view_html.dag_body(dag_id, rows, trends, prefix=prefix, airflow_dag_url=f"/dags/{dag_id}",
                              json_url=f"{prefix}/api/dags/{dag_id}/history?limit={limit}")
    return _timed(HTMLResponse(view_html.page(f"{dag_id}: smoke-test history", body)), t0)


@app.get("/dags/{dag_id}/runs/{run_id}", response_class=HTMLResponse, dependencies=_CAN_READ)
def run_view(dag_id: str, run_id: str, request: Request, session: SessionDep) -> HTMLResponse:
    """The run's report: verdict banner, checklist, counts, diagnoses, checks, pre-flight, notes."""
    t0 = time.perf_counter()
    run = _run(session, dag_id, run_id)
    report = _reports(session, dag_id, [run_id]).get(run_id)
    prefix = _prefix(request)
    airflow = run_url(dag_id, run_id)
    if report is None:
        body = view_html.no_report_body(dag_id, run_id, str(run.state or ""), prefix=prefix, airflow_run_url=airflow)
    else:
        body = view_html.run_body(report, prefix=prefix, airflow_run_url=airflow,
                                  json_url=view_html.run_path(f"{prefix}/api", dag_id, run_id))
    return _timed(HTMLResponse(view_html.page(f"{run_id}: smoke test", body)), t0)


@app.get("/api/dags/{dag_id}/history", dependencies=_CAN_READ)
def history_json(dag_id: str, session: SessionDep, limit: int = Query(50, ge=1, le=MAX_HISTORY)) -> JSONResponse:
    """``{"dag_id", "runs": [HistoryRow...], "trends": [Trend...]}``, newest run first."""
    t0 = time.perf_counter()
    rows, trends = _history(session, dag_id, limit)
    body = {"dag_id": dag_id, "runs": [r.to_dict() for r in rows],
            "trends": [{"key": t.key, "title": t.title, "unit": t.unit, "setting": t.setting,
                        "points": [list(p) for p in t.points], "thresholds": [list(p) for p in t.thresholds]}
                       for t in trends]}
    return _timed(JSONResponse(body), t0)


@app.get("/api/dags/{dag_id}/runs/{run_id}", dependencies=_CAN_READ)
def run_json(dag_id: str, run_id: str, session: SessionDep) -> JSONResponse:
    """``{"run": RunInfo, "report": the report or null}``."""
    t0 = time.perf_counter()
    run = _run(session, dag_id, run_id)
    report = _reports(session, dag_id, [run_id]).get(run_id)
    return _timed(JSONResponse({"run": _run_info(run).__dict__, "report": report}), t0)
