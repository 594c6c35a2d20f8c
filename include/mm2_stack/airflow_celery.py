"""A distributed Airflow beside the local stack, as plain processes: ``python -m mm2_stack airflow up|down|status``.

What teams deploy, on 127.0.0.1: Debian's PostgreSQL (a cluster of its own under ``.stack/run/airflow/postgres``,
password auth) as the metadata database and Celery's result backend, Debian's ``redis-server`` (``requirepass``) as
the Celery broker, and Airflow 3 as separate processes: ``api-server``, ``scheduler``, ``dag-processor``,
``triggerer`` and two ``celery worker``s (``worker-a``, ``worker-b``), each worker with its own working directory,
AIRFLOW_HOME, Celery host name and task-instance host name (:mod:`mm2_stack.airflow_hostname`), as on two hosts.
Every process shares one JWT secret, API secret key and Fernet key (``secrets.json``, made once). The Airflow
environment is ``airflow standalone``'s (:func:`mm2_stack.airflow_server.standalone_env`: the stack's connections,
the DAG and plugin folders, the admin user) with the CeleryExecutor's settings on top. Processes are started and
stopped by PID like the chain's (:mod:`mm2_stack.proc`: pid files ``airflow-<part>.pid``, logs capped by
:mod:`mm2_stack.logcap` in ``logs/airflow-<part>.log``). ``up`` keeps the database, the queue and the homes; only
``--fresh`` wipes them. The folder lives in the stack's run folder: a fresh chain (``up --fresh``) wipes it too, so
stop this Airflow first (``airflow down``).

Shared by every worker (one disk here, a shared volume on real hosts): the task logs folder and the reports folder.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from mm2_stack import proc
from mm2_stack.airflow_celery_config import (
    DB_NAME,
    DB_USER,
    HEALTH_KEYS,
    PARTS,
    WORKERS,
    AirflowPorts,
    Layout,
    airflow_argv,
    as_postgres_user,
    broker_url,
    component_env,
    initdb_argv,
    load_secrets,
    pid_name,
    postgres_argv,
    postgres_bin,
    redis_command,
    redis_conf,
)
from mm2_stack.airflow_server import ADMIN_USER, ensure_admin_password, port_free
from mm2_stack.config import StackConfig, StackError


# ------------------------------------------------------------------------------------------------ probes
def redis_probe(ports: AirflowPorts, password: str) -> str | None:
    """None when Redis answers PING after AUTH; else what it said."""
    with socket.create_connection(("127.0.0.1", ports.redis), timeout=2) as sock:
        sock.sendall(redis_command("AUTH", password) + redis_command("PING"))
        data = b""
        while data.count(b"\r\n") < 2:
            chunk = sock.recv(256)
            if not chunk:
                break
            data += chunk
    return None if data.split(b"\r\n")[:2] == [b"+OK", b"+PONG"] else f"redis answered {data[:80]!r}"


def postgres_probe(ports: AirflowPorts, password: str, database: str = DB_NAME) -> str | None:
    """None when the ``airflow`` user logs in to ``database`` with its password."""
    import psycopg2

    psycopg2.connect(host="127.0.0.1", port=ports.postgres, user=DB_USER, password=password, dbname=database,
                     connect_timeout=2).close()
    return None


def celery_workers(ports: AirflowPorts, password: str, timeout_s: float = 2.0) -> set[str]:
    """The Celery node names that answer a ping (``worker-a@<host>``...)."""
    from celery import Celery

    app = Celery(broker=broker_url(ports, password))
    try:
        return {name for reply in app.control.ping(timeout=timeout_s) or [] for name in reply}
    finally:
        app.close()


def tree_rss(pid: int) -> tuple[int, int]:
    """(RSS in bytes summed over the process and its descendants, how many processes)."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total, len(procs)


# ------------------------------------------------------------------------------------------ up/down/status
def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _airflow() -> str:
    venv = Path(sys.executable).parent / "airflow"
    return str(venv) if venv.exists() else (shutil.which("airflow") or "airflow")


