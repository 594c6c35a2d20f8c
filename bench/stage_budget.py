"""``make budget``: where the seconds of a healthy smoke-test run go, stage by stage.

A benchmark, not a test: it prints numbers and never fails on one (only when a run cannot happen). It runs the DAG
at the runbook's defaults on the local stack, ``--runs`` times each way:

- under the scheduler + triggerer (``airflow standalone``, as ``make ui`` runs it), triggered through the REST API;
- under ``airflow dags test`` (as ``make demo`` runs it).

and prints, per stage, the seconds from the trigger (the run's ``queued_at``; ``dags test``: its start) to the end
of: the pre-flight, production (step 1.1, which also waits for the messages on the target), replication confirmed
(step 1.2), step 1.3, step 1.4 and the checklist, with the median over the runs, and what the Airflow machinery
took between them (a task's queue/start delay: its start minus the end of the task before it).

Uses the stack of ``MM2_STACK_DIR`` / ``MM2_STACK_PORT_OFFSET`` (started when it is not up).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "plugins"), str(REPO / "include"), str(REPO)]

from mm2_smoke import dag_layout as layout  # noqa: E402
from mm2_stack import faults, stack  # noqa: E402
from mm2_stack.airflow_run import airflow_env, dags_test, ensure_db  # noqa: E402
from mm2_stack.airflow_server import AirflowServer  # noqa: E402
from mm2_stack.config import StackConfig  # noqa: E402

#: The stages, each ended by a task (its end date).
STAGES = (("pre-flight", layout.PREFLIGHT), ("1.1 production + arrivals", layout.PRODUCE),
          ("1.2 replication confirmed", layout.REPLICATION), ("1.3 latency", layout.LATENCY),
          ("1.4 count on target", layout.COUNT), ("checklist", layout.CHECKLIST),
          ("NOGO ranked with its first cause", layout.NOGO))
#: The states of a task that did not run (a skipped task still has dates: the skip's): no time for its stage.
NOT_RUN = (None, "skipped", "upstream_failed", "removed")

_DB_QUERY = """
import json
from airflow.utils.session import create_session
from airflow.models import DagRun, TaskInstance
with create_session() as s:
    run = s.query(DagRun).filter(DagRun.dag_id == {dag!r}).order_by(DagRun.id.desc()).first()
    tis = s.query(TaskInstance).filter(TaskInstance.dag_id == run.dag_id, TaskInstance.run_id == run.run_id).all()
    print(json.dumps({{"queued_at": (run.queued_at or run.start_date).isoformat(),
                      "tis": [{{"task_id": t.task_id, "start": t.start_date and t.start_date.isoformat(),
                               "end": t.end_date and t.end_date.isoformat(), "state": t.state}} for t in tis]}}))
"""


def _t(iso: str | None) -> float | None:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() if iso else None


def budget(queued_at: str, tis: list[dict]) -> dict[str, float | None]:
    """Seconds from the trigger to the end of each stage, and the Airflow gaps (task start - previous task end)."""
    t0 = _t(queued_at)
    by = {t["task_id"]: t for t in tis}
    out: dict[str, float | None] = {}
    previous_end = t0
    gaps = 0.0
    for name, ref in STAGES:
        ti = by.get(ref.id) or {}
        if ti.get("state") in NOT_RUN:
            ti = {}
        start, end = _t(ti.get("start")), _t(ti.get("end"))
        out[name] = round(end - t0, 2) if end and t0 else None
        if start and previous_end:
            gaps += max(0.0, start - previous_end)
        previous_end = end or previous_end
    out["airflow gaps between stages"] = round(gaps, 2)
    return out


def under_scheduler(config: StackConfig, runs: int, port: int, conf: dict | None = None
                    ) -> list[dict[str, float | None]]:
    from tests.support.airflow_api import AirflowApi

    out = []
    with tempfile.TemporaryDirectory(prefix="mm2-budget-") as home, AirflowServer(config, Path(home), port) as server:
        api = AirflowApi(server)
        server.unpause()
        for i in range(runs):
            run_id = api.trigger(conf or {})
            state = api.wait_for_run(run_id, timeout_s=600)
            run = api.dag_run(run_id)
            tis = [{"task_id": t["task_id"], "start": t.get("start_date"), "end": t.get("end_date"),
                    "state": t.get("state")}
                   for t in api.task_instances(run_id)]
            out.append(budget(run.get("queued_at") or run["start_date"], tis))
            print(f"scheduler run {i + 1}/{runs}: {state}, checklist at {out[-1]['checklist']} s", flush=True)
    return out


def under_dags_test(config: StackConfig, runs: int, conf: dict | None = None) -> list[dict[str, float | None]]:
    out = []
    with tempfile.TemporaryDirectory(prefix="mm2-budget-") as home:
        env = airflow_env(config, Path(home))
        ensure_db(env)
        for i in range(runs):
            result = dags_test(env, conf)
            q = subprocess.run([sys.executable, "-c", _DB_QUERY.format(dag=layout.DAG_ID)], env=env,
                               capture_output=True, text=True, check=True)
            row = json.loads(q.stdout.strip().splitlines()[-1])
            b = budget(row["queued_at"], row["tis"])
            b["whole command (incl. Airflow start)"] = round(result.seconds, 2)
            out.append(b)
            verdict = result.report["verdict"] if result.report else "no report"
            print(f"dags test run {i + 1}/{runs}: {verdict}, checklist at {b['checklist']} s", flush=True)
    return out


def table(title: str, rows: list[dict[str, float | None]]) -> str:
    lines = [f"\n{title} (seconds from the trigger; median of {len(rows)} run(s), then each run)"]
    for key in rows[0]:
        values = [r[key] for r in rows]
        known = [v for v in values if v is not None]
        median = f"{statistics.median(known):7.2f}" if known else "    n/a"
        lines.append(f"  {key:<38} {median}   " + "  ".join("n/a" if v is None else f"{v:.2f}" for v in values))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/stage_budget.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs each way (default 3)")
    parser.add_argument("--port", type=int, default=18280, help="the scheduler's API server port (and +1, +2)")
    parser.add_argument("--only", choices=("scheduler", "dags-test"), help="one way only")
    parser.add_argument("--conf", type=json.loads, default={},
                        help='the runs\' conf as JSON, e.g. \'{"metric_profile": "strimzi"}\' on the runbook-rules stack: '
                        "a pre-flight stop (trigger -> UNKNOWN with the missing series named)")
    parser.add_argument("--fault", help="a fault of the stack (mm2_stack.faults, e.g. connector-paused) injected before "
                        "the runs and healed after: a certain fault's time to its verdict and first cause")
    args = parser.parse_args(argv)
    config = StackConfig.from_env()
    stack.up(config)
    results = []
    if args.fault:
        faults.inject(config, args.fault)
    try:
        if args.only != "dags-test":
            results.append(table("under the scheduler + triggerer",
                                 under_scheduler(config, args.runs, args.port, args.conf)))
        if args.only != "scheduler":
            results.append(table("under airflow dags test", under_dags_test(config, args.runs, args.conf)))
    finally:
        if args.fault:
            faults.heal(config, args.fault)
    print("\n".join(results))
    print("\ngoal (issue 15): trigger -> checklist <= 20 s under the scheduler at the runbook's defaults "
          "(100 messages at 10/s: production alone takes 10 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
