"""``python -m mm2_stack.airflow_run`` (``make demo``) ends with the one clear Param error (issue 26: it was line 46
of 57), whether Airflow refused the run conf or the pre-flight did."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

import pytest

from mm2_stack import airflow_run
from mm2_stack.airflow_run import DagRunResult, param_error


def airflow_refusal() -> str:
    """What ``airflow dags test`` prints when a Param's schema refuses the conf: Airflow's own exception, with
    jsonschema's dump of the schema after it, then more log lines."""
    from airflow.sdk import Param
    from airflow.sdk.definitions.param import ParamsDict

    params = ParamsDict({"topic_prefix": Param("test-prometheus", type="string", pattern="^[a-zA-Z0-9._-]{1,249}$")})
    try:
        params["topic_prefix"] = "has space"
    except Exception as exc:  # noqa: BLE001 - the text is what the test needs
        refusal = "".join(traceback.format_exception(exc))
    else:
        raise AssertionError("Airflow accepted an invalid Param")
    schema_dump = "\nFailed validating 'pattern' in schema:\n    {'type': 'string', 'pattern': '...'}\n\nOn instance:\n"
    return "INFO - Filling up the DagBag\n" + refusal + schema_dump + "    'has space'\nINFO - done\n"


def settings_report(status: str = "UNKNOWN") -> dict[str, Any]:
    reason = "invalid Param: topic_prefix='xxx' (250 characters) ...: shorten topic_prefix to at most 220 characters"
    return {"verdict": "UNKNOWN", "checks": [
        {"name": "connections", "status": "GO", "reason": ""},
        {"name": "settings", "status": status, "reason": reason if status != "GO" else "", "evidence": "preflight"}]}


def test_the_param_error_is_the_preflights_settings_check_or_airflows_refusal_first_line() -> None:
    assert param_error("", settings_report()).startswith("invalid Param: topic_prefix='xxx'")
    assert param_error("", settings_report("GO")) == ""
    assert param_error("lots of output", None) == ""
    error = param_error(airflow_refusal(), None)
    assert error.startswith("invalid Param: topic_prefix: ")
    assert "has space" in error and "\n" not in error and "Failed validating" not in error


def run_main(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, result: DagRunResult) -> None:
    monkeypatch.setattr(airflow_run.StackConfig, "from_env", classmethod(lambda cls: object()))
    monkeypatch.setattr(airflow_run, "airflow_env", lambda config, home: {"MM2_SMOKE_REPORT_DIR": str(tmp_path)})
    monkeypatch.setattr(airflow_run, "ensure_db", lambda env: None)
    monkeypatch.setattr(airflow_run, "dags_test", lambda env, conf: result)
    airflow_run.main(["--airflow-home", str(tmp_path / "home")])


def test_a_refused_conf_ends_the_output_with_its_param_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    run_main(monkeypatch, tmp_path, DagRunResult(1, 3.0, airflow_refusal(), None, None))
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-2].startswith("error: the DAG run wrote no report")
    assert err[-1].startswith("error: invalid Param: topic_prefix: ") and "has space" in err[-1]


def test_a_preflight_refusal_ends_the_output_after_the_checklist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    report_path = tmp_path / "run.json"
    report_path.with_suffix(".md").write_text("| row | ... |\n" * 50)
    run_main(monkeypatch, tmp_path, DagRunResult(1, 3.0, "", settings_report(), report_path))
    out = capsys.readouterr()
    assert out.out.rstrip().splitlines()[-1].startswith("report: ")
    assert out.err.strip().splitlines()[-1].startswith("error: invalid Param: topic_prefix='xxx'")
