"""The distributed local Airflow's pure parts (``python -m mm2_stack airflow``), without starting anything: its ports,
folders, secrets, command lines, Redis' configuration, every component's environment, and the CLI's wiring."""

from __future__ import annotations

import importlib
import json
import socket
import stat
import threading
from dataclasses import fields
from pathlib import Path

import pytest

from mm2_stack import airflow_celery, airflow_hostname
from mm2_stack.airflow_celery_config import (
    PARTS,
    SECRET_NAMES,
    WORKER_CONCURRENCY,
    WORKERS,
    AirflowPorts,
    Layout,
    airflow_argv,
    as_postgres_user,
    broker_url,
    component_env,
    db_url,
    initdb_argv,
    load_secrets,
    new_secrets,
    pid_name,
    postgres_argv,
    postgres_bin,
    redis_command,
    redis_conf,
)
from mm2_stack.config import Ports, StackConfig, StackError
from mm2_stack.proc import PARTS as CHAIN_PARTS

#: The standalone Airflows' API server + two log servers: `make ui` (18080), the tests' (18180, stepping by 10 up to
#: 20 tries), the budget (18280) and the soak (18380).
STANDALONE_PORTS = {base + k for base in (18080, 18280, 18380, *range(18180, 18380, 10)) for k in range(3)}


@pytest.fixture
def layout(config: StackConfig) -> Layout:
    return Layout.for_stack(config)


@pytest.fixture
def secrets() -> dict[str, str]:
    return {name: f"{name}-secret" for name in SECRET_NAMES}


def _ports(p: AirflowPorts) -> list[int]:
    return [getattr(p, f.name) for f in fields(p)]


