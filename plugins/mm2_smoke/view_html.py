"""The smoke-test view's pages: plain HTML with inline CSS and server-rendered SVG charts (no script, no asset fetched
from anywhere). Pure: data in (a report, the history rows, the trends of ``view_model``), a string out.

Every part a reader or a test looks for carries an ``id`` or a ``data-*`` attribute: ``#verdict`` (the banner, with
``data-verdict``), ``#checklist`` (rows ``data-step``), ``#checks`` (rows ``data-check``), ``#counts``, ``#diagnoses``
(rows ``data-rank``), ``#preflight``, ``#failover`` (the failover readiness, ``data-verdict``; rows ``data-flow``),
``#history`` (rows ``data-run-id``, their failover cell ``td.failover``), ``svg.trend`` (``data-metric``; points
``circle[data-run-id]``, the threshold ``polyline.threshold``).
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

from mm2_smoke.flow_report import readiness_of, unchecked_flows
from mm2_smoke.registry import fmt
from mm2_smoke.report import checklist_rows, reread_words, synced_words
from mm2_smoke.view_model import HistoryRow, Trend

COLORS = {"GO": "#1a7f37", "NOGO": "#cf222e", "UNKNOWN": "#9a6700", "READY": "#1a7f37", "NOT READY": "#cf222e",
          "": "#6e7781"}
STYLE = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:16px;color:#1f2328;background:#fff}
h1{font-size:20px;margin:0 0 8px} h2{font-size:16px;margin:22px 0 8px;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;width:100%;margin:4px 0} th,td{border:1px solid #d0d7de;padding:4px 6px;
text-align:left;vertical-align:top} th{background:#f6f8fa} code{font-size:12px;word-break:break-all}
.banner{padding:14px 18px;border-radius:6px;color:#fff;font-size:22px;font-weight:600;margin-bottom:10px}
.banner small{display:block;font-size:13px;font-weight:400;opacity:.95}
.st{font-weight:600} .st-GO{color:#1a7f37} .st-NOGO{color:#cf222e} .st-UNKNOWN{color:#9a6700}
.st-READY{color:#1a7f37} .st-NOT-READY{color:#cf222e}
.muted{color:#6e7781} nav a{margin-right:14px} .charts{display:flex;flex-wrap:wrap;gap:12px}
.counts td{text-align:right} .empty{padding:10px;background:#f6f8fa;border-radius:6px}
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _st(status: Any) -> str:
    s = str(status or "")
    return f'<span class="st st-{_e(s.replace(" ", "-"))}">{_e(s)}</span>'


def page(title: str, body: str) -> str:
    """A whole HTML page."""
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f"<style>{STYLE}</style></head><body>{body}</body></html>")


def run_path(prefix: str, dag_id: str, run_id: str) -> str:
    """The run view's path under the app's mount ``prefix`` (``/mm2-smoke``)."""
    return f"{prefix}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def dag_path(prefix: str, dag_id: str) -> str:
    """The DAG view's path under the app's mount ``prefix``."""
    return f"{prefix}/dags/{quote(dag_id, safe='')}"


def banner(report: dict[str, Any]) -> str:
    """The verdict first: colour, verdict, the runbook's conclusion, the first failed check and the first cause."""
    verdict = str(report.get("verdict", ""))
    end = {"GO": "GO pour Phase 2", "NOGO": "NOGO - diagnostic requis",
           "UNKNOWN": "UNKNOWN - could not measure, diagnostic requis"}.get(verdict, verdict)
    first = next(iter(report.get("failed_checks") or []), None)
    lines = [f"Started {_e(report.get('started_at'))}, verdict at {_e(report.get('finished_at'))}"]
    if first:
        lines.append(f"First: {_e(first['step'])} {_e(first['name'])}: {_e(first['status'])} "
                     f"{_e(first.get('reason') or '')}")
    top = next(iter(report.get("diagnoses") or []), None)
    if top:
        lines.append(f"Most likely cause: {_e(top.get('cause'))} &mdash; action: {_e(top.get('action'))}")
    small = "".join(f"<small>{line}</small>" for line in lines)
    return (f'<div id="verdict" class="banner" data-verdict="{_e(verdict)}" style="background:'
            f'{COLORS.get(verdict, COLORS[""])}">Verdict: {_e(verdict)} &mdash; Phase 1 : {_e(end)}{small}</div>')


