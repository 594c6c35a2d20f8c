"""``make soak``: the DAG on a schedule under the real scheduler + triggerer, for an hour or more (not in CI).

A benchmark, not a test: it prints numbers and fails only when a run cannot happen (or with ``--strict``, when a
run is not GO). It starts ``airflow standalone`` on the local stack (as ``make ui`` does) with the DAG scheduled
every minute (``MM2_SMOKE_SCHEDULE``, ``catchup=False``, one active run at a time), lets the scheduler run it
``--runs`` times, and prints:

- runs, GO / NOGO / UNKNOWN (from each run's JSON report), p50/p95 of trigger (``queued_at``) -> checklist end;
- the RSS of every Airflow process (standalone's family) and every stack process, at the start and the end;
- the growth of the metadata DB (SQLite), of the report folder (with its retention: ``MM2_SMOKE_REPORT_KEEP``,
  ``--keep``) and of the test topic's data on both clusters (the source topic and MM2's remote topic).

Uses the stack of ``MM2_STACK_DIR`` / ``MM2_STACK_PORT_OFFSET`` (started when it is not up).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "plugins"), str(REPO / "include"), str(REPO)]

from mm2_smoke import dag_layout as layout  # noqa: E402
from mm2_stack import proc, stack  # noqa: E402
from mm2_stack.airflow_server import AirflowServer  # noqa: E402
from mm2_stack.config import StackConfig  # noqa: E402

MIB = 1024 * 1024


def _t(iso: str | None) -> float | None:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() if iso else None


def du(path: Path) -> int:
    """Bytes under ``path`` (0 when it does not exist)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def topic_bytes(config: StackConfig) -> dict[str, int]:
    """Bytes on disk of the test topic on source and of MM2's remote topic on target (every partition)."""
    n = config.naming
    out = {}
    for cluster, topic in (("source", n.source_topic()), ("target", n.remote_topic(n.source_topic()))):
        data = config.run_dir / cluster / "data"
        out[f"{cluster} {topic}"] = sum(du(d) for d in data.glob(f"{topic}-*") if d.is_dir()) if data.exists() else 0
    return out


def rss(server: AirflowServer, config: StackConfig) -> dict[str, float]:
    """RSS (MiB) of every stack process and of Airflow's long-lived processes (by command), summed per name."""
    out: dict[str, float] = {}
    for part in proc.PARTS:
        pid = proc.running_pid(config, part)
        if pid:
            try:
                p = psutil.Process(pid)
                out[f"stack {part}"] = sum(q.memory_info().rss for q in [p, *p.children(recursive=True)]) / MIB
            except psutil.NoSuchProcess:
                pass
    server._remember_family()
    for p in list(server._family.values()):
        try:
            cmd = " ".join(p.cmdline()[:4])
            mem = p.memory_info().rss / MIB
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        name = next((c for c in ("scheduler", "triggerer", "dag-processor", "api-server", "api_server", "standalone")
                     if c in cmd), "task/other")
        out[f"airflow {name}"] = out.get(f"airflow {name}", 0.0) + mem
    return {k: round(v, 1) for k, v in sorted(out.items())}


def finished_runs(server: AirflowServer) -> list[dict]:
    """Every finished scheduled run of the DAG, oldest first."""
    runs: list[dict] = []
    while True:
        body = server.api("GET", f"/api/v2/dags/{server.dag_id}/dagRuns",
                          params={"limit": 100, "offset": len(runs), "state": ["success", "failed"]})
        runs += body["dag_runs"]
        if not body["dag_runs"] or len(runs) >= body["total_entries"]:
            break
    runs.sort(key=lambda r: r.get("run_after") or r.get("queued_at") or "")
    return [r for r in runs if r.get("run_type") == "scheduled"]


def checklist_seconds(server: AirflowServer, run: dict) -> float | None:
    from tests.support.airflow_api import AirflowApi

    tis = {t["task_id"]: t for t in AirflowApi(server).task_instances(run["dag_run_id"])}
    end, start = _t((tis.get(layout.CHECKLIST.id) or {}).get("end_date")), _t(run.get("queued_at")
                                                                              or run.get("start_date"))
    return round(end - start, 2) if end and start else None


