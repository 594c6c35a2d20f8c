"""Starting, finding and stopping the stack's processes by PID."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from mm2_stack.config import StackConfig, StackError

# Every part a stack may run, in start order; ``down`` stops them in reverse (a stack runs one of the two stores,
# and the third cluster ``c`` in a fan-in topology only: StackConfig.parts).
PARTS = ("source", "target", "c", "connect", "prometheus", "victoriametrics")

#: Every log file of the stack rolls at this size and keeps this many rolled files (``<part>.log.1``...): at most
#: (1 + LOG_BACKUPS) x LOG_MAX_BYTES per file (log4j's rolling appender for the JVMs' logs, :mod:`mm2_stack.logcap`
#: for everything a process writes to its stdout/stderr).
LOG_MAX_BYTES = 10 * 1024 * 1024
LOG_BACKUPS = 2
LOGCAP = Path(__file__).resolve().parent / "logcap.py"


def log_file(config: StackConfig, part: str) -> Path:
    """The part's log: its log4j rolling file (JVMs), else its captured output."""
    return config.logs_dir / f"{part}.log"


def out_file(config: StackConfig, part: str) -> Path:
    """A JVM part's stdout/stderr (what does not go through log4j: JVM warnings, a crash before logging starts)."""
    return config.logs_dir / f"{part}.out"


def log_tail(config: StackConfig, part: str, lines: int = 30) -> str:
    """The last ``lines`` lines of a part's log ('' when it has none), then those of its stdout file if it has one."""
    tail = _tail(log_file(config, part), lines)
    out = _tail(out_file(config, part), min(lines, 10))
    if out:
        tail += f"\n--- {out_file(config, part).name} ---\n{out}"
    return tail


def _tail(path: Path, lines: int) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def _pid_file(config: StackConfig, part: str) -> Path:
    return config.pids_dir / f"{part}.pid"


def read_pid(config: StackConfig, part: str) -> int | None:
    try:
        return int(_pid_file(config, part).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def is_alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped) is not alive.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def running_pid(config: StackConfig, part: str) -> int | None:
    pid = read_pid(config, part)
    return pid if is_alive(pid) else None


def spawn(config: StackConfig, part: str, argv: Sequence[str], env: dict[str, str] | None = None,
          output: Path | None = None) -> int:
    """Start ``argv`` in its own session, its output appended to ``output`` (default the part's log) through the
    capped rotating writer (:mod:`mm2_stack.logcap`, in a session of its own: it ends when the part does); record
    the part's PID."""
    config.logs_dir.mkdir(parents=True, exist_ok=True)
    config.pids_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, **(env or {})},
        cwd=config.run_dir,
    )
    assert proc.stdout is not None
    try:
        subprocess.Popen([sys.executable, "-S", str(LOGCAP), str(output or log_file(config, part)), str(LOG_MAX_BYTES),
                          str(LOG_BACKUPS)], stdin=proc.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    finally:
        proc.stdout.close()  # the writer holds the read end now: the part's writes fail only if the writer dies
    _pid_file(config, part).write_text(str(proc.pid))
    return proc.pid


def stop(config: StackConfig, part: str, timeout_s: float = 20.0) -> bool:
    """Stop a part by its PID (SIGTERM to its process group, SIGKILL after ``timeout_s``).

    :return: True if a process was running and is now gone.
    """
    pid = read_pid(config, part)
    if not is_alive(pid):
        _pid_file(config, part).unlink(missing_ok=True)
        return False
    assert pid is not None
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and is_alive(pid):
        time.sleep(0.1)
    if is_alive(pid):
        _signal_group(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and is_alive(pid):
            time.sleep(0.05)
    _reap(pid)
    if is_alive(pid):
        raise StackError(part, f"process {pid} did not stop after SIGKILL")
    _pid_file(config, part).unlink(missing_ok=True)
    return True


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def wait_until(
    config: StackConfig,
    part: str,
    check: Callable[[], str | None],
    timeout_s: float,
    what: str,
    interval_s: float = 0.5,
) -> None:
    """Poll ``check`` until it returns None (ready) or the timeout passes.

    ``check`` returns a short reason while the part is not ready. If the part's process died, or the
    timeout passes, raise a :class:`StackError` naming the part with the last reason and its log tail.
    """
    deadline = time.monotonic() + timeout_s
    reason: str | None = "not checked yet"
    while True:
        try:
            reason = check()
        except Exception as exc:  # noqa: BLE001 - any failure of a probe is a "not ready yet"
            reason = f"{type(exc).__name__}: {exc}"
        if reason is None:
            return
        if read_pid(config, part) is not None and not is_alive(read_pid(config, part)):
            raise StackError(part, f"the process exited while waiting for {what} ({reason})", log_tail(config, part))
        if time.monotonic() >= deadline:
            raise StackError(
                part, f"not ready after {timeout_s:.0f} s: waiting for {what}, last seen: {reason}", log_tail(config, part)
            )
        time.sleep(interval_s)
