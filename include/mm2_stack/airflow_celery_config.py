"""The distributed local Airflow's facts, without starting anything: its parts, ports, folders, secrets, command lines,
Redis' configuration and every component's environment (:mod:`mm2_stack.airflow_celery` starts and stops them).
"""

from __future__ import annotations

import base64
import json
import os
import secrets as _secrets
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from mm2_stack.airflow_hostname import VARIABLE as HOSTNAME_VARIABLE
from mm2_stack.airflow_server import port_offset, standalone_env
from mm2_stack.config import StackConfig, StackError

WORKERS = ("worker-a", "worker-b")
#: Every process, in start order (``down`` stops them in reverse).
PARTS = ("postgres", "redis", "api-server", "scheduler", "dag-processor", "triggerer", *WORKERS)
#: The components /api/v2/monitor/health reports, by part.
HEALTH_KEYS = {"scheduler": "scheduler", "dag-processor": "dag_processor", "triggerer": "triggerer"}
DB_USER = "airflow"
DB_NAME = "airflow"
#: Task slots per worker (Celery's prefork children; Airflow's default, 16, is RSS for nothing: a run needs <= 5).
WORKER_CONCURRENCY = 4
SECRET_NAMES = ("postgres", "redis", "jwt_secret", "api_secret_key", "fernet_key")


@dataclass(frozen=True)
class AirflowPorts:
    """The distributed Airflow's ports on 127.0.0.1 (a block of the stack's scheme no other part uses: 186xx;
    ``make ui`` and the tests' standalone take 18080-18372), each shifted by ``MM2_STACK_PORT_OFFSET``."""

    api: int = 18680
    postgres: int = 18632
    redis: int = 18679
    worker_a_logs: int = 18693
    worker_b_logs: int = 18694
    trigger_logs: int = 18695

    @classmethod
    def for_stack(cls, config: StackConfig) -> AirflowPorts:
        offset = port_offset(config)
        return cls(**{f.name: getattr(cls(), f.name) + offset for f in fields(cls)})

    def worker_logs(self, worker: str) -> int:
        """The port of ``worker``'s log server."""
        return getattr(self, f"{worker.replace('-', '_')}_logs")

    def of(self, part: str) -> list[int]:
        """The ports ``part`` listens on."""
        if part in WORKERS:
            return [self.worker_logs(part)]
        return {"postgres": [self.postgres], "redis": [self.redis], "api-server": [self.api],
                "triggerer": [self.trigger_logs]}.get(part, [])


@dataclass(frozen=True)
class Layout:
    """The distributed Airflow's folders, all under ``<run folder>/airflow``."""

    root: Path

    @classmethod
    def for_stack(cls, config: StackConfig) -> Layout:
        return cls(config.run_dir / "airflow")

    @property
    def pgdata(self) -> Path:
        return self.root / "postgres"

    @property
    def redis_dir(self) -> Path:
        return self.root / "redis"

    @property
    def redis_conf(self) -> Path:
        return self.redis_dir / "redis.conf"

    @property
    def home(self) -> Path:
        """AIRFLOW_HOME of the api-server, scheduler, dag-processor and triggerer (the admin's passwords file)."""
        return self.root / "home"

    def worker_home(self, worker: str) -> Path:
        """A worker's working directory and AIRFLOW_HOME."""
        return self.root / worker

    @property
    def task_logs(self) -> Path:
        return self.root / "task-logs"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def secrets_file(self) -> Path:
        return self.root / "secrets.json"


def pid_name(part: str) -> str:
    """The part's name among the stack's pid files and logs: ``airflow-<part>``."""
    return f"airflow-{part}"


# --------------------------------------------------------------------------------------------------- secrets
def new_secrets() -> dict[str, str]:
    """Fresh passwords and keys: Postgres', Redis', the JWT secret, the API secret key, a Fernet key."""
    out = {name: _secrets.token_urlsafe(24) for name in SECRET_NAMES}
    out["fernet_key"] = base64.urlsafe_b64encode(os.urandom(32)).decode()
    return out


