"""The bomber CLIs and variant B against the real stack (SASL_SSL): counts on source and, through MM2, on target."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from mm2_smoke.naming import TopicNaming
from mm2_smoke.perf_test import run_perf_test
from mm2_stack.config import StackConfig, load_passwords
from mm2_stack.envfile import airflow_env
from mm2_stack.kafka import client_config

pytestmark = pytest.mark.integration

CLI_DIR = Path(__file__).resolve().parents[2] / "include" / "kafka-consumer-producer"
PRODUCER = CLI_DIR / "kafka_producer_bomber.py"
CONSUMER = CLI_DIR / "kafka_consumer_bomber.py"


@pytest.fixture(scope="module")
def passwords(live_stack: StackConfig) -> dict[str, str]:
    return load_passwords(live_stack)


@pytest.fixture(scope="module")
def env(live_stack: StackConfig, passwords: dict[str, str]) -> dict[str, str]:
    """The runbook's shell variables of this stack; no PYTHONPATH: the scripts find plugins/ themselves."""
    env = {**os.environ, **airflow_env(live_stack, passwords)}
    env.pop("PYTHONPATH", None)
    return env


def run_cli(script: Path, args: list[str], env: dict[str, str], tmp_path: Path,
            timeout_s: float = 120) -> tuple[subprocess.CompletedProcess[str], dict]:
    """Run a bomber from another folder, as the runbook does; return the process and its JSON summary."""
    summary = tmp_path / f"{script.stem}-{uuid.uuid4().hex[:6]}.json"
    proc = subprocess.run([sys.executable, str(script), *args, "--summary-json", str(summary)], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=timeout_s)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc, json.loads(summary.read_text()) if summary.exists() else {}


def by_topic(summary: dict) -> dict[str, dict]:
    return {t["topic"]: t for t in summary["topics"]}


def test_two_topics_two_threads_reach_source_and_target(live_stack: StackConfig, env: dict[str, str],
                                                        tmp_path: Path) -> None:
    naming = TopicNaming(prefix=f"test-prometheus.it-bombers-{uuid.uuid4().hex[:8]}")
    topics = [naming.source_topic(1), naming.source_topic(2)]

    produced, ps = run_cli(PRODUCER, ["--bootstrap-servers", env["KAFKA_SOURCE"], "--username", env["KAFKA_USER"],
                                      "--security-protocol", "SASL_SSL", "--topic-prefix", naming.prefix,
                                      "--num-topics", "2", "--num-threads", "2", "--messages-per-second", "50",
                                      "--num-messages", "25", "--progress-interval", "1"], env, tmp_path)

    assert produced.returncode == 0, produced.stderr
    assert all(f"created topic {t}" in produced.stderr for t in topics)
    assert {t: (s["sent"], s["delivered"], s["failed"]) for t, s in by_topic(ps).items()} == {
        t: (25, 25, 0) for t in topics}
    assert "result: OK" in produced.stdout and env["KAFKA_PASS"] not in produced.stdout + produced.stderr
    run_id = ps["run_id"]

    on_source, cs = run_cli(CONSUMER, ["--bootstrap-servers", env["KAFKA_SOURCE"], "--topic-prefix", naming.prefix,
                                       "--num-topics", "2", "--num-consumers", "2", "--until-end",
                                       "--run-id", run_id], env, tmp_path)
    assert on_source.returncode == 0, on_source.stderr
    assert {t: (r["distinct"], r["loss"], r["duplicates"]) for t, r in by_topic(cs).items()} == {
        t: (25, 0, 0) for t in topics}

    # MM2 picks the new topics up within its refresh interval: the consumer waits for the remote topics.
    on_target, ct = run_cli(CONSUMER, ["--topic-prefix", naming.remote_prefix, "--num-topics", "2",
                                       "--num-consumers", "2", "--wait-for-topics", "90", "--expect-messages", "25",
                                       "--duration-minutes", "2", "--run-id", run_id, "--auto-offset-reset",
                                       "earliest"], env, tmp_path, timeout_s=300)
    assert on_target.returncode == 0, on_target.stderr
    rows = by_topic(ct)
    assert set(rows) == {naming.remote_topic(t) for t in topics}
    for row in rows.values():
        assert (row["distinct"], row["loss"], row["duplicates"], row["foreign"]) == (25, 0, 0, 0)
        assert row["p50_ms"] is not None and row["max_ms"] >= row["p99_ms"] >= row["p50_ms"] >= 0
    assert ct["finished"] == "every topic has its 25 expected messages"
    assert "result: OK" in on_target.stdout


