"""Where the local stack lives, which ports it listens on, and who its users are."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from mm2_smoke.naming import TopicNaming

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = Path(__file__).resolve().parent

KAFKA_VERSION = "4.1.1"
JMX_EXPORTER_JAR = "jmx_prometheus_javaagent-1.0.1.jar"

# The users of both clusters (SASL/PLAIN). ``admin`` is a super user; ``smoke`` is the smoke test's
# client; ``mm2`` is the dedicated MirrorMaker 2 principal (also the Connect worker's).
USERS = ("admin", "smoke", "mm2")


class StackError(RuntimeError):
    """A part of the stack could not be set up or did not become ready.

    :param part: the part that failed (``source``, ``target``, ``connect``, ``prometheus``, ``jars``...).
    :param message: what went wrong and what to do.
    :param log_tail: the last lines of the part's log, if it has one.
    """

    def __init__(self, part: str, message: str, log_tail: str = "") -> None:
        self.part = part
        self.log_tail = log_tail
        text = f"[{part}] {message}"
        if log_tail:
            text += f"\n--- last lines of the {part} log ---\n{log_tail}"
        super().__init__(text)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise StackError("config", f"{name}={raw!r} is not a whole number") from None
    if value <= 0:
        raise StackError("config", f"{name}={raw!r} must be positive")
    return value


@dataclass(frozen=True)
class Ports:
    """TCP ports of the stack, all on 127.0.0.1."""

    source_broker: int = 19092
    source_controller: int = 19093
    target_broker: int = 29092
    target_controller: int = 29093
    connect_rest: int = 18083
    jmx_exporter: int = 19404
    prometheus: int = 19090


@dataclass(frozen=True)
class StackConfig:
    """Settings of the local stack; each can be overridden by the environment variable named.

    :param root: state folder (``MM2_STACK_DIR``, default ``<repo>/.stack``): jars, certs, data, logs.
    :param scrape_interval_s: Prometheus scrape interval in seconds (``MM2_STACK_SCRAPE_INTERVAL_S``, 5).
    :param refresh_topics_s: MM2 ``refresh.topics.interval.seconds`` (``MM2_STACK_REFRESH_TOPICS_S``, 5).
    :param ready_timeout_s: how long ``up`` waits for each part (``MM2_STACK_READY_TIMEOUT_S``, 120).
    :param naming: topic naming (prefix, aliases, separator) shared with the smoke test.
    :param topics_regex: MM2 ``topics`` (``MM2_STACK_TOPICS``, default: every test topic).
    :param ports: the stack's ports; ``MM2_STACK_PORT_OFFSET`` (default 0) shifts them all, so that a second
        stack (with its own ``MM2_STACK_DIR``) can run beside the first.
    """

    root: Path
    ports: Ports = field(default_factory=Ports)
    scrape_interval_s: int = 5
    refresh_topics_s: int = 5
    ready_timeout_s: int = 120
    naming: TopicNaming = field(default_factory=TopicNaming)
    topics_regex: str = ""
    broker_heap_mb: int = 320
    connect_heap_mb: int = 384

    @classmethod
    def from_env(cls) -> StackConfig:
        root = Path(os.environ.get("MM2_STACK_DIR") or REPO_ROOT / ".stack").resolve()
        naming = TopicNaming()
        offset = int(os.environ.get("MM2_STACK_PORT_OFFSET") or 0)
        if not 0 <= offset <= 20000:
            raise StackError("config", f"MM2_STACK_PORT_OFFSET={offset} must be between 0 and 20000")
        ports = Ports(**{f: v + offset for f, v in Ports().__dict__.items()})
        return cls(
            root=root,
            ports=ports,
            scrape_interval_s=_env_int("MM2_STACK_SCRAPE_INTERVAL_S", 5),
            refresh_topics_s=_env_int("MM2_STACK_REFRESH_TOPICS_S", 5),
            ready_timeout_s=_env_int("MM2_STACK_READY_TIMEOUT_S", 120),
            naming=naming,
            topics_regex=os.environ.get("MM2_STACK_TOPICS") or naming.topics_regex,
        )

    # --- folders -------------------------------------------------------------------------------
    @property
    def jars_dir(self) -> Path:
        """Maven jars, kept across stacks (the cache that makes the second ``up`` offline)."""
        return self.root / "jars"

    @property
    def run_dir(self) -> Path:
        """Everything of one stack instance; wiped by a fresh ``up``."""
        return self.root / "run"

    @property
    def logs_dir(self) -> Path:
        return self.run_dir / "logs"

    @property
    def certs_dir(self) -> Path:
        return self.run_dir / "certs"

    @property
    def pids_dir(self) -> Path:
        return self.run_dir / "pids"

    @property
    def ca_file(self) -> Path:
        return self.certs_dir / "ca.pem"

    @property
    def env_file(self) -> Path:
        """The dotenv file with the Airflow connections of this stack."""
        return self.root / "airflow.env"

    @property
    def secrets_file(self) -> Path:
        return self.run_dir / "secrets.json"

    @property
    def classpath(self) -> str:
        return str(self.jars_dir / "*")

    def bootstrap(self, cluster: str) -> str:
        port = self.ports.source_broker if cluster == "source" else self.ports.target_broker
        return f"127.0.0.1:{port}"


def new_passwords() -> dict[str, str]:
    """Fresh random passwords, one per user, for a fresh stack."""
    return {user: secrets.token_urlsafe(18) for user in USERS}


def save_passwords(config: StackConfig, passwords: dict[str, str]) -> None:
    config.secrets_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(config.secrets_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(passwords, fh)


def load_passwords(config: StackConfig) -> dict[str, str]:
    try:
        return json.loads(config.secrets_file.read_text())
    except FileNotFoundError:
        raise StackError("config", f"{config.secrets_file} is missing: run `make stack-up` first") from None
