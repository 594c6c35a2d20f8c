"""Environment precedence of `make demo` / `make ui`: an exported variable beats the stack's env file."""

from __future__ import annotations

from pathlib import Path

from mm2_stack.airflow_run import airflow_env, merge_env
from mm2_stack.config import StackConfig

FILE = {"AIRFLOW_CONN_PROMETHEUS": '{"host":"127.0.0.1","port":19090}', "KAFKA_USER": "smoke"}
RUNNER = {"AIRFLOW_HOME": "/home/af"}
DEFAULTS = {"MM2_SMOKE_REPORT_DIR": "/home/af/reports"}


def test_an_exported_connection_beats_the_env_file() -> None:
    env = merge_env({"AIRFLOW_CONN_PROMETHEUS": "http://other:9090", "HOME": "/root"}, FILE, RUNNER, DEFAULTS)
    assert env["AIRFLOW_CONN_PROMETHEUS"] == "http://other:9090"
    assert env["KAFKA_USER"] == "smoke"  # not exported: the file's
    assert env["HOME"] == "/root"


def test_an_exported_report_dir_beats_the_default() -> None:
    assert merge_env({"MM2_SMOKE_REPORT_DIR": "/somewhere"}, FILE, RUNNER, DEFAULTS)["MM2_SMOKE_REPORT_DIR"] == \
        "/somewhere"
    assert merge_env({}, FILE, RUNNER, DEFAULTS)["MM2_SMOKE_REPORT_DIR"] == "/home/af/reports"


def test_an_empty_exported_variable_is_unset() -> None:
    env = merge_env({"AIRFLOW_CONN_PROMETHEUS": "", "MM2_SMOKE_REPORT_DIR": ""}, FILE, RUNNER, DEFAULTS)
    assert env["AIRFLOW_CONN_PROMETHEUS"] == FILE["AIRFLOW_CONN_PROMETHEUS"]
    assert env["MM2_SMOKE_REPORT_DIR"] == "/home/af/reports"


def test_the_runner_settings_and_the_callers_extra_come_last() -> None:
    env = merge_env({"AIRFLOW_HOME": "/elsewhere", "AIRFLOW_CONN_PROMETHEUS": "x"}, FILE, RUNNER, DEFAULTS,
                    extra={"AIRFLOW_CONN_PROMETHEUS": "from-the-caller"})
    assert env["AIRFLOW_HOME"] == "/home/af"
    assert env["AIRFLOW_CONN_PROMETHEUS"] == "from-the-caller"


def test_airflow_env_reads_the_file_under_the_exported_environment(tmp_path: Path, monkeypatch) -> None:
    config = StackConfig(root=tmp_path)
    config.env_file.write_text("AIRFLOW_CONN_PROMETHEUS='from-the-file'\nAIRFLOW_CONN_KAFKA_SOURCE='src'\n")
    monkeypatch.setenv("AIRFLOW_CONN_PROMETHEUS", "exported")
    monkeypatch.setenv("MM2_SMOKE_REPORT_DIR", str(tmp_path / "mine"))
    env = airflow_env(config, tmp_path / "home")
    assert env["AIRFLOW_CONN_PROMETHEUS"] == "exported"
    assert env["AIRFLOW_CONN_KAFKA_SOURCE"] == "src"
    assert env["MM2_SMOKE_REPORT_DIR"] == str(tmp_path / "mine")
    assert env["AIRFLOW_HOME"] == str(tmp_path / "home")