def run_body(report: dict[str, Any], *, prefix: str, airflow_run_url: str, json_url: str) -> str:
    """The body of a run's view: banner, the runbook's checklist, counts, diagnoses, every check, the pre-flight,
    notes; the same content as the Markdown report."""
    dag_id, run_id = str(report.get("dag_id", "")), str(report.get("run_id", ""))
    out = [banner(report),
           f'<nav><a href="{_e(dag_path(prefix, dag_id))}" target="_top">History and trends of {_e(dag_id)}</a>'
           f'<a href="{_e(airflow_run_url)}" target="_top">The run in Airflow</a>'
           f'<a href="{_e(json_url)}">JSON</a></nav>',
           f"<h1>Checklist Phase 1 &mdash; {_e(run_id)}</h1>",
           '<table id="checklist"><tr><th>Étape</th><th>Résultat</th><th>Notes</th></tr>']
    blocks = report.get("flows") or []
    if len(blocks) > 1:  # one checklist per flow
        out.pop()
        for block in blocks:
            out.append(f'<h2 data-flow="{_e(block["flow"])}">Flow {_e(block["flow"])} {_st(block["verdict"])} '
                       f'&mdash; remote topic {_e(block["remote_topic"])}</h2>'
                       f'<table class="checklist" data-flow="{_e(block["flow"])}"><tr><th>Étape</th><th>Résultat</th>'
                       "<th>Notes</th></tr>")
            for step, status, notes in checklist_rows(block):
                out.append(f'<tr data-step="{_e(step)}"><td>{_e(step)}</td><td>{_st(status)}</td><td>{_e(notes)}</td>'
                           "</tr>")
            out.append("</table>")
    else:
        for step, status, notes in checklist_rows(report):
            out.append(f'<tr data-step="{_e(step)}"><td>{_e(step)}</td><td>{_st(status)}</td><td>{_e(notes)}</td>'
                       "</tr>")
        out.append("</table>")
    out.append(failover_html(report))
    counts = report.get("counts") or {}
    names = ("produced", "delivered", "received", "missing", "duplicates", "foreign")
    out.append('<h2>Counts</h2><table id="counts" class="counts"><tr>'
               + "".join(f"<th>{n}</th>" for n in names) + "</tr><tr>"
               + "".join(f'<td data-count="{n}">{_e(fmt(counts.get(n)))}</td>' for n in names) + "</tr></table>")
    diagnoses = report.get("diagnoses")
    if diagnoses:
        out.append('<h2>Diagnosis (most likely cause first)</h2><table id="diagnoses"><tr><th>#</th><th>symptom</th>'
                   "<th>cause</th><th>evidence</th><th>action</th></tr>")
        for i, d in enumerate(diagnoses, 1):
            out.append(f'<tr data-rank="{i}"><td>{i}</td><td>{_e(d.get("symptom"))}</td><td>{_e(d.get("cause"))}'
                       f'</td><td>{_e(d.get("evidence"))}</td><td>{_e(d.get("action"))}</td></tr>')
        out.append("</table>")
    elif report.get("verdict") != "GO":
        out.append('<h2>Diagnosis</h2><p id="diagnoses" class="empty">The diagnosis has not been recorded for this '
                   "run (the <code>nogo</code> task did not push its report).</p>")
    out.append('<h2>Checks</h2><table id="checks"><tr><th>step</th><th>check</th><th>value</th><th>GO when</th>'
               "<th>status</th><th>reason</th><th>evidence</th></tr>")
    for c in report.get("checks") or []:
        out.append(f'<tr data-check="{_e(c.get("name"))}"><td>{_e(c.get("step"))}</td><td>{_e(c.get("name"))}</td>'
                   f'<td>{_e(fmt(c.get("value")))}</td><td>{_e(c.get("threshold"))}</td><td>{_st(c.get("status"))}'
                   f'</td><td>{_e(c.get("reason") or "")}</td><td><code>{_e(c.get("evidence"))}</code></td></tr>')
    out.append("</table>")
    flight = report.get("preflight")
    if flight:
        seconds = flight.get("seconds")
        out.append(f'<h2>Pre-flight</h2><div id="preflight"><p>{_st(flight.get("status"))} in '
                   f'{_e(fmt(seconds, " s"))} (metric profile {_e(flight.get("metric_profile"))}; store lag '
                   f'{_e(fmt(flight.get("store_lag_s"), " s"))})</p><ul>')
        out += [f"<li>{_e(f.get('check'))}: {_st(f.get('status'))}: {_e(f.get('message'))}</li>"
                for f in flight.get("findings") or []]
        out.append("</ul></div>")
    if report.get("notes"):
        out.append('<h2>Notes</h2><ul id="notes">' + "".join(f"<li>{_e(n)}</li>" for n in report["notes"]) + "</ul>")
    if report.get("tls"):
        out.append('<h2>Connections (TLS)</h2><ul>' + "".join(f"<li>{_e(t)}</li>" for t in report["tls"]) + "</ul>")
    files = report.get("report_files") or {}
    if files:
        out.append(f'<p class="muted">Files on the worker: {_e(files.get("json"))}, {_e(files.get("markdown"))}</p>')
    return "".join(out)


