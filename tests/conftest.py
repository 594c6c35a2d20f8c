"""Session-wide fixtures: the real local MM2 stack, started once for every integration test."""

from __future__ import annotations

import os

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
    """The running stack. Built here if there is none, its stopped parts started; stopped at the end if this session
    started anything.

    A stack that cannot start fails the test with the part's name and log tail (StackError): never a skip. A stack
    that runs but is unhealthy (a fault left behind, a frozen part) is never wiped on a developer's machine: the
    session fails naming the parts and the fix. Only in CI (``CI=true``, a machine of its own) is it rebuilt with
    ``up --fresh``.
    """
    timings = stack.up(stack_config)
    sick = [s for s in stack.status(stack_config) if not s.healthy]
    if sick and os.environ.get("CI", "").lower() == "true":
        timings = stack.up(stack_config, fresh=True)
    elif sick:
        pytest.fail("the local stack in " + str(stack_config.root) + " runs but is unhealthy: "
                    + "; ".join(f"{s.part}: {s.detail}" for s in sick) + ". The tests do not wipe it: heal the fault "
                    "(`python -m mm2_stack heal <name>`) or rebuild it with `python -m mm2_stack up --fresh` (new data "
                    "and passwords)", pytrace=False)
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
