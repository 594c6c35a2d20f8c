"""Alerting: a Slack-compatible webhook notifier and a log notifier, for the DAG's callbacks."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from airflow.sdk import BaseNotifier

from mm2_smoke.dag_layout import ALERT_CONN, DAG_ID
from mm2_smoke.report import report_dir, safe_name

log = logging.getLogger(__name__)


def run_url(dag_id: str, run_id: str) -> str:
    from urllib.parse import quote

    try:
        from airflow.configuration import conf

        base = conf.get("api", "base_url", fallback="") or "http://localhost:8080"
    except Exception:  # noqa: BLE001 - a link is a convenience, never a reason to lose the alert
        base = "http://localhost:8080"
    return f"{base.rstrip('/')}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def alert_payload(context: dict[str, Any], kind: str = "failure") -> dict[str, Any]:
    """The alert of a run: verdict, failed checks, run id and link, from the run's report when it exists.

    :param kind: ``failure`` or ``success``.
    """
    dag_run = context.get("dag_run")
    dag_id = getattr(dag_run, "dag_id", None) or getattr(context.get("dag"), "dag_id", DAG_ID)
    run_id = getattr(dag_run, "run_id", None) or context.get("run_id") or "unknown-run"
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
    url = run_url(dag_id, run_id)
    lines = [f"MM2 smoke test {verdict}: {dag_id} run {run_id}"]
    lines += [f"- {c['step']} {c['name']}: {c['status']} ({c['reason'] or c['value']})" for c in failed[:10]]
    if not report:
        lines.append(f"- no report was written ({reason or 'the run failed before its checklist'})")
    lines.append(url)
    return {
        "text": "\n".join(lines),
        "verdict": verdict,
        "dag_id": dag_id,
        "run_id": run_id,
        "failed_checks": failed,
        "diagnoses": diagnoses,
        "url": url,
        "report": str(path) if report else None,
    }


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
    """

    def __init__(self, http_conn_id: str = ALERT_CONN, kind: str = "failure") -> None:
        super().__init__()
        self.http_conn_id = http_conn_id
        self.kind = kind

    def notify(self, context: Any) -> None:
        from airflow.sdk import BaseHook

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