def failover_html(report: dict[str, Any]) -> str:
    """The "Bascule / failover" block (as the Markdown report's): the run's readiness, each flow's values and why;
    '' when the report has no ``failover``."""
    section = report.get("failover")
    if not section:
        return ""
    verdict = str(section.get("verdict", ""))
    out = [f'<h2>Bascule / failover</h2><div id="failover" data-verdict="{_e(verdict)}"><p>Failover readiness: '
           f"{_st(verdict)} (beside the Phase 1 verdict, which it does not change)</p>"
           "<table><tr><th>flow</th><th>readiness</th><th>would lose</th><th>would re-read</th><th>checkpoint age</th>"
           "<th>heartbeat age</th><th>synced on target</th><th>consumer group</th><th>why</th></tr>"]
    for f in readiness_of(report):
        diagnoses, reasons = f.get("diagnoses") or [], f.get("reasons") or []
        if diagnoses:
            first = diagnoses[0]
            why = (f"<b>{_e(first.get('cause'))}</b><br>evidence: {_e(first.get('evidence'))}<br>action: "
                   f"{_e(first.get('action'))}" + "".join(f"<br>also: {_e(d.get('cause'))}" for d in diagnoses[1:]))
        else:
            why = "<br>".join(_e(r) for r in reasons)
        out.append(f'<tr data-flow="{_e(f.get("flow"))}" data-verdict="{_e(f.get("verdict"))}"><td>{_e(f.get("flow"))}'
                   f'</td><td>{_st(f.get("verdict"))}</td><td>{_e(fmt(f.get("would_lose")))}</td>'
                   f"<td>{_e(reread_words(f))}</td><td>{_e(fmt(f.get('checkpoint_age_s'), ' s'))}</td>"
                   f"<td>{_e(fmt(f.get('heartbeat_age_s'), ' s'))}</td><td>{_e(synced_words(f.get('synced_on_target')))}"
                   f"</td><td><code>{_e(f.get('group') or 'n/a')}</code></td><td>{why}</td></tr>")
    out.append("</table>")
    unchecked = unchecked_flows(report)
    if unchecked:
        out.append(f'<p class="muted">Not checked: {_e(", ".join(unchecked))} (the check is off for it, or it produced '
                   "nothing).</p>")
    return "".join(out) + "</div>"


def no_report_body(dag_id: str, run_id: str, state: str, *, prefix: str, airflow_run_url: str) -> str:
    """A run without a report: not a smoke-test run, or its checklist has not run yet."""
    return (f'<div id="verdict" class="banner" data-verdict="" style="background:{COLORS[""]}">No verdict yet'
            f"<small>Run {_e(run_id)} of {_e(dag_id)} is {_e(state or 'unknown')}: its checklist has not recorded a "
            f"report (or this DAG is not a smoke test).</small></div><nav><a href=\"{_e(dag_path(prefix, dag_id))}\" "
            f'target="_top">History</a><a href="{_e(airflow_run_url)}" target="_top">The run in Airflow</a></nav>')


def _ticks(top: float) -> list[float]:
    return [0.0, top / 2, top]


