"""Fixtures of the integration tests that only some tests request: each starts on first use."""

from __future__ import annotations

import os

import pytest

from mm2_stack.airflow_server import AirflowServer, port_offset
from mm2_stack.config import StackConfig
from tests.support.airflow_api import TEST_UI_PORT, AirflowApi, free_port_block

_STARTED_SERVERS: list[AirflowServer] = []
#: The failover check (failover_check=auto) adds its wait to every run; the runs of the other tests go without it
#: (MM2_SMOKE_FAILOVER_CHECK=off, the Param's default in the DAG file), and the tests about it ask for it.
os.environ.setdefault("MM2_SMOKE_FAILOVER_CHECK", "off")


@pytest.fixture(autouse=True)
def _latency_window_clear(request):
    """A heal that did not wait for MM2's 60 s latency window (``heal(..., latency=False)``) leaves a note in the run
    folder; a test that reads MM2's latency (every test not marked ``latency_insensitive``) waits for the window
    first (``faults.settle``), so the tests in between overlap the wait instead of adding it."""
    if "live_stack" in request.fixturenames and request.node.get_closest_marker("latency_insensitive") is None:
        from mm2_stack import faults
        from mm2_stack.probe import latency_window_dirty

        config = request.getfixturevalue("live_stack")
        if latency_window_dirty(config):
            faults.settle(config)
    yield


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.fixture(scope="module")
def conns(live_stack: StackConfig, monkeypatch_module) -> dict[str, str]:
    """The stack's Airflow connections in this process's environment (hooks read them as Airflow does)."""
    from mm2_stack.airflow_run import read_env_file

    env = read_env_file(live_stack.env_file)
    for key, value in env.items():
        if key.startswith("AIRFLOW_CONN_"):
            monkeypatch_module.setenv(key, value)
    return env  # the airflow_server of this session, while it runs


@pytest.fixture(scope="session")
def airflow_server(live_stack: StackConfig, tmp_path_factory, record_number):
    """Airflow as `make ui` starts it (`mm2_stack.airflow_server.AirflowServer`: airflow standalone on SQLite with the stack's
    connections; scheduler, triggerer, dag-processor, API server; runs only when triggered), in a temporary
    AIRFLOW_HOME, healthy and with the DAG parsed.

    Port: 18180 + MM2_STACK_PORT_OFFSET (next to a running `make ui` on 18080), or the next free block of three.
    Stopped (every process it started) after the last test of the session that uses it.
    """
    home = tmp_path_factory.mktemp("airflow_ui_home")
    # Two runs may overlap (test_airflow_ui_concurrent): each must count only its own messages.
    server = AirflowServer(live_stack, home, free_port_block(TEST_UI_PORT + port_offset(live_stack)),
                           extra_env={"MM2_SMOKE_MAX_ACTIVE_RUNS": "2"})
    with server:  # start + wait_ready (StackError with standalone.log's tail if it cannot) ... stop
        record_number(f"airflow standalone: healthy and DAG parsed {server.ready_seconds:.1f} s after start "
                      f"(port {server.port}, home {home})")
        _STARTED_SERVERS.append(server)
        try:
            yield server
        finally:
            _STARTED_SERVERS.remove(server)


@pytest.fixture(scope="session")
def airflow_api(airflow_server: AirflowServer) -> AirflowApi:
    """The tests' REST API v2 client (trigger, wait for a run, task instances, logs, event log) of airflow_server."""
    return AirflowApi(airflow_server)


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Stop airflow_server after its last test rather than at the end of the session: an idle Airflow (scheduler,
    dag-processor, triggerer, API server) would take CPU from the timing-sensitive tests that follow."""
    if not _STARTED_SERVERS or "airflow_server" not in getattr(item, "fixturenames", ()):
        return
    items = item.session.items
    later = items[items.index(item) + 1:] if item in items else []
    if not any("airflow_server" in getattr(other, "fixturenames", ()) for other in later):
        for server in _STARTED_SERVERS:
            server.stop()  # the fixture's own stop at the session's end is then a no-op