# ---------------------------------------------------------------------------------------------- ports, folders
def test_the_ports_are_one_block_of_their_own_shifted_with_the_stack(config: StackConfig) -> None:
    default = AirflowPorts()
    assert len(set(_ports(default))) == len(_ports(default)), "two parts on one port"
    assert {p // 100 for p in _ports(default)} == {186}, "one block: 186xx"
    chain = set(Ports().__dict__.values())
    assert not (set(_ports(default)) & (chain | STANDALONE_PORTS))
    shifted = AirflowPorts.for_stack(config)  # the fixture's stack is shifted by 300
    assert _ports(shifted) == [p + 300 for p in _ports(default)]
    listening = [port for part in PARTS for port in shifted.of(part)]
    assert sorted(listening) == sorted(_ports(shifted)), "every port is some part's, once"
    assert shifted.of("worker-a") != shifted.of("worker-b"), "each worker's log server on its own port"
    assert shifted.of("scheduler") == shifted.of("dag-processor") == []


def test_the_folders_live_in_the_stacks_run_folder_and_each_worker_has_its_own(config: StackConfig,
                                                                               layout: Layout) -> None:
    assert layout.root == config.run_dir / "airflow"
    homes = {layout.worker_home(w) for w in WORKERS} | {layout.home}
    assert len(homes) == 3 and all(h.parent == layout.root for h in homes)
    assert layout.pgdata.parent == layout.redis_dir.parent == layout.root
    assert {pid_name(p) for p in PARTS}.isdisjoint(CHAIN_PARTS), "the chain's `down` must not stop these"
    assert pid_name("worker-a") == "airflow-worker-a"


# ------------------------------------------------------------------------------------------------ secrets
def test_secrets_are_made_once_private_and_kept(layout: Layout) -> None:
    first = load_secrets(layout)
    assert set(first) == set(SECRET_NAMES) and len(set(first.values())) == len(SECRET_NAMES)
    from cryptography.fernet import Fernet

    Fernet(first["fernet_key"].encode())
    assert stat.S_IMODE(layout.secrets_file.stat().st_mode) == 0o600
    assert load_secrets(layout) == first
    assert new_secrets() != first


def test_a_broken_secrets_file_is_refused_with_the_fix(layout: Layout) -> None:
    layout.root.mkdir(parents=True)
    layout.secrets_file.write_text("{nope")
    with pytest.raises(StackError, match="not JSON.*--fresh"):
        load_secrets(layout)
    layout.secrets_file.write_text(json.dumps({"postgres": "x"}))
    with pytest.raises(StackError, match="lacks redis, jwt_secret.*--fresh"):
        load_secrets(layout)


# ------------------------------------------------------------------------------------------- command lines
def test_postgres_bin_takes_debians_newest_then_path_then_says_how_to_install(tmp_path: Path) -> None:
    for version in ("9.6", "15", "16"):
        (tmp_path / version / "bin").mkdir(parents=True)
        (tmp_path / version / "bin" / "initdb").touch()
    (tmp_path / "17" / "bin").mkdir(parents=True)  # a client-only install: no initdb
    assert postgres_bin(lambda _: None, tmp_path) == tmp_path / "16" / "bin"
    empty = tmp_path / "none"
    local = tmp_path / "local" / "initdb"
    local.parent.mkdir()
    local.touch()
    assert postgres_bin(lambda _: str(local), empty) == local.parent
    with pytest.raises(StackError, match="make debs"):
        postgres_bin(lambda _: None, empty)


def test_postgres_runs_as_the_postgres_user_only_under_root() -> None:
    argv = ["/usr/lib/postgresql/15/bin/postgres", "-D", "x"]
    assert as_postgres_user(argv, euid=1000) == argv
    root = as_postgres_user(argv, euid=0)
    assert root[0] == "setpriv" and "--reuid=postgres" in root and root[root.index("--") + 1:] == argv


def test_the_cluster_takes_passwords_only_and_listens_on_loopback_tcp(tmp_path: Path) -> None:
    init = initdb_argv(tmp_path / "bin", tmp_path / "pg", tmp_path / "pw")
    assert init[0] == str(tmp_path / "bin" / "initdb")
    assert {"--username=airflow", f"--pwfile={tmp_path / 'pw'}", "--auth=scram-sha-256"} <= set(init)
    server = postgres_argv(tmp_path / "bin", tmp_path / "pg", 18632)
    assert server[:3] == [str(tmp_path / "bin" / "postgres"), "-D", str(tmp_path / "pg")]
    settings = dict(server[i + 1].split("=", 1) for i in range(3, len(server), 2) if server[i] == "-c")
    assert settings["listen_addresses"] == "127.0.0.1" and settings["port"] == "18632"
    assert settings["unix_socket_directories"] == "", "no socket folder needed (/var/run/postgresql)"


def test_redis_listens_on_loopback_with_a_password_in_its_file_and_keeps_its_data(tmp_path: Path) -> None:
    text = redis_conf(18679, "s3cret", tmp_path)
    conf = dict(line.split(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert conf["bind"] == "127.0.0.1" and conf["port"] == "18679" and conf["requirepass"] == "s3cret"
    assert conf["dir"] == str(tmp_path) and conf["daemonize"] == "no" and conf["protected-mode"] == "yes"
    assert conf["save"] != '""', "the queue survives a restart"


def test_redis_commands_are_resp_arrays() -> None:
    assert redis_command("PING") == b"*1\r\n$4\r\nPING\r\n"
    assert redis_command("AUTH", "pä") == b"*2\r\n$4\r\nAUTH\r\n$3\r\np\xc3\xa4\r\n"


def test_the_components_commands_and_each_worker_in_its_own_folder_and_name(layout: Layout) -> None:
    for part in ("api-server", "scheduler", "dag-processor", "triggerer"):
        assert airflow_argv(part, layout, "/venv/airflow") == ["/venv/airflow", part]
    for worker in WORKERS:
        argv = airflow_argv(worker, layout, "/venv/airflow")
        assert argv[:3] == ["env", "-C", str(layout.worker_home(worker))]
        assert argv[3:6] == ["/venv/airflow", "celery", "worker"]
        assert argv[argv.index("--celery-hostname") + 1] == f"{worker}@%h"
        assert argv[argv.index("--concurrency") + 1] == str(WORKER_CONCURRENCY)


# ---------------------------------------------------------------------------------------------- environment
def test_every_component_shares_the_database_broker_and_keys(config: StackConfig, layout: Layout,
                                                              secrets: dict[str, str], monkeypatch) -> None:
    monkeypatch.delenv("MM2_SMOKE_REPORT_DIR", raising=False)
    ports = AirflowPorts.for_stack(config)
    envs = {part: component_env(config, layout, ports, secrets, part) for part in PARTS[2:]}
    shared = ("AIRFLOW__CORE__EXECUTOR", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__BROKER_URL",
              "AIRFLOW__CELERY__RESULT_BACKEND", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY",
              "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "AIRFLOW__LOGGING__BASE_LOG_FOLDER",
              "MM2_SMOKE_REPORT_DIR", "AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW_CONN_PROMETHEUS")
    for key in shared:
        assert len({e[key] for e in envs.values()}) == 1, f"{key} differs between components"
    env = envs["scheduler"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == db_url(ports, "postgres-secret") == (
        f"postgresql+psycopg2://airflow:postgres-secret@127.0.0.1:{ports.postgres}/airflow")
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == (
        f"db+postgresql+psycopg2://airflow:postgres-secret@127.0.0.1:{ports.postgres}/airflow")
    assert env["AIRFLOW__CELERY__BROKER_URL"] == broker_url(ports, "redis-secret") == (
        f"redis://:redis-secret@127.0.0.1:{ports.redis}/0")
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == "jwt_secret-secret"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == f"http://127.0.0.1:{ports.api}/execution/"
    assert env["AIRFLOW__API__PORT"] == str(ports.api)
    assert env["MM2_SMOKE_REPORT_DIR"] == str(layout.reports)
    assert env["AIRFLOW_CONN_PROMETHEUS"] == "http://127.0.0.1:19390", "the stack's connections (its env file)"
    assert env["AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT"] == str(ports.trigger_logs)
    for part in ("api-server", "scheduler", "dag-processor", "triggerer"):
        assert envs[part]["AIRFLOW_HOME"] == str(layout.home)
        assert airflow_hostname.VARIABLE not in envs[part]


def test_each_worker_has_its_own_home_log_server_and_task_host_name(config: StackConfig, layout: Layout,
                                                                    secrets: dict[str, str], monkeypatch) -> None:
    ports = AirflowPorts.for_stack(config)
    for worker in WORKERS:
        env = component_env(config, layout, ports, secrets, worker)
        assert env["AIRFLOW_HOME"] == str(layout.worker_home(worker))
        assert env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] == str(ports.worker_logs(worker))
        assert env[airflow_hostname.VARIABLE] == worker
        module, _, name = env["AIRFLOW__CORE__HOSTNAME_CALLABLE"].rpartition(".")
        callable_ = getattr(importlib.import_module(module), name)
        monkeypatch.setenv(airflow_hostname.VARIABLE, worker)
        assert callable_() == worker
    monkeypatch.delenv(airflow_hostname.VARIABLE)
    assert airflow_hostname.hostname() == socket.getfqdn()
    monkeypatch.setenv("MM2_SMOKE_REPORT_DIR", "/shared/reports")
    assert component_env(config, layout, ports, secrets, "worker-b")["MM2_SMOKE_REPORT_DIR"] == "/shared/reports"


def test_without_the_stacks_env_file_the_components_env_says_to_start_the_stack(tmp_path: Path,
                                                                                secrets: dict[str, str]) -> None:
    config = StackConfig(root=tmp_path / "nothing")
    with pytest.raises(StackError, match="stack-up"):
        component_env(config, Layout.for_stack(config), AirflowPorts(), secrets, "scheduler")


# --------------------------------------------------------------------------------------------------- probes
def test_the_redis_probe_authenticates_then_pings() -> None:
    seen: list[bytes] = []
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]

        def serve(answer: bytes) -> None:
            conn, _ = srv.accept()
            with conn:
                seen.append(conn.recv(1024))
                conn.sendall(answer)

        ports = AirflowPorts(redis=port)
        for answer, expected in ((b"+OK\r\n+PONG\r\n", None), (b"-WRONGPASS invalid\r\n-NOAUTH\r\n", "redis answered")):
            t = threading.Thread(target=serve, args=(answer,))
            t.start()
            result = airflow_celery.redis_probe(ports, "pw")
            t.join()
            assert result == expected if expected is None else expected in result
    assert seen[0] == redis_command("AUTH", "pw") + redis_command("PING")


# ------------------------------------------------------------------------------------------------------ CLI
def test_the_cli_hands_airflow_up_down_status_to_the_module(monkeypatch, tmp_path: Path) -> None:
    from mm2_stack.__main__ import main

    monkeypatch.setenv("MM2_STACK_DIR", str(tmp_path))
    calls = []
    monkeypatch.setattr(airflow_celery, "main", lambda config, action, fresh, show: calls.append((action, fresh)) or 3)
    assert main(["airflow", "up", "--fresh"]) == 3
    assert main(["airflow", "status"]) == 3
    assert calls == [("up", True), ("status", False)]
    with pytest.raises(SystemExit):
        main(["airflow", "restart"])


def test_status_of_nothing_running_names_every_part_down(config: StackConfig) -> None:
    statuses = airflow_celery.status(config)
    assert [s.part for s in statuses] == list(PARTS)
    assert all(not s.healthy and s.pid is None and s.detail == "not running" for s in statuses)
