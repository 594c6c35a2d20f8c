"""The runbook's checklist, filled: a JSON report and its Markdown rendering, one pair per run."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mm2_smoke import registry
from mm2_smoke.checks import Check, Status, combined, overall
from mm2_smoke.flow_report import readiness_of, unchecked_flows
from mm2_smoke.payloads import (
    CountResultDict,
    E2eLatency,
    PreflightReport,
    ProduceResultDict,
    ReplicationResult,
    ReportCounts,
    SmokeReport,
)
from mm2_smoke.registry import fmt

REPORT_DIR_ENV = "MM2_SMOKE_REPORT_DIR"
#: Retention of the report folder: keep the newest N runs' reports (0: every one) ...
REPORT_KEEP_ENV = "MM2_SMOKE_REPORT_KEEP"
REPORT_KEEP_DEFAULT = 500
#: ... and none older than D days (0: no age limit).
REPORT_KEEP_DAYS_ENV = "MM2_SMOKE_REPORT_KEEP_DAYS"


def report_dir() -> Path:
    """``$MM2_SMOKE_REPORT_DIR``, else ``$AIRFLOW_HOME/mm2_smoke_reports`` (``~/airflow`` when unset)."""
    explicit = os.environ.get(REPORT_DIR_ENV)
    if explicit:
        return Path(explicit)
    home = os.environ.get("AIRFLOW_HOME") or str(Path.home() / "airflow")
    return Path(home) / "mm2_smoke_reports"


def safe_name(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("_") or "run"


def build_report(*, dag_id: str, run_id: str, started_at: str, finished_at: str, checks: list[Check],
                 produced: ProduceResultDict | None, count: CountResultDict | None, baseline: dict[str, Any],
                 replication: ReplicationResult | None, settings: dict[str, Any], notes: list[str],
                 tls: list[str] | None = None, preflight: PreflightReport | None = None) -> SmokeReport:
    """The JSON report of one run (plain data: also the XCom and the alert's source).

    :param preflight: the pre-flight's section (``status``, ``findings``, ``seconds``...); None when it did not run.
    """
    verdict = overall(checks)
    stopped = bool(preflight and preflight.get("status") in ("NOGO", "UNKNOWN"))
    replicated: Mapping[str, Any] = replication or {}
    return {
        "dag_id": dag_id,
        "run_id": run_id,
        "verdict": verdict.value,
        "started_at": started_at,
        "finished_at": finished_at,
        "checks": [c.to_dict() for c in checks],
        "failed_checks": [c.to_dict() for c in checks if c.status is not Status.GO],
        "preflight": preflight,
        "counts": _counts(produced or {}, count or {}, stopped),
        "baseline": baseline,
        "e2e_latency_ms": _e2e_latency(produced.get("e2e") if produced else None),
        "replication_outcome": replicated.get("outcome"),
        "replication_decided_s_after_production": replicated.get("seconds_after_production"),
        "settings": settings,
        "notes": notes,
        "tls": tls or [],
    }


def _counts(produced: Mapping[str, Any], count: Mapping[str, Any], stopped: bool) -> ReportCounts:
    """The report's ``counts``, from step 1.1's and step 1.4's results (empty: the step gave none).

    :param stopped: the pre-flight stopped the run (nothing was produced: ``produced`` is 0, not unknown).
    """
    return {
        "produced": produced.get("sent", 0 if stopped else None),
        "delivered": produced.get("delivered"),
        "received": count.get("received"),
        "missing": (max(0, (produced.get("delivered") or 0) - (count.get("received") or 0))
                    if count.get("untagged") else len(count["missing"]) if "missing" in count else None),
        "duplicates": None if count.get("untagged") else len(count["duplicates"]) if "duplicates" in count
        else None,
        "missing_seqs": count.get("missing", [])[:1000],
        "duplicate_seqs": count.get("duplicates", [])[:1000],
        "foreign": count.get("foreign"),
        "achieved_rate_msg_s": produced.get("achieved_rate"),
    }


def _e2e_latency(e2e: Mapping[str, Any] | None) -> E2eLatency:
    """The report's ``e2e_latency_ms`` from step 1.1's watch (None: none ran)."""
    e2e = e2e or {}
    return {"p50": e2e.get("p50"), "p95": e2e.get("p95"), "p99": e2e.get("p99"), "max": e2e.get("max"),
            "count": e2e.get("count")}


def checklist_rows(report: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The runbook's "Checklist Phase 1" rows of a report: ``(step, status, measured values)``, as the registry
    declares them (:data:`mm2_smoke.registry.ROWS`: a row's status is the overall status of its checks, its words
    the row's template then each of its checks' own); the Markdown report and the Airflow view both show these."""
    by_name = {c["name"]: c for c in report["checks"]}
    rows = []
    for row in registry.ROWS:
        names = registry.row_checks(row.label)
        present = [Status(by_name[n]["status"]) for n in names if n in by_name]
        status = combined(present).value if present or not row.status else row.status
        words = [registry.row_words(row.words, report)]
        words += [registry.row_words(registry.BY_NAME[n].words, report) for n in names if registry.BY_NAME[n].words]
        rows.append((row.label, status, "; ".join(w for w in words if w)))
    return rows


def render_markdown(report: SmokeReport) -> str:
    """The runbook's "Checklist Phase 1" with the measured values, then every check with its evidence."""
    checks = report["checks"]
    rows = checklist_rows(report) if len(report.get("flows") or []) <= 1 else []
    verdict = report["verdict"]
    end = {"GO": "GO pour Phase 2", "NOGO": "NOGO - diagnostic requis",
           "UNKNOWN": "UNKNOWN - could not measure, diagnostic requis"}[verdict]
    lines = [
        f"# Checklist Phase 1 — {report['run_id']}",
        "",
        f"**Verdict: {verdict}** — Phase 1 terminée : {end}",
        "",
        f"Started {report['started_at']}, finished {report['finished_at']}.",
        "",
    ]
    blocks = report.get("flows") or []
    if len(blocks) > 1:  # one checklist per flow
        for block in blocks:
            counts = block["counts"]
            lines += [f"## Flow {block['flow']} — {block['verdict']}", "",
                      f"Remote topic `{block['remote_topic']}`; produced {fmt(counts.get('delivered'))}, received "
                      f"{fmt(counts.get('received'))}, missing {fmt(counts.get('missing'))}, duplicates "
                      f"{fmt(counts.get('duplicates'))}.", "",
                      "| Étape | Résultat | Notes |", "|---|---|---|",
                      *(f"| {step} | {status} | {notes} |" for step, status, notes in checklist_rows(block)), ""]
    else:
        lines += ["| Étape | Résultat | Notes |", "|---|---|---|",
                  *(f"| {step} | {status} | {notes} |" for step, status, notes in rows), ""]
    lines += failover_markdown(report)
    lines += ["## Checks", "",
              "| step | check | value | GO when | status | reason | evidence |",
              "|---|---|---|---|---|---|---|"]
    for c in checks:
        evidence = str(c["evidence"]).replace("|", "\\|")
        step = f"{c['flow']} {c['step']}" if c.get("flow") else c["step"]
        lines.append(f"| {step} | {c['name']} | {fmt(c['value'])} | {c['threshold']} | {c['status']} | "
                     f"{c['reason'] or ''} | `{evidence}` |")
    flight = report.get("preflight")
    if flight:
        lines += ["", "## Pre-flight", "",
                  f"**{flight['status']}** in {flight['seconds']:.2f} s (metric profile {flight['metric_profile']}"
                  f"{', detected' if flight.get('profile_detected') else ''}; store lag "
                  f"{fmt(flight.get('store_lag_s'), ' s')})", ""]
        lines += [f"- {f['check']}: {f['status']}: {f['message']}".replace("\n", " ") for f in flight["findings"]]
    if report.get("diagnoses"):
        lines += ["", "## Diagnosis (most likely cause first)", "",
                  "| # | symptom | cause | evidence | action |", "|---|---|---|---|---|"]
        for i, d in enumerate(report["diagnoses"], 1):
            cells = [str(d[k]).replace("|", "\\|").replace("\n", " ") for k in ("symptom", "cause", "evidence", "action")]
            if d.get("flow") and len(report.get("flows") or []) > 1:
                cells[0] = f"{d['flow']}: {cells[0]}"
            lines.append(f"| {i} | " + " | ".join(cells) + " |")
    if report.get("notes"):
        lines += ["", "## Notes", "", *(f"- {n}" for n in report["notes"])]
    if report.get("tls"):
        lines += ["", "## Connections (TLS)", "", *(f"- {t}" for t in report["tls"])]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def reread_words(readiness: Mapping[str, Any]) -> str:
    """``would_reread`` with the bound it is held to, when the result gives it (``9 (at most 100)``)."""
    bound = readiness.get("reread_max")
    return fmt(readiness.get("would_reread")) + (f" (at most {bound})" if bound is not None else "")


def synced_words(synced: Any) -> str:
    """``synced_on_target`` in words (None: MM2 does not sync group offsets, or they were not read)."""
    return "yes" if synced is True else "no" if synced is False else "n/a"


def failover_markdown(report: Mapping[str, Any]) -> list[str]:
    """The "Bascule / failover" block: the run's readiness, then each flow's (verdict, what a switch would lose and
    re-read, checkpoint and heartbeat ages, the group's offsets on the target, the consumer group) and why (its
    diagnoses, the first with its evidence and action; else its reasons). No lines when the report has no
    ``failover`` (the check was off)."""
    section = report.get("failover")
    if not section:
        return []
    lines = ["## Bascule / failover", "",
             f"**Failover readiness: {section['verdict']}** (beside the Phase 1 verdict, which it does not change)", "",
             "| flow | readiness | would lose | would re-read | checkpoint age | heartbeat age | synced on target | "
             "consumer group |", "|---|---|---|---|---|---|---|---|"]
    flows = readiness_of(report)
    for f in flows:
        lines.append(f"| {_cell(f['flow'])} | {f['verdict']} | {fmt(f.get('would_lose'))} | {reread_words(f)} | "
                     f"{fmt(f.get('checkpoint_age_s'), ' s')} | {fmt(f.get('heartbeat_age_s'), ' s')} | "
                     f"{synced_words(f.get('synced_on_target'))} | {_cell(f.get('group') or 'n/a')} |")
    lines.append("")
    for f in flows:
        latency = f.get("checkpoint_latency_ms")
        if latency:
            lines.append(f"- {f['flow']}: MM2's checkpoint-latency-ms avg {fmt(latency.get('avg'), ' ms')}, max "
                         f"{fmt(latency.get('max'), ' ms')} (the checkpoint's write delay, not how stale the "
                         "translation is)")
    if any(f.get("checkpoint_latency_ms") for f in flows):
        lines.append("")
    why: list[str] = []
    for f in flows:
        diagnoses, reasons = f.get("diagnoses") or [], f.get("reasons") or []
        if diagnoses:
            first = diagnoses[0]
            why += [f"- {f['flow']} ({f['verdict']}): most likely cause: {first.get('cause')}. Evidence: "
                    f"{first.get('evidence')}. Action: {first.get('action')}".replace("\n", " ")]
            why += [f"  - also: {d.get('cause')}".replace("\n", " ") for d in diagnoses[1:]]
        elif reasons:
            why += [f"- {f['flow']} ({f['verdict']}): " + "; ".join(str(r) for r in reasons).replace("\n", " ")]
    unchecked = unchecked_flows(report)
    if unchecked:
        why.append(f"- not checked: {', '.join(unchecked)} (the check is off for it, or it produced nothing)")
    return lines + (why + [""] if why else [])


def with_diagnoses(report: SmokeReport, diagnoses: list[dict[str, Any]], seconds: float) -> SmokeReport:
    """The report with the ranked diagnoses of the NOGO path (``symptom``, ``cause``, ``evidence``, ``action``)."""
    return {**report, "diagnoses": diagnoses, "diagnosis_seconds": round(seconds, 3)}


def retention(environ: dict[str, str] | None = None) -> tuple[int, float]:
    """``(keep the newest N runs, keep none older than D days)`` from the environment (0: no limit).

    :raises ValueError: a value that is not a whole number >= 0 (the message names the variable and the fix).
    """
    environ = os.environ if environ is None else environ
    out = []
    for name, default in ((REPORT_KEEP_ENV, REPORT_KEEP_DEFAULT), (REPORT_KEEP_DAYS_ENV, 0)):
        raw = environ.get(name, "").strip()
        try:
            value = int(raw) if raw else default
        except ValueError:
            value = -1
        if value < 0:
            raise ValueError(f"{name}={raw!r} is not a whole number >= 0: set it to N (0 means no limit) or unset it "
                             f"(default {default})")
        out.append(value)
    return out[0], float(out[1])


def prune_reports(directory: Path, keep: int, keep_days: float, *, protect: str = "",
                  now: float | None = None) -> list[str]:
    """Delete the oldest report pairs beyond ``keep`` runs or older than ``keep_days`` (0: no limit); returns the
    names deleted. Only pairs (``<name>.json`` with its ``<name>.md``) are touched, never ``protect`` (the run
    just written), so other files in a shared folder stay."""
    now = time.time() if now is None else now
    pairs = [(j.stat().st_mtime, j.stem) for j in directory.glob("*.json")
             if (directory / (j.stem + ".md")).exists() and j.stem != protect]
    pairs.sort(reverse=True)  # newest first
    limit = max(keep - 1, 0) if keep else len(pairs)  # the protected run counts towards keep
    doomed = {name for _, name in pairs[limit:]}
    if keep_days:
        doomed |= {name for mtime, name in pairs if now - mtime > keep_days * 86400}
    for name in sorted(doomed):
        for suffix in (".json", ".md"):
            (directory / (name + suffix)).unlink(missing_ok=True)
    return sorted(doomed)


def write_report(report: SmokeReport, directory: Path | None = None) -> tuple[Path, Path]:
    """Write ``<run>.json`` and ``<run>.md`` atomically (a reader never sees half a file), then apply the
    folder's retention (``MM2_SMOKE_REPORT_KEEP`` runs, default 500; ``MM2_SMOKE_REPORT_KEEP_DAYS``).

    A bad retention value prunes nothing and raises :class:`ValueError` naming it, after the report is written (so
    the run's report is never lost to a typo in the retention).
    """
    directory = directory or report_dir()
    directory.mkdir(parents=True, exist_ok=True)
    name = safe_name(report["run_id"])
    paths = []
    for suffix, text in ((".json", json.dumps(report, indent=2, sort_keys=False)),
                         (".md", render_markdown(report))):
        path = directory / (name + suffix)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)
        paths.append(path)
    keep, keep_days = retention()
    prune_reports(directory, keep, keep_days, protect=name)
    return paths[0], paths[1]
