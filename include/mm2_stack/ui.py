"""Airflow's UI on the local stack: ``airflow standalone`` on SQLite, in the foreground (``make ui``).

The parts are reusable by tests:

- :class:`AirflowServer` starts ``airflow standalone`` (scheduler, triggerer, dag-processor, API server with the
  UI) in the background with the environment of :func:`mm2_stack.airflow_run.airflow_env`, waits until it is
  healthy and the DAG is parsed, talks to the REST API v2 with a JWT of the simple auth manager (unpause,
  trigger, wait for a run, list task instances, read a task log), and stops every process it started.
- :func:`capture_page` opens a page of the UI in headless Chromium (Debian's ``chromium``) over the DevTools
  protocol on a pipe (no driver), logged in with the server's JWT cookie, and saves a screenshot.

Ports: the API server listens on 127.0.0.1:``18080 + MM2_STACK_PORT_OFFSET`` (``make ui``); the log servers
of the scheduler and the triggerer on the next two ports.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import json
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mm2_stack.airflow_run import DAG_ID, airflow_env
from mm2_stack.config import REPO_ROOT, Ports, StackConfig, StackError

UI_PORT = 18080  # + MM2_STACK_PORT_OFFSET: `make ui`
TEST_UI_PORT = 18180  # + MM2_STACK_PORT_OFFSET: the browser test's Airflow (beside a running `make ui`)
ADMIN_USER = "admin"
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"
LOG_FILE = "standalone.log"
DEFAULT_HOME = REPO_ROOT / ".airflow" / "ui"
TERMINAL_RUN_STATES = ("success", "failed")
# The UI keeps the DAG page's view (grid or graph) in the browser's local storage under this key (JSON).
UI_VIEW_STORAGE_KEY = "default_dag_view"
JWT_COOKIE = "_token"  # the cookie the UI's login page sets and the API server reads
_json_loads = json.loads  # AirflowServer.api() has a parameter named json


def port_offset(config: StackConfig) -> int:
    """The ``MM2_STACK_PORT_OFFSET`` the stack's ports were shifted by."""
    return config.ports.connect_rest - Ports().connect_rest


def default_port(config: StackConfig) -> int:
    """The API server (UI) port of ``make ui``: 18080 + ``MM2_STACK_PORT_OFFSET``."""
    return UI_PORT + port_offset(config)


def port_free(port: int) -> bool:
    """True if nothing listens on 127.0.0.1:``port`` and it can be bound."""
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


def free_port_block(preferred: int, count: int = 3, tries: int = 20, step: int = 10) -> int:
    """``preferred`` if it and the ``count - 1`` next ports are free, else the first free block above it."""
    for i in range(tries):
        base = preferred + i * step
        if all(port_free(base + k) for k in range(count)):
            return base
    raise StackError("airflow", f"no free block of {count} ports from {preferred} (step {step}, {tries} tries)")


