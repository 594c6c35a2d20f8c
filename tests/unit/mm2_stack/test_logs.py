"""The stack's logs are capped: the rotating writer, and the JVMs' rolling log4j configuration."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from mm2_stack import kafka, proc
from mm2_stack.config import StackConfig
from mm2_stack.logcap import pump


def test_the_writer_rotates_and_keeps_at_most_its_backups(tmp_path: Path) -> None:
    log = tmp_path / "part.log"
    r, w = os.pipe()
    line = b"x" * 99 + b"\n"
    pid = os.fork()
    if pid == 0:  # the noisy part: 2 MB through a pipe
        os.close(r)
        for _ in range(20000):
            os.write(w, line)
        os._exit(0)
    os.close(w)
    pump(r, str(log), 100_000, 2)
    os.waitpid(pid, 0)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["part.log", "part.log.1", "part.log.2"]
    assert all(p.stat().st_size <= 100_000 for p in tmp_path.iterdir())
    assert (tmp_path / "part.log").read_bytes().endswith(line)


def test_spawn_writes_through_the_capped_writer_which_ends_with_the_part(tmp_path: Path) -> None:
    config = StackConfig(root=tmp_path)
    config.run_dir.mkdir(parents=True)
    pid = proc.spawn(config, "fake", [sys.executable, "-c", "print('hello from the part', flush=True)"])
    deadline = time.monotonic() + 10
    while proc.is_alive(pid) or "hello" not in proc.log_tail(config, "fake"):
        assert time.monotonic() < deadline, proc.log_tail(config, "fake")
        time.sleep(0.05)
    assert proc.log_tail(config, "fake") == "hello from the part"
    deadline = time.monotonic() + 5
    while _writers(proc.log_file(config, "fake")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _writers(proc.log_file(config, "fake")), "the writer outlived its part"


def _writers(log: Path) -> list[str]:
    return subprocess.run(["pgrep", "-f", f"logcap.py {log}"], capture_output=True, text=True).stdout.split()


def test_the_jvms_log_to_a_rolling_file_with_the_reconnect_loops_quiet(tmp_path: Path) -> None:
    config = StackConfig(root=tmp_path)
    config.run_dir.mkdir(parents=True)
    text = kafka.log_config(config).read_text()
    assert "appender.file.type = RollingFile" in text
    assert f"appender.file.policies.size.size = {proc.LOG_MAX_BYTES // 2**20}MB" in text
    assert f"appender.file.strategy.max = {proc.LOG_BACKUPS}" in text
    assert "Console" not in text
    assert "logger.quiet0.name = org.apache.kafka.clients.Metadata\nlogger.quiet0.level = WARN" in text
    assert "org.apache.kafka.connect.mirror.MirrorSourceTask" in text
    argv = kafka.java_argv(config, 128, "kafka.Kafka", log=proc.log_file(config, "source"))
    assert f"-Dmm2.log.file={proc.log_file(config, 'source')}" in argv


def test_kafka_3_logs_to_a_rolling_file_too(tmp_path: Path) -> None:
    config = StackConfig(root=tmp_path, kafka_version="3.9.1")
    config.run_dir.mkdir(parents=True)
    text = kafka.log_config(config).read_text()
    assert "log4j.appender.file=org.apache.log4j.RollingFileAppender" in text
    assert f"log4j.appender.file.MaxBackupIndex={proc.LOG_BACKUPS}" in text
    assert "log4j.logger.org.apache.kafka.clients.NetworkClient=WARN" in text