def trend_svg(trend: Trend, width: int = 560, height: int = 220) -> str:
    """One metric over the runs as an SVG line chart: a point per run (coloured by its verdict, its run id and value
    in a tooltip) and the runbook's threshold as a dashed red line (each run's own threshold)."""
    left, right, top_pad, bottom = 56, 12, 26, 34
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    values = [v for _, v, _ in trend.points] + [t for _, t in trend.thresholds]
    top = max(values) * 1.15 if values and max(values) > 0 else 1.0
    n = len(trend.points)

    def x(i: int) -> float:
        return left + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    def y(v: float) -> float:
        return top_pad + plot_h * (1 - min(max(v, 0.0), top) / top)

    parts = [f'<svg class="trend" data-metric="{_e(trend.key)}" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{_e(trend.title)}">',
             f'<text x="{left}" y="16" font-size="13" font-weight="600">{_e(trend.title)} ({_e(trend.unit)})</text>',
             f'<rect x="{left}" y="{top_pad}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#d0d7de"/>']
    for t in _ticks(top):
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#eaeef2"/>'
                     f'<text x="{left - 6}" y="{y(t) + 4:.1f}" font-size="11" text-anchor="end">{t:.4g}</text>')
    if not trend.points:
        parts.append(f'<text x="{left + plot_w / 2}" y="{top_pad + plot_h / 2}" font-size="12" text-anchor="middle" '
                     'fill="#6e7781">no run measured it yet</text></svg>')
        return "".join(parts)
    limit_of = dict(trend.thresholds)
    if trend.thresholds:
        pts = " ".join(f"{x(i):.1f},{y(limit_of[r]):.1f}" for i, (r, _, _) in enumerate(trend.points) if r in limit_of)
        if n == 1:
            only = limit_of.get(trend.points[0][0])
            pts = f"{left:.1f},{y(only):.1f} {left + plot_w:.1f},{y(only):.1f}" if only is not None else ""
        last = trend.thresholds[-1][1]
        parts.append(f'<polyline class="threshold" data-threshold="{last!r}" points="{pts}" fill="none" '
                     f'stroke="#cf222e" stroke-width="1.5" stroke-dasharray="6 4"/>'
                     f'<text x="{left + plot_w - 4}" y="{y(last) - 5:.1f}" font-size="11" fill="#cf222e" '
                     f'text-anchor="end">GO below {last:g} ({_e(trend.setting)})</text>')
    line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, (_, v, _) in enumerate(trend.points))
    parts.append(f'<polyline class="values" points="{line}" fill="none" stroke="#0969da" stroke-width="1.5"/>')
    for i, (run_id, v, verdict) in enumerate(trend.points):
        parts.append(f'<circle data-run-id="{_e(run_id)}" data-value="{v!r}" cx="{x(i):.1f}" cy="{y(v):.1f}" r="4" '
                     f'fill="{COLORS.get(verdict, COLORS[""])}"><title>{_e(run_id)}: {v:g} {_e(trend.unit)} '
                     f"({_e(verdict or 'no verdict')})</title></circle>")
    parts.append(f'<text x="{left}" y="{height - 10}" font-size="11" fill="#6e7781">{_e(trend.points[0][0][:32])}'
                 f'</text><text x="{left + plot_w}" y="{height - 10}" font-size="11" fill="#6e7781" '
                 f'text-anchor="end">{_e(trend.points[-1][0][:32])} ({n} run{"s" if n != 1 else ""})</text></svg>')
    return "".join(parts)


def _seconds(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1f} s"


def dag_body(dag_id: str, rows: list[HistoryRow], trends: list[Trend], *, prefix: str, airflow_dag_url: str,
             json_url: str) -> str:
    """The body of a DAG's view: the trend charts of the baseline, then the history of runs (newest first)."""
    counts = {v: sum(1 for r in rows if r.verdict == v) for v in ("GO", "NOGO", "UNKNOWN")}
    any_flows = len({r.flow for r in rows if r.flow}) > 1
    out = [f"<h1>MM2 smoke test &mdash; {_e(dag_id)}</h1>",
           f'<nav><a href="{_e(airflow_dag_url)}" target="_top">The DAG in Airflow</a><a href="{_e(json_url)}">JSON</a>'
           f'</nav><p id="summary">{len(rows)} {"rows (a run of several flows has one per flow)" if any_flows else "runs"}: '
           + ", ".join(f"{_st(v)} {n}" for v, n in counts.items())
           + f", no verdict {len(rows) - sum(counts.values())}</p>",
           '<h2>Baseline trends (dashed red: the runbook\'s GO threshold)</h2><div class="charts">',
           *(trend_svg(t) for t in trends), "</div>",
           '<h2>History</h2><table id="history"><tr><th>run</th><th>flow</th><th>state</th><th>verdict</th>'
           "<th>time to verdict</th><th>queued</th><th>first failed check</th><th>most likely cause</th>"
           "<th>failover</th></tr>"]
    for r in rows:
        href = run_path(prefix, dag_id, r.run.run_id)
        out.append(f'<tr data-run-id="{_e(r.run.run_id)}" data-flow="{_e(r.flow)}" data-verdict="{_e(r.verdict)}">'
                   f'<td><a href="{_e(href)}">{_e(r.run.run_id)}</a></td><td>{_e(r.flow or "-")}</td>'
                   f"<td>{_e(r.run.state)}</td><td>{_st(r.verdict) if r.verdict else '-'}"
                   f"</td><td>{_e(_seconds(r.time_to_verdict_s))}</td><td>{_e(r.run.queued_at)}</td>"
                   f"<td>{_e(r.first_failed)}</td><td>{_e(r.first_cause)}</td>"
                   f'<td class="failover" data-failover="{_e(r.failover)}">{_st(r.failover) if r.failover else "—"}'
                   "</td></tr>")
    out.append("</table>")
    if not rows:
        out.append('<p class="empty">No run yet.</p>')
    return "".join(out)


def index_body(dag_ids: list[str], *, prefix: str) -> str:
    """The nav entry's page: the smoke-test DAGs the user may read."""
    items = "".join(f'<li><a href="{_e(dag_path(prefix, d))}">{_e(d)}</a></li>' for d in dag_ids)
    return ("<h1>MM2 smoke tests</h1><p>The DAGs whose runs recorded a smoke-test checklist, and that you may read:</p>"
            f'<ul id="dags">{items or "<li>none yet</li>"}</ul>')