def _ensure_postgres(config: StackConfig, layout: Layout, ports: AirflowPorts, secrets: dict[str, str]) -> None:
    bindir = postgres_bin()
    root = os.geteuid() == 0
    if not (layout.pgdata / "PG_VERSION").exists():
        _say(f"initdb: a PostgreSQL cluster in {layout.pgdata}...")
        shutil.rmtree(layout.pgdata, ignore_errors=True)
        layout.pgdata.mkdir(parents=True, mode=0o700)
        pwfile = layout.pgdata.parent / ".pgpass-init"
        pwfile.write_text(secrets["postgres"] + "\n")
        if root:
            shutil.chown(layout.pgdata, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        try:
            done = subprocess.run(as_postgres_user(initdb_argv(bindir, layout.pgdata, pwfile)), capture_output=True,
                                  text=True, timeout=120)
        finally:
            pwfile.unlink(missing_ok=True)
        if done.returncode != 0:
            raise StackError("postgres", "initdb failed", (done.stdout + done.stderr)[-3000:])
    proc.spawn(config, pid_name("postgres"), as_postgres_user(postgres_argv(bindir, layout.pgdata, ports.postgres)))
    proc.wait_until(config, pid_name("postgres"), lambda: postgres_probe(ports, secrets["postgres"], "postgres"),
                    config.ready_timeout_s, "a login over TCP")
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", port=ports.postgres, user=DB_USER, password=secrets["postgres"],
                            dbname="postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,))
            if cur.fetchone() is None:
                cur.execute(f"CREATE DATABASE {DB_NAME}")
    finally:
        conn.close()


def up(config: StackConfig, fresh: bool = False, timeout_s: float = 300) -> dict[str, float]:
    """Start the parts that do not run, on their kept state (``fresh``: stop everything and wipe it first); wait
    until the API server reports every component healthy, the DAG is parsed and both workers answer Celery's ping.

    :return: seconds since the start at each stage (``postgres``, ``migrate``, ``ready``...).
    :raises StackError: a port in use, a part that exited or did not get ready (with its log's tail).
    """
    layout, ports = Layout.for_stack(config), AirflowPorts.for_stack(config)
    if fresh:
        down(config)
        shutil.rmtree(layout.root, ignore_errors=True)
    t0 = time.monotonic()
    timings: dict[str, float] = {}
    start = [p for p in PARTS if proc.running_pid(config, pid_name(p)) is None]
    busy = [port for part in start for port in ports.of(part) if not port_free(port)]
    if busy:
        raise StackError("airflow", f"port(s) {', '.join(map(str, busy))} in use by another process: stop it, or "
                         "shift every port with MM2_STACK_PORT_OFFSET (and MM2_STACK_DIR)")
    if not start:
        _say("distributed Airflow already running")
        return timings
    secrets = load_secrets(layout)
    for folder in (layout.home, layout.task_logs, layout.reports, layout.redis_dir, *map(layout.worker_home, WORKERS)):
        folder.mkdir(parents=True, exist_ok=True)
    password = ensure_admin_password(layout.home, ADMIN_USER)
    env = {p: component_env(config, layout, ports, secrets, p) for p in PARTS[2:]}
    if "postgres" in start:
        _ensure_postgres(config, layout, ports, secrets)
        timings["postgres"] = time.monotonic() - t0
    if "redis" in start:
        fd = os.open(layout.redis_conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(redis_conf(ports.redis, secrets["redis"], layout.redis_dir))
        redis = shutil.which("redis-server")
        if redis is None:
            raise StackError("redis", "redis-server is not installed: `make debs` installs Debian's redis-server")
        proc.spawn(config, pid_name("redis"), [redis, str(layout.redis_conf)])
        proc.wait_until(config, pid_name("redis"), lambda: redis_probe(ports, secrets["redis"]), config.ready_timeout_s,
                        "PING after AUTH")
        timings["redis"] = time.monotonic() - t0
    airflow = _airflow()
    if any(p in start for p in PARTS[2:]):
        done = subprocess.run([airflow, "db", "migrate"], env=env["scheduler"], capture_output=True, text=True,
                              timeout=600)
        if done.returncode != 0:
            raise StackError("airflow", "`airflow db migrate` failed", (done.stdout + done.stderr)[-3000:])
        timings["migrate"] = time.monotonic() - t0
    for part in PARTS[2:]:
        if part in start:
            proc.spawn(config, pid_name(part), airflow_argv(part, layout, airflow), env[part])
    from mm2_stack.airflow_rest import AirflowRest

    rest = AirflowRest(f"http://127.0.0.1:{ports.api}", ADMIN_USER, password)

    def ready() -> str | None:
        health = rest.health()
        sick = [k for k in ("metadatabase", *HEALTH_KEYS.values()) if health.get(k) != "healthy"]
        if sick:
            return f"not healthy yet: {', '.join(sick)}"
        if not rest.dag_parsed():
            return f"the DAG {rest.dag_id} not parsed yet"
        names = celery_workers(ports, secrets["redis"])
        missing = [w for w in WORKERS if not any(n.startswith(f"{w}@") for n in names)]
        return f"Celery workers not answering: {', '.join(missing)}" if missing else None

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            reason = ready()
        except Exception as exc:  # noqa: BLE001 - any failed probe is a "not ready yet"
            reason = f"{type(exc).__name__}: {exc}"
        if reason is None:
            break
        dead = [p for p in PARTS if proc.running_pid(config, pid_name(p)) is None]
        if dead:
            raise StackError(pid_name(dead[0]), f"exited while waiting ({reason})", proc.log_tail(config, pid_name(dead[0])))
        if time.monotonic() > deadline:
            raise StackError("airflow", f"not ready after {timeout_s:.0f} s: {reason}",
                             proc.log_tail(config, pid_name("scheduler")))
        time.sleep(2)
    timings["ready"] = time.monotonic() - t0
    _say(f"distributed Airflow up in {timings['ready']:.1f} s: {rest.url} (user {ADMIN_USER}, password in "
         f"{layout.home / 'simple_auth_manager_passwords.json.generated'})")
    return timings


def down(config: StackConfig) -> list[str]:
    """Stop every part by PID, workers first, PostgreSQL last (a fast shutdown by ``pg_ctl``, then by PID)."""
    stopped = []
    for part in reversed(PARTS):
        running = proc.running_pid(config, pid_name(part)) is not None
        if part == "postgres" and running:
            pg_ctl = [str(postgres_bin() / "pg_ctl"), "stop", "-D", str(Layout.for_stack(config).pgdata), "-m", "fast",
                      "-w", "-t", "30"]
            subprocess.run(as_postgres_user(pg_ctl), capture_output=True, timeout=60)
        if proc.stop(config, pid_name(part)) or running:
            stopped.append(part)
    return stopped


def status(config: StackConfig) -> list:
    """Each part's PID, health and RSS (the process and its descendants: a worker's pool, the API server's)."""
    from mm2_stack.stack import PartStatus

    layout, ports = Layout.for_stack(config), AirflowPorts.for_stack(config)
    try:
        secrets = json.loads(layout.secrets_file.read_text())
    except (FileNotFoundError, ValueError):
        secrets = {}
    pids = {p: proc.running_pid(config, pid_name(p)) for p in PARTS}
    health: dict[str, str] = {}
    workers: set[str] = set()
    if pids["api-server"]:
        from mm2_stack.airflow_rest import AirflowRest

        health = AirflowRest(f"http://127.0.0.1:{ports.api}", ADMIN_USER).health()
    if pids["redis"] and secrets and any(pids[w] for w in WORKERS):
        try:
            workers = celery_workers(ports, secrets["redis"])
        except Exception:  # noqa: BLE001 - no answer: every worker is reported as not answering
            workers = set()
    out = []
    for part in PARTS:
        pid = pids[part]
        if pid is None:
            out.append(PartStatus(part, None, False, "not running"))
            continue
        try:
            if part == "postgres":
                reason = postgres_probe(ports, secrets.get("postgres", ""))
            elif part == "redis":
                reason = redis_probe(ports, secrets.get("redis", ""))
            elif part == "api-server":
                reason = None if health else "no answer on /api/v2/monitor/health"
            elif part in HEALTH_KEYS:
                state = health.get(HEALTH_KEYS[part]) or "unknown"
                reason = None if state == "healthy" else f"health: {state}"
            else:
                names = sorted(n for n in workers if n.startswith(f"{part}@"))
                reason = None if names else "does not answer Celery's ping"
        except Exception as exc:  # noqa: BLE001 - a failed probe is an unhealthy part, with its reason
            reason = f"{type(exc).__name__}: {exc}"
        rss, count = tree_rss(pid)
        detail = f"{reason or 'ok'}; rss {rss / 2**20:.0f} MiB ({count} process{'es' if count > 1 else ''})"
        if part in WORKERS and reason is None:
            detail += f"; celery {', '.join(names)}"
        out.append(PartStatus(part, pid, reason is None, detail))
    return out


def main(config: StackConfig, action: str, fresh: bool, show: Callable[[list], bool]) -> int:
    """``python -m mm2_stack airflow up|down|status`` (``show`` prints the statuses; True when all are healthy)."""
    if action == "up":
        up(config, fresh=fresh)
        return 0 if show(status(config)) else 1
    if action == "down":
        stopped = down(config)
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
        return 0
    return 0 if show(status(config)) else 1
