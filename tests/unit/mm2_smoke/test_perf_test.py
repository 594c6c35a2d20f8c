"""Variant B: ProducerPerformance's command line, its summary line, and clear errors when it cannot run."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from mm2_smoke.errors import InputError
from mm2_smoke.perf_test import (
    PerfTestError,
    PerfToolsMissingError,
    build_command,
    exception_lines,
    parse_summary,
    run_perf_test,
)

#: A connection the tool would accept (the translation to Java settings is test_java_tools.py's).
SOURCE = {"bootstrap.servers": "127.0.0.1:19092"}

OUTPUT = """\
[2026-11-28 04:55:56,314] WARN something harmless (org.apache.kafka.clients.NetworkClient)
15600 records sent, 3113.8 records/sec (3.04 MB/sec), 5760.5 ms avg latency, 7741.0 ms max latency.
300000 records sent, 10862.5 records/sec (10.61 MB/sec), 2586.40 ms avg latency, 9129.00 ms max latency, \
1680 ms 50th, 7502 ms 95th, 9105 ms 99th, 9121 ms 99.9th.
"""


def test_parses_the_final_line_and_skips_interim_ones() -> None:
    s = parse_summary(OUTPUT)
    assert s.records_sent == 300000
    assert s.records_per_sec == 10862.5
    assert s.mb_per_sec == 10.61
    assert (s.avg_latency_ms, s.max_latency_ms) == (2586.40, 9129.00)
    assert (s.p50_ms, s.p95_ms, s.p99_ms, s.p999_ms) == (1680, 7502, 9105, 9121)


def test_parses_a_decimal_comma_and_nan() -> None:
    line = ("0 records sent, 0,0 records/sec (0,00 MB/sec), NaN ms avg latency, 0,00 ms max latency, 0 ms 50th, "
            "0 ms 95th, 0 ms 99th, 0 ms 99.9th.")
    s = parse_summary(line)
    assert s.records_sent == 0 and s.records_per_sec == 0.0
    assert math.isnan(s.avg_latency_ms)


def test_no_final_line_is_an_error() -> None:
    with pytest.raises(PerfTestError, match="no final summary line"):
        parse_summary(OUTPUT.splitlines()[1])


def test_exception_lines_are_found_in_the_output() -> None:
    out = ("05:00:01.000 [main] ERROR org.apache.kafka.clients.NetworkClient - failed\n"
           "org.apache.kafka.common.errors.SaslAuthenticationException: Authentication failed\n"
           "\tat org.apache.kafka.Foo.bar(Foo.java:1)\n")
    assert exception_lines(out) == ["org.apache.kafka.common.errors.SaslAuthenticationException: Authentication failed"]


def test_command_line_carries_no_secret(tmp_path: Path) -> None:
    cmd = build_command("java", "/kafka/libs/*", "t", 100, 1024, 10, tmp_path / "p.properties", "h:9092",
                        log_config=tmp_path / "log4j2.properties")
    joined = " ".join(cmd)
    assert "password" not in joined and "jaas" not in joined
    assert cmd[cmd.index("--throughput") + 1] == "10"
    assert cmd[cmd.index("--producer.config") + 1] == str(tmp_path / "p.properties")
    assert cmd[-2:] == ["bootstrap.servers=h:9092", "acks=all"]
    assert "org.apache.kafka.tools.ProducerPerformance" in cmd
    unthrottled = build_command("java", "cp", "t", 1, 1, -1, tmp_path, "h")
    assert unthrottled[unthrottled.index("--throughput") + 1] == "-1"


def test_run_refuses_bad_arguments_before_running() -> None:
    with pytest.raises(InputError, match="throughput=0 must be above 0") as throughput:
        run_perf_test(SOURCE, "t", 10, 1024, throughput=0)
    assert throughput.value.field == "throughput"
    with pytest.raises(InputError, match="num_records=0"):
        run_perf_test(SOURCE, "t", 0)
    with pytest.raises(InputError, match="record_size=1000001 B must be between 1 and 1000000"):
        run_perf_test(SOURCE, "t", 10, 1_000_001)


def test_run_without_tools_raises_the_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_TOOLS_CLASSPATH", raising=False)
    monkeypatch.delenv("KAFKA_HOME", raising=False)
    with pytest.raises(PerfToolsMissingError):
        run_perf_test(SOURCE, "t", 10, java="/bin/true")
