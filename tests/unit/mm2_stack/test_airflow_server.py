"""The Airflow server harness's own logic, without starting Airflow: the admin password, the environment of
``airflow standalone``, its ports, and the refusal to start on a busy port."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from mm2_stack.airflow_server import PASSWORDS_FILE, AirflowServer, ensure_admin_password, standalone_env
from mm2_stack.config import StackConfig, StackError


def test_the_admin_password_is_generated_once_private_and_kept_across_starts(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = ensure_admin_password(home)
    assert len(first) >= 16
    assert ensure_admin_password(home) == first
    path = home / PASSWORDS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text(json.dumps({"admin": first, "viewer": "v"}))
    assert ensure_admin_password(home) == first
    assert json.loads(path.read_text())["viewer"] == "v"


def test_a_passwords_file_that_is_not_json_is_named_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / PASSWORDS_FILE).write_text("{not json")
    with pytest.raises(StackError, match=rf"{PASSWORDS_FILE} is not JSON .*delete it"):
        ensure_admin_password(tmp_path)


def test_standalone_listens_on_its_port_and_the_next_two_with_the_stack_connections(config: StackConfig,
                                                                                     tmp_path: Path) -> None:
    env = standalone_env(config, tmp_path / "home", 18380)
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["AIRFLOW__API__PORT"] == "18380"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18380/execution/"
    assert (env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"], env["AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT"]) == (
        "18381", "18382")
    assert env["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] == "False"
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] == str(tmp_path / "home" / PASSWORDS_FILE)
    assert env["AIRFLOW_CONN_PROMETHEUS"] == "http://127.0.0.1:19390"
    scheduled = standalone_env(config, tmp_path / "home", 18380, schedule=True, extra={"AIRFLOW__API__HOST": "x"})
    assert scheduled["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] == "True"
    assert scheduled["AIRFLOW__API__HOST"] == "x"


def test_start_refuses_a_busy_port_before_starting_anything(config: StackConfig, tmp_path: Path,
                                                            busy_port: int) -> None:
    server = AirflowServer(config, tmp_path / "home", busy_port)
    with pytest.raises(StackError, match=rf"port\(s\) \[{busy_port}.*in use .*pick --port"):
        server.start()
    assert not server.alive()
    assert not (tmp_path / "home").exists()


def test_waiting_for_a_server_never_started_says_to_start_it(config: StackConfig, tmp_path: Path) -> None:
    server = AirflowServer(config, tmp_path / "home", 18380)
    with pytest.raises(StackError, match="not started"):
        server.wait()
    with pytest.raises(StackError, match="not started"):
        server.wait_ready(timeout_s=1)
