"""``make ui`` (``python -m mm2_stack.ui``) without starting Airflow: its port, and its exit code and message when
Airflow cannot start."""

from __future__ import annotations

from pathlib import Path

import pytest

from mm2_stack.config import StackConfig
from mm2_stack.ui import default_port, main


def test_the_ui_port_follows_the_stack_port_offset(config: StackConfig) -> None:
    assert default_port(config) == 18080 + 300


def test_make_ui_exits_2_with_the_reason_when_it_cannot_start(config: StackConfig, tmp_path: Path, busy_port: int,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MM2_STACK_DIR", str(config.root))
    monkeypatch.setenv("MM2_STACK_PORT_OFFSET", "300")
    assert main(["--airflow-home", str(tmp_path / "home"), "--port", str(busy_port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: [airflow] port(s)") and str(busy_port) in err, err
