"""A size-capped, rotating log writer: copies its stdin to a file, rolling it to ``.1``, ``.2``... at a size.

The stack's processes write their output through it (:func:`mm2_stack.proc.spawn`): the metrics store's whole log,
and the JVMs' stdout (their log4j output goes to a rolling file of its own). Run as a script with only the
standard library (``python -S logcap.py FILE MAX_BYTES BACKUPS``), in its own session: it ignores SIGINT/SIGHUP and
ends when the process it logs for closes its output (exits). At most ``(BACKUPS + 1) * (MAX_BYTES + 64 KiB)`` on disk.
"""

from __future__ import annotations

import os
import signal
import sys

CHUNK = 64 * 1024


def rotate(path: str, backups: int) -> None:
    """``path.<n-1>`` -> ``path.<n>`` ... ``path`` -> ``path.1``; the oldest beyond ``backups`` is dropped."""
    if backups <= 0:
        if os.path.exists(path):
            os.unlink(path)
        return
    for n in range(backups - 1, 0, -1):
        if os.path.exists(f"{path}.{n}"):
            os.replace(f"{path}.{n}", f"{path}.{n + 1}")
    if os.path.exists(path):
        os.replace(path, f"{path}.1")


def pump(source_fd: int, path: str, max_bytes: int, backups: int) -> None:
    """Copy ``source_fd`` to ``path`` until EOF, rotating before a write would start past ``max_bytes``."""
    out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    size = os.fstat(out).st_size
    try:
        while True:
            data = os.read(source_fd, CHUNK)
            if not data:
                return
            if size > 0 and size + len(data) > max_bytes:
                os.close(out)
                rotate(path, backups)
                out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                size = 0
            os.write(out, data)
            size += len(data)
    finally:
        os.close(out)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: logcap.py FILE MAX_BYTES BACKUPS", file=sys.stderr)
        return 2
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    pump(sys.stdin.fileno(), argv[0], int(argv[1]), int(argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
