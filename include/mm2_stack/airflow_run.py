"""Running the DAG once on the local stack with ``airflow dags test`` (SQLite, no scheduler): ``make demo``.

Also used by the end-to-end tests, so the demo and the tests run the DAG the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mm2_smoke.dag_layout import DAG_ID
from mm2_stack.config import REPO_ROOT, StackConfig, StackError


def read_env_file(path: Path) -> dict[str, str]:
    """Parse the stack's dotenv file (``KEY='value'`` lines written with shlex quoting)."""
    import shlex

    env = {}
    for line in path.read_text().splitlines():
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        env[key] = shlex.split(raw)[0] if raw else ""
    return env


def merge_env(environ: Mapping[str, str], env_file: Mapping[str, str], runner: Mapping[str, str],
              defaults: Mapping[str, str], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of an Airflow command, by precedence (highest first): ``extra`` (the caller's), ``runner``
    (what makes the run use this Airflow home and this checkout), a variable exported in ``environ`` (set and not
    empty), the stack's ``env_file``, ``defaults``.

    So an exported ``AIRFLOW_CONN_PROMETHEUS`` or ``MM2_SMOKE_REPORT_DIR`` beats the env file and our default.
    """
    exported = {k: v for k, v in environ.items() if v != ""}
    return {**environ, **defaults, **env_file, **exported, **runner, **(extra or {})}


def airflow_env(config: StackConfig, airflow_home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of an Airflow command on the local stack: connections, folders, SQLite home (precedence:
    :func:`merge_env`; an exported variable beats the stack's env file)."""
    if not config.env_file.exists():
        raise StackError("config", f"{config.env_file} is missing: run `make stack-up` first")
    venv_bin = str(Path(sys.executable).parent)
    runner = {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "plugins"), str(REPO_ROOT / "include")]),
        "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
    }
    defaults = {"MM2_SMOKE_REPORT_DIR": str(airflow_home / "reports")}
    return merge_env(os.environ, read_env_file(config.env_file), runner, defaults, extra)


def ensure_db(env: dict[str, str]) -> None:
    """Create (or migrate) the SQLite metadata DB of this Airflow home."""
    done = subprocess.run(["airflow", "db", "migrate"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise StackError("airflow", "`airflow db migrate` failed", (done.stdout + done.stderr)[-3000:])


@dataclass(frozen=True)
class DagRunResult:
    returncode: int
    seconds: float
    output: str
    report: dict | None
    report_path: Path | None


def dags_test(env: dict[str, str], conf: dict | None = None, timeout_s: float = 900) -> DagRunResult:
    """Run the DAG once with ``airflow dags test``; find the report it wrote."""
    reports = Path(env["MM2_SMOKE_REPORT_DIR"])
    before = set(reports.glob("*.json")) if reports.exists() else set()
    argv = ["airflow", "dags", "test", DAG_ID]
    if conf:
        argv[3:3] = ["-c", json.dumps(conf)]
    t0 = time.monotonic()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout_s)
    seconds = time.monotonic() - t0
    new = sorted(set(reports.glob("*.json")) - before, key=lambda p: p.stat().st_mtime) if reports.exists() else []
    path = new[-1] if new else None
    report = json.loads(path.read_text()) if path else None
    return DagRunResult(done.returncode, seconds, done.stdout + done.stderr, report, path)


#: How Airflow refuses a run conf that a Param's schema does not accept (``airflow.sdk.definitions.param``); the
#: schema's dump (jsonschema's words) follows on the next lines.
_AIRFLOW_PARAM_ERROR = re.compile(r"Invalid input for param (\S+): (.+)")


def param_error(output: str, report: Mapping | None) -> str:
    """The one clear Param error of a run, to print last ('' when the Params were valid).

    :param output: what ``airflow dags test`` printed: Airflow's own refusal of the run conf (no report then) is
        ``Invalid input for param <name>: <why>``, buried in a traceback and the schema's dump; its first line is kept.
    :param report: the run's JSON report: the pre-flight's refusal is its ``settings`` check (UNKNOWN, its reason
        naming the Param and the fix).
    """
    for check in (report or {}).get("checks") or []:
        if check.get("name") == "settings" and check.get("status") != "GO":
            return str(check.get("reason") or check.get("evidence") or "invalid Param")
    found = _AIRFLOW_PARAM_ERROR.findall(output)
    if found:
        name, why = found[-1]
        return f"invalid Param: {name}: {why.strip()} (Airflow refused the run conf: see the Param's rule in the DAG)"
    return ""


def _last_words(error: str) -> None:
    """Print ``error`` as the output's last line (stdout flushed first, so it stays last when both go to one place)."""
    if error:
        sys.stdout.flush()
        print(f"error: {error}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mm2_stack.airflow_run",
        description=f"Run the {DAG_ID} DAG once on the local stack (airflow dags test, SQLite) and print "
        "the checklist. Exit 0 on GO, 1 on NOGO/UNKNOWN, 2 when the run could not happen.",
    )
    parser.add_argument("--airflow-home", type=Path, default=REPO_ROOT / ".airflow",
                        help="Airflow home with the SQLite DB, logs and reports (default .airflow/)")
    parser.add_argument("--conf", default="{}", help='run conf (Params) as JSON, e.g. \'{"num_messages": 500}\'')
    args = parser.parse_args(argv)
    try:
        conf = json.loads(args.conf)
    except ValueError as exc:
        print(f"error: --conf is not JSON: {exc}", file=sys.stderr)
        return 2
    try:
        config = StackConfig.from_env()
        args.airflow_home.mkdir(parents=True, exist_ok=True)
        env = airflow_env(config, args.airflow_home.resolve())
        ensure_db(env)
        print(f"running {DAG_ID} with airflow dags test (AIRFLOW_HOME={args.airflow_home})...", flush=True)
        result = dags_test(env, conf)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    error = param_error(result.output, result.report)
    if result.report is None:
        print(result.output[-4000:])
        sys.stdout.flush()
        print(f"error: the DAG run wrote no report (airflow exited {result.returncode})", file=sys.stderr)
        _last_words(error)
        return 2
    md = result.report_path.with_suffix(".md") if result.report_path else None
    if md and md.exists():
        print(md.read_text())
    print(f"verdict: {result.report['verdict']} in {result.seconds:.1f} s (trigger -> checklist, incl. Airflow start)")
    print(f"report: {result.report_path} and {md}")
    _last_words(error)  # the one thing to fix, after the checklist it is a row of
    return 0 if result.report["verdict"] == "GO" else 1


if __name__ == "__main__":
    sys.exit(main())