def test_duration_run_sends_the_planned_count_at_the_total_rate(env: dict[str, str], tmp_path: Path) -> None:
    prefix = f"test-prometheus.it-duration-{uuid.uuid4().hex[:8]}"
    proc, s = run_cli(PRODUCER, ["--topic-prefix", prefix, "--num-threads", "2", "--messages-per-second", "20",
                                 "--duration-minutes", "0.05", "--progress-interval", "1"], env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (s["total"]["sent"], s["total"]["delivered"], s["total"]["failed"]) == (60, 60, 0)  # 3 s x 20 msg/s
    assert s["nominal_interval_ms"] == pytest.approx(100.0)  # each of the 2 threads at 10 msg/s
    assert s["max_gap_ms"] is not None
    assert "] sent " in proc.stderr  # live progress lines


def test_ctrl_c_stops_cleanly_and_prints_the_summary(env: dict[str, str], tmp_path: Path) -> None:
    prefix = f"test-prometheus.it-sigint-{uuid.uuid4().hex[:8]}"
    proc = subprocess.Popen([sys.executable, str(PRODUCER), "--topic-prefix", prefix, "--duration-minutes", "2",
                             "--progress-interval", "1"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        while not any("] sent " in line for line in lines):  # running and producing
            line = proc.stderr.readline()
            assert line, f"the producer ended early: {''.join(lines)}"
            lines.append(line)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "stopped early: interrupted (Ctrl-C)" in out
    assert "result: OK" in out  # what was sent was acknowledged before exiting
    assert "Traceback" not in err


def _assert_one_line_error(proc: subprocess.CompletedProcess[str], password: str, *fragments: str) -> None:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    assert password not in proc.stdout + proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]


BAD_INPUT = [
    pytest.param(["--password", "not-the-password"], ("authentication failed",), id="wrong-password"),
    pytest.param(["--bootstrap-servers", "nonexistent.invalid:9092"], ("cannot resolve", "nonexistent.invalid"),
                 id="unknown-host"),
]


@pytest.mark.parametrize(("args", "fragments"), [
    *BAD_INPUT,
    pytest.param(["--messages-per-second", "0"], ("--messages-per-second 0 must be above 0",), id="rate-0"),
    pytest.param(["--messages-per-second", "-5"], ("--messages-per-second -5 must be above 0",), id="rate-negative"),
    pytest.param(["--record-size", "2000000"], ("--record-size 2000000 B is above",), id="record-too-large"),
])
def test_producer_bad_input_is_one_line_error(env: dict[str, str], tmp_path: Path, args: list[str],
                                              fragments: tuple[str, ...]) -> None:
    t0 = time.monotonic()
    proc, _ = run_cli(PRODUCER, ["--topic-prefix", "test-prometheus.it-bad", "--num-messages", "5", *args], env,
                      tmp_path, timeout_s=60)
    _assert_one_line_error(proc, env["KAFKA_PASS"], *fragments)
    assert time.monotonic() - t0 < 30, "bad input must fail fast, not after the client's retries"


@pytest.mark.parametrize(("args", "fragments"), BAD_INPUT)
def test_consumer_bad_input_is_one_line_error(env: dict[str, str], tmp_path: Path, args: list[str],
                                              fragments: tuple[str, ...]) -> None:
    t0 = time.monotonic()
    proc, _ = run_cli(CONSUMER, ["--num-topics", "1", *args], env, tmp_path, timeout_s=60)
    _assert_one_line_error(proc, env["KAFKA_PASS"], *fragments)
    assert time.monotonic() - t0 < 30


def test_consumer_names_a_missing_topic(env: dict[str, str], tmp_path: Path) -> None:
    proc, _ = run_cli(CONSUMER, ["--topic-prefix", f"source.test-prometheus.absent-{uuid.uuid4().hex[:6]}"], env,
                      tmp_path)
    _assert_one_line_error(proc, env["KAFKA_PASS"], "not found", "--topic-prefix")


@pytest.fixture()
def perf_topic(live_stack: StackConfig, passwords: dict[str, str]) -> str:
    """A fresh topic outside MM2's `topics` (Kafka's tool writes untagged records)."""
    topic = f"test-prometheus-it-perf-{uuid.uuid4().hex[:8]}"
    admin = AdminClient(client_config(live_stack, "source", "admin", passwords))
    try:
        admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(15)
    except KafkaException as exc:
        raise AssertionError(f"creating {topic}: {exc}") from None
    return topic


def test_perf_test_runs_kafkas_tool_and_parses_its_summary(live_stack: StackConfig, passwords: dict[str, str],
                                                           perf_topic: str) -> None:
    result = run_perf_test(client_config(live_stack, "source", "smoke", passwords), perf_topic, num_records=200,
                           record_size=1024, throughput=-1, classpath=live_stack.classpath, timeout_s=120)
    assert result.ok, result.first_errors
    assert result.summary.records_sent == 200 and result.failed == 0
    assert result.summary.records_per_sec > 0 and result.summary.max_latency_ms >= result.summary.p50_ms
    produced = result.to_produce_result()
    assert (produced.requested, produced.delivered, produced.failed) == (200, 200, 0)
    assert produced.finished_ms >= produced.started_ms > 0


def test_perf_test_reports_refused_records_as_failed(live_stack: StackConfig, passwords: dict[str, str],
                                                     perf_topic: str) -> None:
    config = {**client_config(live_stack, "source", "smoke", passwords), "sasl.password": "not-the-password"}
    result = run_perf_test(config, perf_topic, num_records=3, classpath=live_stack.classpath, timeout_s=120)
    assert not result.ok and result.failed == 3
    assert any("SaslAuthenticationException" in e for e in result.first_errors), result.first_errors