def verdicts(report_dir: Path) -> dict[str, str]:
    out = {}
    for j in report_dir.glob("*.json"):
        try:
            r = json.loads(j.read_text())
            out[r["run_id"]] = r["verdict"]
        except (ValueError, KeyError):
            continue
    return out


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/soak.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=60, help="scheduled runs to wait for (default 60: an hour)")
    parser.add_argument("--schedule", default="* * * * *", help="the DAG's schedule (default every minute)")
    parser.add_argument("--keep", type=int, default=20,
                        help="report retention for the soak (MM2_SMOKE_REPORT_KEEP; default 20, so the folder's "
                             "growth stops after 20 runs)")
    parser.add_argument("--port", type=int, default=18380, help="the API server port (and +1, +2)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a run is not GO")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.keep < 0:
        parser.error("--runs must be >= 1 and --keep >= 0")
    config = StackConfig.from_env()
    stack.up(config)
    home = Path(tempfile.mkdtemp(prefix="mm2-soak-"))
    reports = home / "reports"
    extra = {"MM2_SMOKE_SCHEDULE": args.schedule, "MM2_SMOKE_REPORT_DIR": str(reports),
             "MM2_SMOKE_REPORT_KEEP": str(args.keep)}
    t0 = time.monotonic()
    all_verdicts: dict[str, str] = {}
    with AirflowServer(config, home, args.port, schedule=True, extra_env=extra) as server:
        print(f"soak: airflow standalone on {server.url} (home {home}), schedule {args.schedule!r}, "
              f"{args.runs} runs", flush=True)
        start = {"rss": rss(server, config), "db": du(home / "airflow.db"), "reports": du(reports),
                 "topics": topic_bytes(config)}
        server.unpause()
        seen: set[str] = set()
        seconds: dict[str, float] = {}
        deadline = time.monotonic() + args.runs * 60 * 3 + 600
        runs: list[dict] = []
        while len(seen) < args.runs:
            if time.monotonic() > deadline:
                print(f"soak: only {len(seen)} runs finished before the deadline", flush=True)
                break
            if not server.alive():
                print("soak: airflow standalone exited:\n" + server.log_tail(), flush=True)
                return 2
            runs = finished_runs(server)
            all_verdicts.update(verdicts(reports))  # before retention deletes the older reports
            for run in runs:
                if run["dag_run_id"] in seen:
                    continue
                seen.add(run["dag_run_id"])
                s = checklist_seconds(server, run)
                if s is not None:
                    seconds[run["dag_run_id"]] = s
                print(f"run {len(seen)}/{args.runs} {run['dag_run_id']}: {run['state']}, "
                      f"{all_verdicts.get(run['dag_run_id'], 'report pending')}, checklist at {s} s "
                      f"[{time.monotonic() - t0:.0f} s]", flush=True)
            time.sleep(5)
        server.api("PATCH", f"/api/v2/dags/{server.dag_id}", {"is_paused": True})
        time.sleep(2)
        all_verdicts.update(verdicts(reports))
        end = {"rss": rss(server, config), "db": du(home / "airflow.db"), "reports": du(reports),
               "topics": topic_bytes(config)}
    counted = [all_verdicts.get(r, "no report") for r in sorted(seen)]
    tally = {v: counted.count(v) for v in sorted(set(counted))}
    values = list(seconds.values())
    print(f"\nsoak: {len(seen)} scheduled runs in {time.monotonic() - t0:.0f} s: " +
          ", ".join(f"{k} {v}" for k, v in tally.items()))
    if values:
        print(f"trigger -> checklist: p50 {statistics.median(values):.2f} s, p95 {pct(values, 0.95):.2f} s, "
              f"max {max(values):.2f} s")
    print(f"\n  {'process RSS (MiB)':<32} {'start':>8} {'end':>8} {'change':>8}")
    for name in sorted(set(start["rss"]) | set(end["rss"])):
        a, b = start["rss"].get(name), end["rss"].get(name)
        change = f"{(b - a) / a * 100:+.0f}%" if a and b else ""
        print(f"  {name:<32} {a or 0:>8.1f} {b or 0:>8.1f} {change:>8}")
    print(f"\n  {'growth (bytes)':<40} {'start':>12} {'end':>12} {'per run':>10}")
    rows = [("metadata DB (SQLite)", start["db"], end["db"]),
            (f"report folder (keep {args.keep})", start["reports"], end["reports"]),
            *((f"topic {k}", start["topics"].get(k, 0), v) for k, v in end["topics"].items())]
    for name, a, b in rows:
        print(f"  {name:<40} {a:>12} {b:>12} {(b - a) / max(len(seen), 1):>10.0f}")
    print(f"  report files on disk: {len(list(reports.glob('*.json')))} JSON (retention {args.keep})")
    print(f"home kept for inspection: {home}")
    return 1 if args.strict and set(tally) - {"GO"} else 0


if __name__ == "__main__":
    sys.exit(main())
