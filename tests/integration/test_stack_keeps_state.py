"""`up` never destroys state it was not asked to: on a running stack with a fault it starts only what is stopped,
leaves data, passwords and the fault as they are, and says what looks unhealthy; `make demo` then judges the chain
as it is (NOGO on a paused connector, never a GO on a rebuilt stack)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.parse

import pytest

from mm2_stack import faults, kafka, metrics_store, proc, stack
from mm2_stack.config import REPO_ROOT, StackConfig, load_passwords

pytestmark = pytest.mark.integration


def _state(config: StackConfig) -> tuple[bytes, ...]:
    """What `up` must not touch: the passwords file, the env file, each cluster's data (its cluster id: a rebuilt
    cluster gets a new one)."""
    return (config.secrets_file.read_bytes(), config.env_file.read_bytes(),
            *((config.run_dir / c / "data" / "meta.properties").read_bytes() for c in kafka.CLUSTERS))


def _pids(config: StackConfig) -> dict[str, int | None]:
    return {part: proc.running_pid(config, part) for part in config.parts}


def test_up_on_a_frozen_broker_warns_and_changes_nothing(live_stack: StackConfig, capfd, record_number) -> None:
    before, pids = _state(live_stack), _pids(live_stack)
    broker = pids["source"]
    assert broker is not None
    os.kill(broker, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        timings = stack.up(live_stack)
        seconds = time.monotonic() - t0
    finally:
        os.kill(broker, signal.SIGCONT)
    err = capfd.readouterr().err
    assert timings == {}, "nothing was stopped: nothing may be started"
    assert f"warning: source (pid {broker}) looks unhealthy" in err
    assert _state(live_stack) == before
    assert _pids(live_stack) == pids
    passwords = load_passwords(live_stack)
    proc.wait_until(live_stack, "source", lambda: kafka.metadata_probe(live_stack, "source", passwords), 60,
                    "the thawed broker's metadata")
    record_number(f"up on a frozen source broker: warned in {seconds:.1f} s, passwords/env/data unchanged")


def test_up_starts_only_a_stopped_part_on_its_existing_data(live_stack: StackConfig, record_number) -> None:
    before, pids = _state(live_stack), _pids(live_stack)
    store = live_stack.metrics_store
    stopped_at = time.time()
    faults.inject(live_stack, "prometheus-down")
    try:
        timings = stack.up(live_stack)
    finally:
        faults.heal_prometheus_down(live_stack)  # a no-op when `up` started it
    assert list(timings) == [store, "total"]
    after = _pids(live_stack)
    assert after[store] not in (None, pids[store])
    assert {p: v for p, v in after.items() if p != store} == {p: v for p, v in pids.items() if p != store}
    assert _state(live_stack) == before
    # The store kept its data: samples from before the restart are still there.
    query = urllib.parse.urlencode({"query": f"count_over_time(up[1m] @ {stopped_at:.0f})"})
    old = metrics_store.api(live_stack, f"/api/v1/query?{query}")
    assert old["data"]["result"] and float(old["data"]["result"][0]["value"][1]) >= 2, old
    record_number(f"up with the {store} stopped: started only it, on its data, in {timings['total']:.1f} s")


def test_demo_on_a_paused_connector_is_not_go_and_keeps_the_state(live_stack: StackConfig, airflow_home,
                                                                  record_number) -> None:
    before = _state(live_stack)
    faults.inject(live_stack, "connector-paused")
    try:
        t0 = time.monotonic()
        # `make demo`: `python -m mm2_stack up`, then `python -m mm2_stack.airflow_run`.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(REPO_ROOT / d) for d in ("plugins", "include", "dags"))}
        up = subprocess.run([sys.executable, "-m", "mm2_stack", "up"], capture_output=True, text=True,
                            cwd=REPO_ROOT, env=env, timeout=120)
        demo = subprocess.run([sys.executable, "-m", "mm2_stack.airflow_run", "--airflow-home", str(airflow_home)],
                              capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=300)
        seconds = time.monotonic() - t0
        assert up.returncode == 0, up.stderr
        assert "warning: connect" in up.stderr and "PAUSED" in up.stderr, up.stderr
        assert demo.returncode == 1, demo.stdout[-3000:] + demo.stderr[-3000:]
        verdict = [line for line in demo.stdout.splitlines() if line.startswith("verdict: ")]
        assert verdict and verdict[-1].split()[1] in ("NOGO", "UNKNOWN"), demo.stdout[-3000:]
        assert _state(live_stack) == before
    finally:
        faults.heal(live_stack, "connector-paused")
    record_number(f"make demo on a paused connector: {verdict[-1]}; up + demo {seconds:.1f} s; state unchanged")
