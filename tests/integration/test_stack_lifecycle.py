"""The stack controller's lifecycle: `up` twice is safe, `down` leaves no process, failures name the part."""

from __future__ import annotations

import socket
import sys
import time

import pytest

from mm2_stack import proc, stack
from mm2_stack.config import StackConfig, StackError


def test_a_part_that_dies_fails_with_its_name_and_log_tail(tmp_path) -> None:
    config = StackConfig(root=tmp_path)
    config.run_dir.mkdir(parents=True)
    proc.spawn(config, "fakebroker", [sys.executable, "-c",
                                      "import sys; print('FATAL could not bind 127.0.0.1:1', flush=True); sys.exit(3)"])
    with pytest.raises(StackError) as err:
        proc.wait_until(config, "fakebroker", lambda: "port closed", timeout_s=30, what="broker metadata")
    text = str(err.value)
    assert err.value.part == "fakebroker"
    assert text.startswith("[fakebroker] the process exited while waiting for broker metadata")
    assert "FATAL could not bind 127.0.0.1:1" in text


def test_a_part_that_never_gets_ready_times_out_with_its_name(tmp_path) -> None:
    config = StackConfig(root=tmp_path)
    config.run_dir.mkdir(parents=True)
    pid = proc.spawn(config, "slowpart", [sys.executable, "-c", "print('still starting', flush=True); "
                                          "import time; time.sleep(60)"])
    try:
        with pytest.raises(StackError, match=r"^\[slowpart\] not ready after 1 s: waiting for REST, last seen: 503"):
            proc.wait_until(config, "slowpart", lambda: "503", timeout_s=1, what="REST", interval_s=0.1)
    finally:
        assert proc.stop(config, "slowpart")
    assert not proc.is_alive(pid)


def _rss_mib(pid: int | None) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.integration
@pytest.mark.stack_lifecycle
def test_up_twice_is_safe_and_down_leaves_no_process(live_stack: StackConfig, record_number) -> None:
    pids_before = {part: proc.running_pid(live_stack, part) for part in live_stack.parts}
    assert all(pids_before.values()), pids_before
    rss = {part: _rss_mib(pid) for part, pid in pids_before.items()}
    record_number(f"stack RSS after the whole suite: {sum(rss.values()):.0f} MiB in all ({', '.join(f'{p} {v:.0f}' for p, v in rss.items())} MiB)")

    t0 = time.monotonic()
    assert stack.up(live_stack) == {}, "a second `up` on a healthy stack must be a no-op"
    assert time.monotonic() - t0 < 30
    assert {part: proc.running_pid(live_stack, part) for part in live_stack.parts} == pids_before

    stopped = stack.down(live_stack)

    assert sorted(stopped) == sorted(live_stack.parts)
    for part, pid in pids_before.items():
        assert not proc.is_alive(pid), f"{part} (pid {pid}) still running after down"
    ports = live_stack.ports
    for port in (ports.source_broker, ports.target_broker, ports.connect_rest, ports.jmx_exporter, ports.prometheus):
        assert not _port_open(port), f"port {port} still open after down"
    assert all(not s.healthy and s.pid is None for s in stack.status(live_stack))
    assert stack.down(live_stack) == [], "down on a stopped stack stops nothing"
