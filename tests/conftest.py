"""Session-wide fixtures: the real local MM2 stack, started once for every integration test."""

from __future__ import annotations

import pytest

from mm2_stack import stack
from mm2_stack.config import StackConfig

_STACK_TIMINGS: dict[str, float] = {}
_NUMBERS: list[str] = []


def pytest_terminal_summary(terminalreporter) -> None:
    if _STACK_TIMINGS:
        parts = ", ".join(f"{k} {v:.1f} s" for k, v in _STACK_TIMINGS.items())
        terminalreporter.write_line(f"local stack started by this session: {parts}")
    if _NUMBERS:
        terminalreporter.write_sep("-", "numbers measured on the real stack")
        for line in _NUMBERS:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def record_number():
    """Call it with a line of measured numbers: printed in the session's summary (CI shows them)."""
    return _NUMBERS.append


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests that stop the shared stack run last, whatever their file order.
    items.sort(key=lambda item: item.get_closest_marker("stack_lifecycle") is not None)


@pytest.fixture(scope="session")
def stack_config() -> StackConfig:
    return StackConfig.from_env()


@pytest.fixture(scope="session")
def live_stack(stack_config: StackConfig):
    """The running stack. Started here if it is not up; stopped at the end if this session started it.

    A stack that cannot start fails the test with the part's name and log tail (StackError): never a skip.
    """
    timings = stack.up(stack_config)
    _STACK_TIMINGS.update(timings)
    yield stack_config
    if timings:  # this session started it
        stack.down(stack_config)


@pytest.fixture(scope="session")
def airflow_home(live_stack: StackConfig, tmp_path_factory):
    """An Airflow home with a migrated SQLite DB, for `airflow dags test` runs on the live stack."""
    from mm2_stack.airflow_run import airflow_env, ensure_db

    home = tmp_path_factory.mktemp("airflow_home")
    ensure_db(airflow_env(live_stack, home))
    return home
