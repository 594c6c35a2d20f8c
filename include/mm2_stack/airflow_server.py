"""``airflow standalone`` on SQLite for the local stack: the server that ``make ui`` and the scheduler-level tests run.

:class:`AirflowServer` starts ``airflow standalone`` (scheduler, triggerer, dag-processor, API server with the
UI) in the background with the environment of :func:`mm2_stack.airflow_run.airflow_env`, waits until every
component is healthy and the DAG is parsed, and stops every process it started; the fault tests kill and replace
one of its components. It talks to the server through its base class, the REST API v2 client
:class:`mm2_stack.airflow_rest.AirflowRest`; the tests drive the same server (``tests/support/airflow_api.py`` adds
their REST API v2 calls on top of :meth:`~mm2_stack.airflow_rest.AirflowRest.api`).

Ports: the API server listens on the port it is given; the log servers of the scheduler and the triggerer on the
next two ports.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

from mm2_smoke.dag_layout import VIEW_PREFIX
from mm2_stack.airflow_rest import AirflowRest
from mm2_stack.airflow_run import DAG_ID, airflow_env
from mm2_stack.config import Ports, StackConfig, StackError

ADMIN_USER = "admin"
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"
LOG_FILE = "standalone.log"
READY_COMPONENTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")


def port_offset(config: StackConfig) -> int:
    """The ``MM2_STACK_PORT_OFFSET`` the stack's ports were shifted by.

    :param config: the stack's settings.
    """
    return config.ports.connect_rest - Ports().connect_rest


def port_free(port: int) -> bool:
    """True if nothing listens on 127.0.0.1:``port`` and it can be bound.

    :param port: the TCP port on 127.0.0.1.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is no obstacle
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def ensure_admin_password(home: Path, user: str = ADMIN_USER) -> str:
    """The simple auth manager's password of ``user``, generated once into its passwords file in ``home``.

    Airflow reads that file and only adds users missing from it, so the password stays the same across starts.

    :param home: the AIRFLOW_HOME holding the passwords file.
    :param user: the user name (default ``admin``).
    :raises StackError: the passwords file is not JSON.
    """
    path = home / PASSWORDS_FILE
    try:
        passwords = json.loads(path.read_text() or "{}")
    except FileNotFoundError:
        passwords = {}
    except ValueError as exc:
        raise StackError("airflow", f"{path} is not JSON ({exc}): delete it to get a new password") from None
    if user not in passwords:
        passwords[user] = secrets.token_urlsafe(12)
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(passwords, fh)
    return passwords[user]