def load_secrets(layout: Layout) -> dict[str, str]:
    """The secrets of this Airflow, made once (mode 0600) and kept until ``--fresh``.

    :raises StackError: the file is not JSON or lacks a secret.
    """
    try:
        kept = json.loads(layout.secrets_file.read_text())
    except FileNotFoundError:
        kept = new_secrets()
        layout.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(layout.secrets_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(kept, fh)
    except ValueError as exc:
        raise StackError("airflow", f"{layout.secrets_file} is not JSON ({exc}): `airflow up --fresh` rebuilds") from None
    missing = [n for n in SECRET_NAMES if not kept.get(n)]
    if missing:
        raise StackError("airflow", f"{layout.secrets_file} lacks {', '.join(missing)}: `airflow up --fresh` rebuilds")
    return kept


# ----------------------------------------------------------------------------------------- command lines
def postgres_bin(which: Callable[[str], str | None] = shutil.which, root: Path = Path("/usr/lib/postgresql")) -> Path:
    """The folder of PostgreSQL's server programs: Debian's newest ``/usr/lib/postgresql/<v>/bin``, else the one
    of ``initdb`` on PATH.

    :raises StackError: no PostgreSQL server installed.
    """
    versions = sorted((p for p in root.glob("*/bin") if (p / "initdb").exists()),
                      key=lambda p: [int(x) for x in p.parent.name.split(".") if x.isdigit()])
    if versions:
        return versions[-1]
    found = which("initdb")
    if found:
        return Path(found).resolve().parent
    raise StackError("postgres", "no PostgreSQL server (initdb): `make debs` installs Debian's postgresql")


def as_postgres_user(argv: Sequence[str], euid: int | None = None) -> list[str]:
    """``argv`` as the ``postgres`` user when run as root (PostgreSQL refuses root), through ``setpriv`` (it execs:
    the PID is the program's)."""
    if (os.geteuid() if euid is None else euid) != 0:
        return list(argv)
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", *argv]


def initdb_argv(bindir: Path, pgdata: Path, pwfile: Path) -> list[str]:
    """A new cluster whose superuser is ``airflow`` with the password in ``pwfile``; password auth only."""
    return [str(bindir / "initdb"), "-D", str(pgdata), f"--username={DB_USER}", f"--pwfile={pwfile}",
            "--auth=scram-sha-256", "--encoding=UTF8", "--no-locale"]


def postgres_argv(bindir: Path, pgdata: Path, port: int) -> list[str]:
    """The server on 127.0.0.1:``port`` only (no Unix socket: no /var/run/postgresql needed), logging to stderr."""
    settings = {"listen_addresses": "127.0.0.1", "port": str(port), "unix_socket_directories": "",
                "max_connections": "200", "shared_buffers": "64MB", "logging_collector": "off"}
    return [str(bindir / "postgres"), "-D", str(pgdata), *(a for k, v in settings.items() for a in ("-c", f"{k}={v}"))]


def redis_conf(port: int, password: str, folder: Path) -> str:
    """redis-server's configuration: 127.0.0.1:``port``, ``requirepass`` (in the file, not on a command line),
    snapshots in ``folder`` (kept across ``up``)."""
    return "".join(f"{line}\n" for line in (
        "# Written by `python -m mm2_stack airflow up`: the Celery broker of the distributed Airflow. Secret.",
        "bind 127.0.0.1", f"port {port}", "protected-mode yes", f"requirepass {password}", "daemonize no",
        f"dir {folder}", "dbfilename dump.rdb", "save 60 1", "appendonly no", "logfile \"\"", "databases 2"))


def airflow_argv(part: str, layout: Layout, airflow: str = "airflow") -> list[str]:
    """The Airflow component's command; a worker runs in its own folder (``env -C``: it execs, same PID)."""
    if part not in WORKERS:
        return [airflow, part]
    return ["env", "-C", str(layout.worker_home(part)), airflow, "celery", "worker", "--celery-hostname",
            f"{part}@%h", "--concurrency", str(WORKER_CONCURRENCY)]


def db_url(ports: AirflowPorts, password: str, driver: str = "postgresql+psycopg2") -> str:
    return f"{driver}://{DB_USER}:{password}@127.0.0.1:{ports.postgres}/{DB_NAME}"


def broker_url(ports: AirflowPorts, password: str) -> str:
    return f"redis://:{password}@127.0.0.1:{ports.redis}/0"


def celery_env(layout: Layout, ports: AirflowPorts, secrets: dict[str, str], part: str) -> dict[str, str]:
    """What the CeleryExecutor setup adds to ``airflow standalone``'s environment, for ``part``."""
    env = {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url(ports, secrets["postgres"]),
        "AIRFLOW__CELERY__BROKER_URL": broker_url(ports, secrets["redis"]),
        "AIRFLOW__CELERY__RESULT_BACKEND": db_url(ports, secrets["postgres"], "db+postgresql+psycopg2"),
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets["jwt_secret"],
        "AIRFLOW__API__SECRET_KEY": secrets["api_secret_key"],
        "AIRFLOW__CORE__FERNET_KEY": secrets["fernet_key"],
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(layout.task_logs),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(ports.worker_logs(part if part in WORKERS else WORKERS[0])),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(ports.trigger_logs),
        "MM2_SMOKE_REPORT_DIR": str(layout.reports),
    }
    if part in WORKERS:
        env.update({"AIRFLOW_HOME": str(layout.worker_home(part)), HOSTNAME_VARIABLE: part,
                    "AIRFLOW__CORE__HOSTNAME_CALLABLE": "mm2_stack.airflow_hostname.hostname"})
    return env


def component_env(config: StackConfig, layout: Layout, ports: AirflowPorts, secrets: dict[str, str], part: str,
                  schedule: bool = False) -> dict[str, str]:
    """The whole environment of an Airflow component (standalone's, then :func:`celery_env`; an exported
    ``MM2_SMOKE_REPORT_DIR`` still wins)."""
    env = standalone_env(config, layout.home, ports.api, schedule=schedule,
                         extra=celery_env(layout, ports, secrets, part))
    if os.environ.get("MM2_SMOKE_REPORT_DIR"):
        env["MM2_SMOKE_REPORT_DIR"] = os.environ["MM2_SMOKE_REPORT_DIR"]
    return env


def redis_command(*args: str) -> bytes:
    """One command in Redis' protocol (RESP arrays of bulk strings)."""
    out = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        raw = arg.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
    return b"".join(out)