def ensure_admin_password(home: Path, user: str = ADMIN_USER) -> str:
    """The simple auth manager's password of ``user``, generated once into its passwords file in ``home``.

    Airflow reads that file and only adds users missing from it, so the password stays the same across starts.
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

    :param port: the API server's port; the scheduler's and the triggerer's log servers get ``port + 1`` and
        ``port + 2`` (their defaults, 8793/8794, would collide with any other Airflow on the machine).
    :param schedule: let the scheduler create the DAG's scheduled runs (``MM2_SMOKE_SCHEDULE``, default
        ``@hourly``; with ``catchup=False`` the latest interval runs as soon as the DAG is unpaused). False: only
        the runs triggered by hand or over the API run (``[scheduler] use_job_schedule = False``).
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


class AirflowApiError(RuntimeError):
    """A REST API call answered with an HTTP error (or not at all)."""

    def __init__(self, method: str, path: str, status: int | None, body: str) -> None:
        self.status = status
        self.body = body
        super().__init__(f"{method} {path} -> {status if status is not None else 'no answer'}: {body[:2000]}")


def _http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None,
          timeout_s: float = 30) -> tuple[int, str]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Accept": "application/json", **({"Content-Type": "application/json"} if data is not None else {}),
        **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


class AirflowServer:
    """``airflow standalone`` on SQLite for the local stack, and a small client of its REST API v2.

    Usage::

        with AirflowServer(config, home, port) as server:  # starts, waits until ready; stops everything on exit
            server.unpause()
            run_id = server.trigger({"num_messages": 50})
            state = server.wait_for_run(run_id, timeout_s=600)  # 'success' or 'failed'
            tasks = server.task_instances(run_id)

    :param home: the AIRFLOW_HOME (SQLite DB, airflow.cfg, logs, reports, ``standalone.log``, the passwords file).
    :param port: the API server's port (the UI, ``/api/v2``, ``/execution/``); ``port + 1`` and ``port + 2``
        must be free as well (log servers).
    :param schedule: see :func:`standalone_env`.
    :param extra_env: more environment for every Airflow process (e.g. ``AIRFLOW_CONN_ALERT_WEBHOOK``).
    """

    def __init__(self, config: StackConfig, home: Path, port: int, *, schedule: bool = False,
                 extra_env: dict[str, str] | None = None, dag_id: str = DAG_ID) -> None:
        self.config = config
        self.home = Path(home).resolve()
        self.port = port
        self.dag_id = dag_id
        self.user = ADMIN_USER
        self.schedule = schedule
        self.extra_env = dict(extra_env or {})
        self.log_path = self.home / LOG_FILE
        self.password = ""
        self.ready_seconds: float | None = None
        self._t_start = time.monotonic()
        self._proc: subprocess.Popen[bytes] | None = None
        self._family: dict[int, Any] = {}  # pid -> psutil.Process: everything standalone started
        self._token: str | None = None

    # --- lifecycle ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> AirflowServer:
        """Start ``airflow standalone`` in its own session, output to ``standalone.log`` in the home."""
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
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, lines: int = 60) -> str:
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

    def health(self) -> dict[str, str]:
        """Status of each component from ``/api/v2/monitor/health`` (no login needed); {} if no answer."""
        try:
            status, text = _http("GET", self.url + "/api/v2/monitor/health", timeout_s=5)
        except OSError:
            return {}
        if status != 200:
            return {}
        body = json.loads(text)
        return {name: (part or {}).get("status") or "" for name, part in body.items() if isinstance(part, dict)}

    def wait_ready(self, timeout_s: float = 300) -> float:
        """Wait until every component is healthy and the DAG is parsed; return the seconds since start.

        :raises StackError: standalone exited, or not ready within ``timeout_s`` (with the log's tail and the
            DAG's import errors, if any).
        """
        if self._proc is None:
            raise StackError("airflow", "not started")
        deadline = time.monotonic() + timeout_s
        waiting = "the API server"
        while True:
            if not self.alive():
                raise self._fail(f"airflow standalone exited with code {self._proc.returncode} while waiting for "
                                 f"{waiting}")
            self._remember_family()
            health = self.health()
            parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
            if health:
                sick = [p for p in parts if health.get(p) != "healthy"]
                waiting = f"healthy {', '.join(sick)}" if sick else f"the DAG {self.dag_id} to be parsed"
                if not sick and self._dag_parsed():
                    self.ready_seconds = time.monotonic() - self._t_start
                    return self.ready_seconds
            if time.monotonic() > deadline:
                errors = self._import_errors()
                raise self._fail(f"not ready after {timeout_s:.0f} s: waiting for {waiting}"
                                 + (f"; import errors: {errors}" if errors else ""))
            time.sleep(1)

    def _dag_parsed(self) -> bool:
        try:
            self.api("GET", f"/api/v2/dags/{self.dag_id}")
        except AirflowApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def _import_errors(self) -> list[str]:
        try:
            body = self.api("GET", "/api/v2/importErrors")
        except (AirflowApiError, OSError):
            return []
        return [f"{e.get('filename')}: {e.get('stack_trace', '')[-1500:]}" for e in body.get("import_errors", [])]

    def _remember_family(self) -> None:
        """Note every descendant of standalone: task processes run in their own process groups."""
        import psutil

        if self._proc is None:
            return
        self._family = {pid: p for pid, p in self._family.items() if p.is_running()}  # not a reused PID
        try:
            root = psutil.Process(self._proc.pid)
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
        """Ctrl-C to standalone (it stops its components), then SIGTERM/SIGKILL to whatever is left of them."""
        import psutil

        if self._proc is None:
            return
        self._remember_family()
        if self._proc.poll() is None:
            try:
                os.kill(self._proc.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
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
        try:
            os.killpg(self._proc.pid, signal.SIGKILL)  # anything of its session we never saw
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self._proc = None
        self._family = {}
        self._token = None

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

    # --- REST API v2 ----------------------------------------------------------------------------
    def token(self, refresh: bool = False) -> str:
        """A JWT of the simple auth manager for the admin user (``POST /auth/token``)."""
        if self._token is None or refresh:
            status, text = _http("POST", self.url + "/auth/token",
                                 {"username": self.user, "password": self.password})
            if status not in (200, 201):
                raise AirflowApiError("POST", "/auth/token", status, text)
            self._token = json.loads(text)["access_token"]
        return self._token

    def api(self, method: str, path: str, json: Any = None, params: dict[str, Any] | None = None,
            timeout_s: float = 30) -> Any:
        """Call the REST API with the admin's JWT; return the decoded JSON (None if empty).

        :raises AirflowApiError: on an HTTP status >= 400 (after one retry with a new token on 401).
        """
        url = self.url + path + ("?" + urllib.parse.urlencode(params, doseq=True) if params else "")
        for attempt in (0, 1):
            try:
                status, text = _http(method, url, json, {"Authorization": f"Bearer {self.token(refresh=attempt > 0)}"},
                                     timeout_s)
            except OSError as exc:
                raise AirflowApiError(method, path, None, str(exc)) from exc
            if status != 401:
                break
        if status >= 400:
            raise AirflowApiError(method, path, status, text)
        return _json_loads(text) if text.strip() else None

    def _run_path(self, run_id: str, dag_id: str | None) -> str:
        return f"/api/v2/dags/{dag_id or self.dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}"

    def dag(self, dag_id: str | None = None) -> dict[str, Any]:
        return self.api("GET", f"/api/v2/dags/{dag_id or self.dag_id}")

    def unpause(self, dag_id: str | None = None) -> dict[str, Any]:
        """``PATCH /api/v2/dags/{dag_id}`` with ``is_paused: false``; return the DAG."""
        return self.api("PATCH", f"/api/v2/dags/{dag_id or self.dag_id}", {"is_paused": False})

    def pause(self, dag_id: str | None = None) -> dict[str, Any]:
        return self.api("PATCH", f"/api/v2/dags/{dag_id or self.dag_id}", {"is_paused": True})

    def trigger(self, conf: dict[str, Any] | None = None, dag_id: str | None = None,
                run_id: str | None = None, note: str | None = None) -> str:
        """``POST /api/v2/dags/{dag_id}/dagRuns`` (a manual run, no logical date); return its run id.

        :param conf: the run's Params (``{}``: every Param's default).
        """
        body: dict[str, Any] = {"logical_date": None, "conf": conf or {}}
        if run_id:
            body["dag_run_id"] = run_id
        if note:
            body["note"] = note
        return self.api("POST", f"/api/v2/dags/{dag_id or self.dag_id}/dagRuns", body)["dag_run_id"]

    def dag_run(self, run_id: str, dag_id: str | None = None) -> dict[str, Any]:
        return self.api("GET", self._run_path(run_id, dag_id))

    def wait_for_run(self, run_id: str, timeout_s: float = 900, dag_id: str | None = None,
                     poll_s: float = 1.0) -> str:
        """Poll the run until it is ``success`` or ``failed``; return that state.

        :raises TimeoutError: still queued/running after ``timeout_s`` (with the task states).
        """
        deadline = time.monotonic() + timeout_s
        while True:
            state = self.dag_run(run_id, dag_id)["state"]
            if state in TERMINAL_RUN_STATES:
                return state
            if time.monotonic() > deadline:
                states = {t["task_id"]: t["state"] for t in self.task_instances(run_id, dag_id)}
                raise TimeoutError(f"run {run_id} still {state} after {timeout_s:.0f} s; tasks: {states}")
            if not self.alive() and self._proc is not None:
                raise self._fail(f"airflow standalone exited while run {run_id} was {state}")
            time.sleep(poll_s)

    def task_instances(self, run_id: str, dag_id: str | None = None) -> list[dict[str, Any]]:
        """Every task instance of the run (``GET .../dagRuns/{run_id}/taskInstances``, all pages)."""
        out: list[dict[str, Any]] = []
        while True:
            body = self.api("GET", self._run_path(run_id, dag_id) + "/taskInstances",
                            params={"limit": 100, "offset": len(out)})
            out += body["task_instances"]
            if not body["task_instances"] or len(out) >= body["total_entries"]:
                return out

    def task_log(self, run_id: str, task_id: str, try_number: int = 1, dag_id: str | None = None,
                 map_index: int = -1) -> str:
        """The task's log as text (the ``event`` of each structured line)."""
        body = self.api("GET", self._run_path(run_id, dag_id) + f"/taskInstances/{task_id}/logs/{try_number}",
                        params={"full_content": "true", "map_index": map_index})
        lines = []
        for item in body.get("content") or []:
            if isinstance(item, dict):
                lines.append(" ".join(str(item.get(k, "")) for k in ("timestamp", "level", "event")).strip())
            else:
                lines.append(str(item))
        return "\n".join(lines)

    def event_log(self, run_id: str, dag_id: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """The run's newest ``limit`` audit-log events (``GET /api/v2/eventLogs``), oldest first: state changes,
        and the scheduler's notes such as "state mismatch" that explain a task failed without a log of its own."""
        body = self.api("GET", "/api/v2/eventLogs",
                        params={"dag_id": dag_id or self.dag_id, "run_id": run_id, "limit": limit,
                                "order_by": "-when"})
        return list(reversed(body.get("event_logs") or []))

    # --- UI -------------------------------------------------------------------------------------
    def dag_url(self, dag_id: str | None = None) -> str:
        return f"{self.url}/dags/{dag_id or self.dag_id}"

    def run_url(self, run_id: str, dag_id: str | None = None) -> str:
        """The run's page in the UI (grid or graph on the left, per the browser's saved view)."""
        return f"{self.dag_url(dag_id)}/runs/{urllib.parse.quote(run_id, safe='')}"

    def login_cookies(self) -> dict[str, str]:
        """The cookie the UI's login page sets: opening UI pages with it skips the login form."""
        return {JWT_COOKIE: self.token()}


# --- headless Chromium over the DevTools protocol (pipe) ------------------------------------------
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu",
                  "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check", "--hide-scrollbars",
                  "--mute-audio", "--disable-extensions", "--disable-sync")


