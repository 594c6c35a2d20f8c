"""Alerting: a Slack-compatible webhook notifier and a log notifier, for the DAG's callbacks.

The DAG file imports this module when it is parsed (its callbacks and its deadline's are :class:`AlertNotifier`):
what an alert needs beyond the declaration (the report's module, the HTTP clients) is imported when it is sent.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from airflow.sdk import BaseNotifier

from mm2_smoke.dag_layout import ALERT_CONN, DAG_ID, run_url, view_url

log = logging.getLogger(__name__)


def _run_ids(context: dict[str, Any]) -> tuple[str, str]:
    """``(dag_id, run_id)`` from a callback's context: a DagRun object (task and DAG callbacks) or the JSON of one
    (a deadline's callback in the triggerer: ``{"dag_run": {"dag_id", "dag_run_id", ...}}``)."""
    dag_run = context.get("dag_run")
    if isinstance(dag_run, dict):
        return (dag_run.get("dag_id") or DAG_ID, dag_run.get("dag_run_id") or dag_run.get("run_id") or "unknown-run")
    dag_id = getattr(dag_run, "dag_id", None) or getattr(context.get("dag"), "dag_id", DAG_ID)
    return dag_id, getattr(dag_run, "run_id", None) or context.get("run_id") or "unknown-run"


def deadline_payload(context: dict[str, Any]) -> dict[str, Any]:
    """The alert of a run that missed its deadline (still not finished ``deadline_minutes`` after it was queued)."""
    dag_id, run_id = _run_ids(context)
    dag_run = context.get("dag_run") if isinstance(context.get("dag_run"), dict) else {}
    deadline = (context.get("deadline") or {}).get("deadline_time")
    minutes = (dag_run.get("conf") or {}).get("deadline_minutes")
    url = view_url(dag_id, run_id)
    text = (f"MM2 smoke test LATE: {dag_id} run {run_id} is still {dag_run.get('state') or 'not finished'} at its "
            f"deadline {deadline} (queued {dag_run.get('queued_at')}"
            f"{f', deadline_minutes={minutes}' if minutes is not None else ''})\n{url}")
    return {"text": text, "verdict": "LATE", "kind": "deadline", "dag_id": dag_id, "run_id": run_id,
            "state": dag_run.get("state"), "queued_at": dag_run.get("queued_at"), "deadline": str(deadline),
            "failed_checks": [], "diagnoses": [], "flows": [], "url": url, "airflow_url": run_url(dag_id, run_id), "report": None}


def deadline_applies(context: dict[str, Any]) -> bool:
    """False when the run had already finished when its deadline was found missed: Airflow 3.3 drops a run's
    deadlines when it succeeds, not when it fails, so a NOGO run (failed within seconds, already alerted by the
    failure callback) would otherwise be announced LATE ``deadline_minutes`` later."""
    dag_run = context.get("dag_run")
    state = dag_run.get("state") if isinstance(dag_run, dict) else getattr(dag_run, "state", None)
    return str(getattr(state, "value", state) or "").lower() not in ("success", "failed")


def alert_payload(context: dict[str, Any], kind: str = "failure") -> dict[str, Any]:
    """The alert of a run: verdict, failed checks, run id and link (``url``: the run's smoke-test view;
    ``airflow_url``: the run in Airflow), from the run's report when it exists; with the report's failover
    readiness, ``failover`` (:func:`failover_alert`).

    :param kind: ``failure``, ``success`` or ``deadline`` (:func:`deadline_payload`).
    """
    if kind == "deadline":
        return deadline_payload(context)
    from mm2_smoke.report import report_dir, safe_name

    dag_id, run_id = _run_ids(context)
    report: dict[str, Any] | None = None
    path = report_dir() / (safe_name(run_id) + ".json")
    try:
        report = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        report = None
    verdict = report["verdict"] if report else ("GO" if kind == "success" else "FAILED")
    failed = [
        {k: c[k] for k in ("step", "name", "value", "threshold", "status", "reason")}
        for c in (report["failed_checks"] if report else [])
    ]
    diagnoses = report.get("diagnoses", []) if report else []
    reason = context.get("reason") or ""
    url = view_url(dag_id, run_id)
    flows = [{"flow": b["flow"], "verdict": b["verdict"], "counts": {k: b["counts"].get(k) for k in
                                                                     ("delivered", "received", "missing", "duplicates")},
              "first_cause": next((d.get("cause") for d in b.get("diagnoses") or []), None)}
             for b in (report.get("flows") or [] if report else [])]
    lines = [f"MM2 smoke test {verdict}: {dag_id} run {run_id}"]
    if len(flows) > 1:
        lines += [f"- flow {f['flow']}: {f['verdict']}" + (f" ({f['first_cause']})" if f["first_cause"] else "")
                  for f in flows]
    lines += [f"- {c['step']} {c['name']}: {c['status']} ({c['reason'] or c['value']})" for c in failed[:10]]
    if not report:
        lines.append(f"- no report was written ({reason or 'the run failed before its checklist'})")
    failover = failover_alert(report) if report else None
    if failover:
        lines.append(f"- failover readiness: {failover['verdict']}")
        lines += [f"  - {f['flow']}: {f['verdict']}" + (f" ({f['first_cause']})" if f["first_cause"] else "")
                  for f in failover["flows"]]
    lines.append(url)
    return {
        "text": "\n".join(lines),
        "verdict": verdict,
        "dag_id": dag_id,
        "run_id": run_id,
        "failed_checks": failed,
        "diagnoses": diagnoses,
        "flows": flows,
        "url": url,
        "airflow_url": run_url(dag_id, run_id),
        "report": str(path) if report else None,
        **({"failover": failover} if failover else {}),
    }


def failover_alert(report: dict[str, Any]) -> dict[str, Any] | None:
    """The report's failover readiness as the alert gives it: ``{"verdict", "flows": [{"flow", "verdict",
    "first_cause"}]}`` (``first_cause``: the flow's first diagnosis' cause, else its first reason; None when it has
    neither); None when the report has no ``failover``."""
    from mm2_smoke.flow_report import first_cause, readiness_of

    section = report.get("failover")
    if not section:
        return None
    return {"verdict": section.get("verdict"),
            "flows": [{"flow": f.get("flow"), "verdict": f.get("verdict"), "first_cause": first_cause(f) or None}
                      for f in readiness_of(report)]}


def webhook_url(host: str, schema: str | None, port: int | None) -> str:
    """The URL an ``http`` connection names, as the HTTP provider's hook builds it (a host with ``://`` is used as
    it is; else ``<schema or http>://host[:port]``)."""
    if "://" in host:
        return host
    return f"{schema or 'http'}://{host}" + (f":{port}" if port else "")


class _ContextNotifier(BaseNotifier):
    """A notifier whose fields are plain values: no Jinja rendering.

    (Rendering needs the DAG's template environment, which the serialized DAG that runs DAG-level
    callbacks does not have.)
    """

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        return None


class LogNotifier(_ContextNotifier):
    """Write the alert to the log (the fallback when no webhook is configured)."""

    def __init__(self, kind: str = "failure") -> None:
        super().__init__()
        self.kind = kind

    def notify(self, context: Any) -> None:
        payload = alert_payload(context, self.kind)
        level = logging.INFO if self.kind == "success" else logging.ERROR
        log.log(level, "%s", payload["text"])


class WebhookNotifier(_ContextNotifier):
    """POST a Slack-compatible JSON alert (``text`` + structured fields) to an ``http`` connection.

    :param http_conn_id: the connection whose host/schema/port (and extra headers) give the webhook URL.
    :param endpoint: path appended to the connection's base URL (default: none).
    :param kind: ``failure`` or ``success``.
    """

    def __init__(self, http_conn_id: str = ALERT_CONN, endpoint: str = "", kind: str = "failure") -> None:
        super().__init__()
        self.http_conn_id = http_conn_id
        self.endpoint = endpoint
        self.kind = kind

    def notify(self, context: Any) -> None:
        from airflow.providers.http.hooks.http import HttpHook

        payload = alert_payload(context, self.kind)
        hook = HttpHook(method="POST", http_conn_id=self.http_conn_id)
        resp = hook.run(self.endpoint, json=payload, headers={"Content-Type": "application/json"},
                        extra_options={"timeout": 10})
        log.info("alert sent to connection %r: HTTP %s", self.http_conn_id, resp.status_code)


class AlertNotifier(_ContextNotifier):
    """Send the alert to the ``alert_webhook`` connection when it exists, else to the log.

    A webhook that fails is reported in the log with the alert text, so the alert is never lost silently.
    Called (``notify``) by the DAG's callbacks, and awaited (``async_notify``) by a deadline's ``AsyncCallback`` in
    the triggerer, which passes the run's context as ``context``.

    :param kind: ``failure``, ``success`` or ``deadline``.
    :param context: the context of an awaited call (Airflow passes it to the constructor).
    """

    def __init__(self, http_conn_id: str = ALERT_CONN, kind: str = "failure",
                 context: dict[str, Any] | None = None) -> None:
        super().__init__(context=context)  # type: ignore[arg-type]
        self.http_conn_id = http_conn_id
        self.kind = kind

    async def async_notify(self, context: Any) -> None:
        """The same alert, without a blocking call: in the triggerer a synchronous connection lookup (even from a
        thread) stalls the trigger runner's messages (Airflow logs "event loop appears deadlocked"),
        so the connection is read with ``aget_connection`` and the POST sent with ``httpx``'s async client."""
        import time

        import httpx
        from airflow.sdk import BaseHook

        if self.kind == "deadline" and not deadline_applies(context):
            log.info("deadline of %s passed after the run had finished: no alert", _run_ids(context)[1])
            return
        t0 = time.monotonic()
        payload = alert_payload(context, self.kind)
        try:
            conn = await BaseHook.aget_connection(self.http_conn_id)
        except Exception:  # noqa: BLE001 - no webhook configured: log instead
            log.error("%s", payload["text"])
            return
        t_conn = time.monotonic() - t0
        try:
            url = webhook_url(conn.host or "", conn.schema, conn.port)
            headers = {"Content-Type": "application/json", **{str(k): str(v) for k, v in (conn.extra_dejson or {})
                                                               .items() if not isinstance(v, dict | list)}}
            auth = (conn.login, conn.password or "") if conn.login else None
            async with httpx.AsyncClient(timeout=10) as client:
                resp = await client.post(url, json=payload, headers=headers, auth=auth)
            resp.raise_for_status()
            log.info("alert sent to connection %r: HTTP %s (connection read in %.2f s, sent in %.2f s)",
                     self.http_conn_id, resp.status_code, t_conn, time.monotonic() - t0 - t_conn)
        except Exception as exc:  # noqa: BLE001
            log.error("alert webhook %r failed (%s); the alert was:\n%s", self.http_conn_id, exc, payload["text"])

    def notify(self, context: Any) -> None:
        from airflow.sdk import BaseHook

        if self.kind == "deadline" and not deadline_applies(context):
            log.info("deadline of %s passed after the run had finished: no alert", _run_ids(context)[1])
            return
        try:
            BaseHook.get_connection(self.http_conn_id)
        except Exception:  # noqa: BLE001 - no webhook configured: log instead
            LogNotifier(kind=self.kind).notify(context)
            return
        try:
            WebhookNotifier(http_conn_id=self.http_conn_id, kind=self.kind).notify(context)
        except Exception as exc:  # noqa: BLE001
            log.error("alert webhook %r failed (%s); the alert was:", self.http_conn_id, exc)
            LogNotifier(kind=self.kind).notify(context)