def standalone_env(config: StackConfig, home: Path, port: int, *, schedule: bool = False,
                   extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of ``airflow standalone`` on the local stack (see :func:`airflow_env`).

    :param config: the stack's settings (its ``airflow.env`` holds the connections).
    :param home: the AIRFLOW_HOME.
    :param port: the API server's port; the scheduler's and the triggerer's log servers get ``port + 1`` and
        ``port + 2`` (their defaults, 8793/8794, would collide with any other Airflow on the machine).
    :param schedule: let the scheduler create the DAG's scheduled runs (``MM2_SMOKE_SCHEDULE``, default
        ``@hourly``; with ``catchup=False`` the latest interval runs as soon as the DAG is unpaused). False: only
        the runs triggered by hand or over the API run (``[scheduler] use_job_schedule = False``).
    :param extra: more variables, set last.
    """
    url = f"http://127.0.0.1:{port}"
    return airflow_env(config, home, extra={
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / PASSWORDS_FILE),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "8",  # LocalExecutor's worker processes (default 32); the DAG needs <= 5
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": url,
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(port + 1),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(port + 2),
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(schedule),
        "NO_COLOR": "1",  # standalone's prefixes without ANSI colours in the log file
        **(extra or {}),
    })


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _lives(p: psutil.Process) -> bool:
    """True while ``p`` runs (a zombie does not)."""
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class AirflowServer(AirflowRest):
    """``airflow standalone`` on SQLite for the local stack, and its REST API as the admin (:class:`AirflowRest`).

    Usage::

        with AirflowServer(config, home, port) as server:  # starts, waits until ready; stops everything on exit
            server.unpause()
            print(server.dag_url(), server.user, server.password)

    :param config: the stack's settings.
    :param home: the AIRFLOW_HOME (SQLite DB, airflow.cfg, logs, reports, ``standalone.log``, the passwords file).
    :param port: the API server's port (the UI, ``/api/v2``, ``/execution/``); ``port + 1`` and ``port + 2``
        must be free as well (log servers).
    :param schedule: see :func:`standalone_env`.
    :param extra_env: more environment for every Airflow process (e.g. ``AIRFLOW_CONN_ALERT_WEBHOOK``).
    :param dag_id: the DAG waited for and unpaused (default ``mm2_smoke_test``).
    """

    def __init__(self, config: StackConfig, home: Path, port: int, *, schedule: bool = False,
                 extra_env: dict[str, str] | None = None, dag_id: str = DAG_ID) -> None:
        super().__init__(f"http://127.0.0.1:{port}", ADMIN_USER, dag_id=dag_id)
        self.config = config
        self.home = Path(home).resolve()
        self.port = port
        self.schedule = schedule
        self.extra_env = dict(extra_env or {})
        self.log_path = self.home / LOG_FILE
        self.ready_seconds: float | None = None
        self._t_start = time.monotonic()
        self._proc: subprocess.Popen[bytes] | None = None
        self._family: dict[int, psutil.Process] = {}  # pid -> process: everything standalone started
        self._restarted: dict[str, subprocess.Popen[bytes]] = {}  # component -> its replacement (restart_component)

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> AirflowServer:
        """Start ``airflow standalone`` in its own session, output to ``standalone.log`` in the home.

        :raises StackError: already started, or one of the three ports is in use.
        """
        if self._proc is not None:
            raise StackError("airflow", "already started")
        busy = [p for p in (self.port, self.port + 1, self.port + 2) if not port_free(p)]
        if busy:
            raise StackError("airflow", f"port(s) {busy} in use on 127.0.0.1 (another `make ui`? pick --port)")
        self.home.mkdir(parents=True, exist_ok=True)
        self.password = ensure_admin_password(self.home, self.user)
        env = standalone_env(self.config, self.home, self.port, schedule=self.schedule, extra=self.extra_env)
        airflow = Path(sys.executable).parent / "airflow"  # the venv's
        airflow = str(airflow) if airflow.exists() else (shutil.which("airflow", path=env["PATH"]) or "airflow")
        with self.log_path.open("ab") as log:
            log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} airflow standalone on port {self.port} ===\n"
                      .encode())
            log.flush()
            # SIGINT back to its default (a shell's background job inherits it ignored): stop() sends it.
            self._proc = subprocess.Popen([airflow, "standalone"], cwd=self.home, env=env, stdin=subprocess.DEVNULL,
                                          stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                          preexec_fn=_default_sigint)
        self._t_start = time.monotonic()
        self._remember_family()
        return self

    def alive(self) -> bool:
        """True while ``airflow standalone`` runs."""
        return self._proc is not None and self._proc.poll() is None

    def wait(self) -> int:
        """Block until ``airflow standalone`` exits; return its exit code.

        :raises StackError: not started.
        """
        if self._proc is None:
            raise StackError("airflow", "not started: call start() first")
        return self._proc.wait()

    def log_tail(self, lines: int = 60) -> str:
        """The last lines of ``standalone.log`` ('' if there is none).

        :param lines: how many lines, at most (read from the last 128 KiB).
        """
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - 128 * 1024))
                text = fh.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _fail(self, message: str) -> StackError:
        return StackError("airflow", f"{message} (log: {self.log_path})", self.log_tail())

    def wait_ready(self, timeout_s: float = 300) -> float:
        """Wait until every component is healthy and the DAG is parsed; return the seconds since start.

        :param timeout_s: how long to wait, in seconds (default 300).
        :raises StackError: not started, standalone exited, or not ready within ``timeout_s`` (with the log's
            tail and the DAG's import errors, if any).
        """
        if self._proc is None:
            raise StackError("airflow", "not started: call start() first")
        deadline = time.monotonic() + timeout_s
        waiting = "the API server"
        while True:
            if not self.alive():
                raise self._fail(f"airflow standalone exited with code {self._proc.returncode} while waiting for "
                                 f"{waiting}")
            self._remember_family()
            health = self.health()
            if health:
                sick = [p for p in READY_COMPONENTS if health.get(p) != "healthy"]
                waiting = f"healthy {', '.join(sick)}" if sick else f"the DAG {self.dag_id} to be parsed"
                if not sick and self.dag_parsed():
                    self.ready_seconds = time.monotonic() - self._t_start
                    return self.ready_seconds
            if time.monotonic() > deadline:
                errors = self.import_errors()
                raise self._fail(f"not ready after {timeout_s:.0f} s: waiting for {waiting}"
                                 + (f"; import errors: {errors}" if errors else ""))
            time.sleep(1)  # poll interval

    def _remember_family(self) -> None:
        """Note every descendant of standalone (and of the components restarted by :meth:`restart_component`): task
        processes run in their own process groups."""
        if self._proc is None:
            return
        self._family = {pid: p for pid, p in self._family.items() if p.is_running()}  # not a reused PID
        for root_pid in [self._proc.pid, *(r.pid for r in self._restarted.values() if r.poll() is None)]:
            try:
                root = psutil.Process(root_pid)
                for p in [root, *root.children(recursive=True)]:
                    self._family.setdefault(p.pid, p)
            except psutil.NoSuchProcess:
                pass
        for p in list(self._family.values()):
            try:
                for c in p.children(recursive=True):
                    self._family.setdefault(c.pid, c)
            except psutil.NoSuchProcess:
                pass

    def stop(self, timeout_s: float = 20) -> None:
        """Ctrl-C to standalone (it stops its components), then SIGTERM/SIGKILL to whatever is left of them.

        :param timeout_s: how long standalone gets to stop its components after Ctrl-C, in seconds (default 20).
        """
        if self._proc is None:
            return
        self._remember_family()
        if self._proc.poll() is None:
            try:
                os.kill(self._proc.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
        for replacement in self._restarted.values():  # not standalone's children: it does not stop them
            if replacement.poll() is None:
                replacement.terminate()
        family = list(self._family.values())
        _, alive = psutil.wait_procs(family, timeout=timeout_s)
        for sig, wait_s in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            if not alive:
                break
            for p in alive:
                try:
                    p.send_signal(sig)
                except psutil.NoSuchProcess:
                    pass
            _, alive = psutil.wait_procs(alive, timeout=wait_s)
        for pgid in [self._proc.pid, *(r.pid for r in self._restarted.values())]:
            try:
                os.killpg(pgid, signal.SIGKILL)  # anything of its (or a replacement's) session we never saw
            except (ProcessLookupError, PermissionError):
                pass
        for replacement in self._restarted.values():
            try:
                replacement.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self._restarted = {}
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self._proc = None
        self._family = {}
        self.forget_token()

    # --- components (the fault tests kill and restart them) ----------------------------------
    def component(self, name: str) -> psutil.Process | None:
        """The running ``airflow <name>`` process of this server (``scheduler``, ``triggerer``, ``dag-processor``,
        ``api-server``): standalone's child, or the replacement :meth:`restart_component` started; None if none runs.

        :param name: the component's subcommand.
        """
        replacement = self._restarted.get(name)
        if replacement is not None and replacement.poll() is None:
            return psutil.Process(replacement.pid)
        if not self.alive():
            return None
        for child in psutil.Process(self._proc.pid).children():
            try:
                if child.is_running() and child.status() != psutil.STATUS_ZOMBIE and " ".join(child.cmdline()).split()[-1:] == [name]:
                    return child
            except psutil.NoSuchProcess:
                continue
        return None

    def kill_component(self, name: str, sig: int = signal.SIGKILL) -> dict[str, str]:
        """Kill ``airflow <name>`` and every process under it (``sig``, default SIGKILL: no clean shutdown); return
        its environment (to start a replacement with). standalone does not restart it.

        :param name: the component's subcommand.
        :param sig: the signal (SIGKILL: a crash; SIGTERM: a clean stop).
        :raises StackError: the component does not run.
        """
        proc = self.component(name)
        if proc is None:
            raise StackError("airflow", f"no running airflow {name} of the server on port {self.port}")
        self._remember_family()
        env = proc.environ()
        tree = [proc, *proc.children(recursive=True)]
        for p in tree:
            try:
                p.send_signal(sig)
            except psutil.NoSuchProcess:
                pass
        # standalone never reaps its children: a killed component stays a zombie, which counts as gone here.
        deadline = time.monotonic() + 15
        while any(_lives(p) for p in tree) and time.monotonic() < deadline:
            time.sleep(0.1)
        for p in tree:
            if _lives(p):
                p.kill()
        replacement = self._restarted.pop(name, None)
        if replacement is not None:
            replacement.wait(timeout=5)
        return env

    def restart_component(self, name: str, env: dict[str, str]) -> psutil.Process:
        """Start ``airflow <name>`` again (after :meth:`kill_component`) with ``env``, output appended to
        ``standalone.log``; :meth:`stop` stops it with the rest.

        :param name: the component's subcommand.
        :param env: its environment (what :meth:`kill_component` returned).
        """
        airflow = Path(sys.executable).parent / "airflow"
        airflow = str(airflow) if airflow.exists() else (shutil.which("airflow", path=env.get("PATH")) or "airflow")
        with self.log_path.open("ab") as log:
            log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} airflow {name} restarted ===\n".encode())
            log.flush()
            self._restarted[name] = subprocess.Popen([airflow, name], cwd=self.home, env=env,
                                                     stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                                     start_new_session=True, preexec_fn=_default_sigint)
        return psutil.Process(self._restarted[name].pid)

    def __enter__(self) -> AirflowServer:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def dag_url(self) -> str:
        """The DAG's page in the UI."""
        return f"{self.url}/dags/{self.dag_id}"

    def view_url(self) -> str:
        """The smoke-test view of the DAG (the plugin ``mm2_smoke_ui`` under ``/mm2-smoke``): its runs' verdicts and
        the baseline's trends; each run's report is one click away (and a tab of the run in the UI)."""
        return f"{self.url}{VIEW_PREFIX}/dags/{self.dag_id}"