def _tail(path: Path, lines: int = 30) -> str:
    """The last lines of Chromium's log, without its D-Bus noise (no session bus in a container)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join([line for line in text.splitlines() if "dbus" not in line.lower()][-lines:])


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if path := shutil.which(name):
            return path
    return None


class _DevTools:
    """Chromium started with ``--remote-debugging-pipe``: JSON messages ending in NUL on fds 3 (in) and 4 (out)."""

    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        to_child_r, self._w = os.pipe()
        self._r, from_child_w = os.pipe()

        def child_fds() -> None:  # in the child, before exec: our pipe ends become its fds 3 and 4
            a = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        with log_path.open("ab") as log:
            self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         preexec_fn=child_fds, close_fds=False, start_new_session=True)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._id = 0

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout_s: float = 30) -> dict[str, Any]:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self._w, data):]
        deadline = time.monotonic() + timeout_s
        while True:
            reply = self._read(deadline, method)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"chromium: {method}: {reply['error']}")
                return reply.get("result") or {}

    def _read(self, deadline: float, method: str) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            ready = select.select([self._r], [], [], max(0.0, left))[0] if left > 0 else []
            if not ready:
                raise TimeoutError(f"chromium did not answer {method}")
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise RuntimeError(f"chromium closed the DevTools pipe (exit code {self.proc.poll()})")
            self._buf += chunk
        raw, _, self._buf = self._buf.partition(b"\0")
        return json.loads(raw)

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout_s=5)
        except (OSError, RuntimeError, TimeoutError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # renderer/GPU/zygote helpers of its session
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        for fd in (self._r, self._w):
            try:
                os.close(fd)
            except OSError:
                pass


@dataclass(frozen=True)
class PageCapture:
    """What :func:`capture_page` saw (at the screenshot).

    :param missing: the ``wait_for`` texts not in ``scope_text`` and the ``wait_for_items`` not satisfied
        (as ``"<key>: <text>"``); empty when the page showed everything waited for.
    :param scope_text: the text content of the first element matching ``scope_selector`` ('' if none matched).
    :param items: ``{key attribute: visible text}`` of the elements matching ``items_selector``.
    :param text: the page's visible text (``document.body.innerText``).
    :param screenshot: the PNG; ``html`` the DOM (outerHTML) beside it; ``seconds`` browser start to screenshot.
    """

    url: str
    missing: tuple[str, ...]
    scope_text: str
    items: dict[str, str]
    text: str
    screenshot: Path
    html: Path
    seconds: float


def _missing(seen: dict[str, Any], wait_for: tuple[str, ...], wait_for_items: dict[str, str]) -> tuple[str, ...]:
    scope = seen.get("scope") or ""
    items = seen.get("items") or {}
    return (*(w for w in wait_for if w not in scope),
            *(f"{k}: {v}" for k, v in wait_for_items.items() if v not in (items.get(k) or "")))


def capture_page(url: str, screenshot: Path, *, cookies: dict[str, str] | None = None,
                 local_storage: dict[str, str] | None = None, wait_for: Iterable[str] = (),
                 scope_selector: str = "body", items_selector: str | None = None, items_key: str = "data-id",
                 wait_for_items: dict[str, str] | None = None, timeout_s: float = 90, settle_s: float = 2.0,
                 window: tuple[int, int] = (1600, 1000), scale: float = 1, chromium: str | None = None,
                 workdir: Path | None = None) -> PageCapture:
    """Open ``url`` in headless Chromium, wait until the page shows what is asked, save a screenshot.

    Waits (up to ``timeout_s``) until every ``wait_for`` text is in the text of ``scope_selector`` and, for each
    ``key: text`` of ``wait_for_items``, the element of ``items_selector`` whose ``items_key`` attribute is
    ``key`` shows ``text``; then ``settle_s`` more for the layout. The screenshot (and the DOM as ``.html``
    beside it) is saved even when they never show up: the caller asserts on :attr:`PageCapture.missing`.

    :param cookies: set for ``url``'s host before loading (e.g. :meth:`AirflowServer.login_cookies`).
    :param local_storage: keys set in ``url``'s origin before its scripts run (e.g. the UI's view: graph).
    :param window: the viewport in CSS pixels; ``scale`` the device pixel ratio (the PNG is ``window * scale``).
    :param workdir: Chromium's profile, HOME and log (``chromium.log``); default: a temporary folder, deleted.
    :raises StackError: Chromium is missing, failed or stopped answering (with its log's tail).
    """
    binary = chromium or find_chromium()
    if not binary:
        raise StackError("chromium", "no chromium on PATH (Debian: apt-get install chromium; `make deps` does)")
    wanted = tuple(wait_for)
    wanted_items = dict(wait_for_items or {})
    screenshot = Path(screenshot)
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="mm2-chromium-") as tmp:
            return capture_page(url, screenshot, cookies=cookies, local_storage=local_storage, wait_for=wanted,
                                scope_selector=scope_selector, items_selector=items_selector, items_key=items_key,
                                wait_for_items=wanted_items, timeout_s=timeout_s, settle_s=settle_s, window=window,
                                scale=scale, chromium=binary, workdir=Path(tmp))
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "chromium.log"
    origin = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(url))
    env = {**os.environ, "HOME": str(workdir), "XDG_CONFIG_HOME": str(workdir / "config"),
           "XDG_CACHE_HOME": str(workdir / "cache")}
    argv = [binary, *CHROMIUM_FLAGS, f"--window-size={window[0]},{window[1]}",
            f"--user-data-dir={workdir / 'profile'}", "--remote-debugging-pipe", "about:blank"]
    probe = (
        "(() => { const el = document.querySelector(" + json.dumps(scope_selector) + "); const items = {};"
        + (" for (const n of document.querySelectorAll(" + json.dumps(items_selector) + ")) items[n.getAttribute("
           + json.dumps(items_key) + ")] = n.innerText;" if items_selector else "")
        + " return {scope: el ? el.textContent : '', items: items,"
        " text: document.body ? document.body.innerText : ''}; })()"
    )
    t0 = time.monotonic()
    browser = _DevTools(argv, env, log_path)
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

        def look() -> dict[str, Any]:
            return browser.send("Runtime.evaluate", {"expression": probe, "returnByValue": True},
                                session)["result"].get("value") or {}

        browser.send("Page.enable", session=session)
        browser.send("Emulation.setDeviceMetricsOverride", {"width": window[0], "height": window[1],
                                                            "deviceScaleFactor": scale, "mobile": False}, session)
        for name, value in (cookies or {}).items():
            browser.send("Network.setCookie", {"name": name, "value": value, "url": origin + "/", "path": "/"},
                         session)
        if local_storage:
            browser.send("Page.addScriptToEvaluateOnNewDocument", {"source": (
                f"if (location.origin === {json.dumps(origin)}) {{ try {{ const kv = {json.dumps(local_storage)};"
                " for (const k in kv) localStorage.setItem(k, kv[k]); } catch (e) {} }")}, session)
        nav = browser.send("Page.navigate", {"url": url}, session)
        if nav.get("errorText"):
            raise StackError("chromium", f"could not open {url}: {nav['errorText']}")
        deadline = time.monotonic() + timeout_s
        while True:
            seen = look()
            if (seen.get("text") and not _missing(seen, wanted, wanted_items)) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        time.sleep(settle_s)  # let the layout and its animations finish
        seen = look()
        shot = browser.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False}, session)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        seconds = time.monotonic() - t0
        dom = browser.send("Runtime.evaluate", {"expression": "document.documentElement.outerHTML",
                                                "returnByValue": True}, session)["result"].get("value") or ""
        html = screenshot.with_suffix(".html")
        html.write_text(dom)
    except StackError:
        raise
    except (RuntimeError, TimeoutError, OSError) as exc:
        raise StackError("chromium", f"{exc} (opening {url})", _tail(log_path)) from exc
    finally:
        browser.close()
    return PageCapture(url=url, missing=_missing(seen, wanted, wanted_items), scope_text=seen.get("scope") or "",
                       items=dict(seen.get("items") or {}), text=seen.get("text") or "", screenshot=screenshot,
                       html=html, seconds=seconds)


# --- make ui --------------------------------------------------------------------------------------
def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
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
              f"  ready in {seconds:.0f} s. Password file: {_rel(server.home / PASSWORDS_FILE)}; "
              f"reports: {_rel(server.home / 'reports')}; log: {_rel(server.log_path)}\n"
              f"  Ctrl-C stops Airflow.", flush=True)
        while server.alive():
            time.sleep(1)
        print(f"error: airflow standalone exited (code {server._proc.returncode if server._proc else '?'})\n"
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
