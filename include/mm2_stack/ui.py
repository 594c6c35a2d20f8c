"""Airflow's UI on the local stack: ``airflow standalone`` on SQLite, in the foreground (``make ui``).

``python -m mm2_stack.ui`` starts :class:`mm2_stack.airflow_server.AirflowServer` with the stack's connections,
unpauses the DAG (unless ``--paused``), prints the URLs and the login, and stops every Airflow process on Ctrl-C.

Ports: the API server listens on 127.0.0.1:``18080 + MM2_STACK_PORT_OFFSET``; the log servers of the scheduler
and the triggerer on the next two ports.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from mm2_stack.airflow_rest import AirflowApiError
from mm2_stack.airflow_run import DAG_ID
from mm2_stack.airflow_server import PASSWORDS_FILE, AirflowServer, port_offset
from mm2_stack.config import REPO_ROOT, StackConfig, StackError

UI_PORT = 18080  # + MM2_STACK_PORT_OFFSET
DEFAULT_HOME = REPO_ROOT / ".airflow" / "ui"


def default_port(config: StackConfig) -> int:
    """The API server (UI) port of ``make ui``: 18080 + ``MM2_STACK_PORT_OFFSET``.

    :param config: the stack's settings.
    """
    return UI_PORT + port_offset(config)


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mm2_stack.ui``: run Airflow in the foreground until Ctrl-C; return the exit code.

    :param argv: the command line's arguments (default ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(
        prog="python -m mm2_stack.ui",
        description="Airflow's UI on the local stack (`make ui`): airflow standalone (scheduler, triggerer, "
        "dag-processor, API server) on SQLite with the stack's connections, in the foreground until Ctrl-C. "
        "Prints the URL and the login. Exit 0 after Ctrl-C, 1 if Airflow died, 2 if it could not start.",
    )
    parser.add_argument("--airflow-home", type=Path, default=DEFAULT_HOME,
                        help="Airflow home: SQLite DB, logs, reports, standalone.log, the passwords file "
                        "(default .airflow/ui/)")
    parser.add_argument("--port", type=int, default=None,
                        help=f"API server / UI port (default {UI_PORT} + MM2_STACK_PORT_OFFSET); the next two "
                        "ports serve the task and trigger logs")
    parser.add_argument("--paused", action="store_true",
                        help=f"leave {DAG_ID} paused (default: unpaused, so that a triggered run starts)")
    parser.add_argument("--with-schedule", action="store_true",
                        help="let the scheduler create the DAG's scheduled runs too (MM2_SMOKE_SCHEDULE, default "
                        "@hourly: the latest interval runs at once); default: only the runs you trigger")
    parser.add_argument("--timeout", type=float, default=300,
                        help="seconds to wait for Airflow to be healthy and the DAG parsed (default 300)")
    args = parser.parse_args(argv)

    try:
        config = StackConfig.from_env()
        port = args.port or default_port(config)
        server = AirflowServer(config, args.airflow_home, port, schedule=args.with_schedule)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    def _sigterm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background (`&`)
    code = 0
    try:
        print(f"starting Airflow (airflow standalone, SQLite) in {_rel(server.home)} on port {port}; "
              f"log: {_rel(server.log_path)} ...", flush=True)
        seconds = server.start().wait_ready(args.timeout)
        paused = server.dag()["is_paused"] if args.paused else server.unpause()["is_paused"]
        runs = "scheduled and triggered runs" if args.with_schedule else "runs only when triggered"
        print(f"\nAirflow UI: {server.url}  user: {server.user}  password: {server.password}\n"
              f"  DAG {DAG_ID} ({'paused' if paused else 'unpaused'}; {runs}): {server.dag_url()}\n"
              f"  Smoke-test view (verdicts, checklists, trends): {server.view_url()}\n"
              f"  ready in {seconds:.0f} s. Password file: {_rel(server.home / PASSWORDS_FILE)}; "
              f"reports: {_rel(Path(os.environ.get('MM2_SMOKE_REPORT_DIR') or server.home / 'reports'))}; log: {_rel(server.log_path)}\n"
              f"  Ctrl-C stops Airflow.", flush=True)
        exit_code = server.wait()
        print(f"error: airflow standalone exited (code {exit_code})\n"
              f"--- last lines of {_rel(server.log_path)} ---\n{server.log_tail()}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        print("\nstopping Airflow...", flush=True)
    except (StackError, AirflowApiError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 2
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave orphans behind
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        server.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if code == 0:
        print("Airflow stopped.")
    return code


if __name__ == "__main__":
    sys.exit(main())
