"""Fixtures of the ``make ui`` and Airflow server tests: a stack as ``mm2_stack up`` leaves it, a busy port."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from mm2_stack.config import Ports, StackConfig


@pytest.fixture
def config(tmp_path: Path) -> StackConfig:
    """A stack whose ``airflow.env`` exists (as ``mm2_stack up`` writes it), shifted by 300 ports."""
    root = tmp_path / "stack"
    root.mkdir()
    (root / "airflow.env").write_text("AIRFLOW_CONN_PROMETHEUS='http://127.0.0.1:19390'\n")
    return StackConfig(root=root, ports=Ports(**{f: v + 300 for f, v in Ports().__dict__.items()}))


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that something listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]
