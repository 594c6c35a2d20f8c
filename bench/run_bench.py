"""``make bench``: the load tools measured side by side with Kafka's own, in one run on the local stack.

Benchmarks, not tests: they print numbers and the goals of issue 5 beside them, and never fail on a
number (only on a tool that does not run). Measured:

1. producer throughput, 1 KiB records, acks=all, unthrottled, the same record count to the same topic:
   kafka_producer_bomber.py vs Kafka's ProducerPerformance (kafka-producer-perf-test); goal >= 0.8x.
   The topic (``test-prometheus-bench-<stamp>...``) is outside MM2's ``topics`` so mirroring does not
   compete for the CPU.
2. rate accuracy: the producer bomber at 10 msg/s for 60 s: count within 1 % of 600, longest gap
   between sends <= 2x the 100 ms interval.
3. step 1.4 count of 100 messages on the target's remote topic: the project's bounded consumer
   (``mm2_smoke.step_1_4_target_count.count_run``, as the DAG runs it, and the consumer bomber with --until-end) vs
   ``ConsoleConsumer --from-beginning --timeout-ms 30000 | wc -l``; goal <= 0.2x the time, same count.
4. peak memory (max RSS) of each bomber during the throughput test (and of the JVM, for reference).

Uses the stack of ``MM2_STACK_DIR`` / ``MM2_STACK_PORT_OFFSET`` (started if it is not up, stopped at the
end if this run started it, unless --keep-stack).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "plugins"), str(REPO / "include")]

from mm2_smoke.java_tools import TOOLS_LOG4J2  # noqa: E402
from mm2_smoke.naming import TopicNaming  # noqa: E402
from mm2_smoke.perf_test import run_perf_test  # noqa: E402
from mm2_smoke.run_reader import reader_settings  # noqa: E402
from mm2_smoke.step_1_4_target_count import count_run  # noqa: E402
from mm2_stack import stack  # noqa: E402
from mm2_stack.config import StackConfig, load_passwords  # noqa: E402
from mm2_stack.envfile import airflow_env  # noqa: E402
from mm2_stack.kafka import client_config, java_client_props, write_properties  # noqa: E402

PRODUCER = REPO / "include" / "kafka-consumer-producer" / "kafka_producer_bomber.py"
CONSUMER = REPO / "include" / "kafka-consumer-producer" / "kafka_consumer_bomber.py"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass
class Measured:
    """A finished subprocess: exit code, output, wall time (s) and peak resident memory (MiB)."""

    rc: int
    stdout: str
    stderr: str
    wall_s: float
    max_rss_mib: float


def run_measured(argv: list[str], env: dict[str, str], timeout_s: float) -> Measured:
    """Run ``argv``; its peak RSS comes from the kernel's rusage of that one child (``wait4``)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=REPO)
        timer = threading.Timer(timeout_s, proc.kill)
        timer.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - t0
        out.seek(0)
        err.seek(0)
        return Measured(proc.returncode, out.read(), err.read(), wall, usage.ru_maxrss / 1024)


class ChildPeakRss:
    """Samples the high-water RSS (VmHWM) of this process's children while a block runs (for the JVM)."""

    def __init__(self) -> None:
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> ChildPeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        me = str(os.getpid())
        while not self._stop.wait(0.05):
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
                if fields.get("PPid", "").strip() == me and "VmHWM" in fields:
                    self.peak_kib = max(self.peak_kib, int(fields["VmHWM"].split()[0]))


def bomber(script: Path, args: list[str], env: dict[str, str], timeout_s: float) -> tuple[Measured, dict]:
    """Run a bomber CLI with --summary-json; its summary and measurements. Raises when it failed to run."""
    with tempfile.TemporaryDirectory() as tmp:
        summary_file = Path(tmp) / "summary.json"
        m = run_measured([sys.executable, str(script), *args, "--summary-json", str(summary_file)], env, timeout_s)
        if m.rc != 0 or not summary_file.exists():
            raise SystemExit(f"bench: {script.name} {shlex.join(args)} exited {m.rc}:\n{m.stderr[-2000:]}")
        return m, json.loads(summary_file.read_text())


# --- the benchmarks --------------------------------------------------------------------------------
def bench_throughput(env: dict[str, str], client: dict[str, str], classpath: str, records: int, stamp: str) -> dict:
    naming = TopicNaming(prefix=f"test-prometheus-bench-{stamp}")
    topic = naming.source_topic(1)
    say(f"[1/4] throughput: {records:,} records of 1 KiB, acks=all, unthrottled, to {topic}")
    m, s = bomber(PRODUCER, ["--topic-prefix", naming.prefix, "--num-topics", "1", "--num-threads", "1",
                             "--unthrottled", "--num-messages", str(records), "--record-size", "1024", "--acks", "all",
                             "--progress-interval", "60"], env, timeout_s=600)
    bomber_rate = s["total"]["delivered"] / s["elapsed_s"]
    say(f"      bomber: {bomber_rate:,.0f} msg/s, peak RSS {m.max_rss_mib:.0f} MiB")
    with ChildPeakRss() as jvm:
        perf = run_perf_test(client, topic, records, record_size=1024, throughput=-1, classpath=classpath,
                             timeout_s=600)
    say(f"      ProducerPerformance: {perf.summary.records_per_sec:,.0f} msg/s, peak RSS {jvm.peak_kib / 1024:.0f} MiB")
    cm, cs = bomber(CONSUMER, ["--bootstrap-servers", env["KAFKA_SOURCE"], "--topic-prefix", naming.prefix,
                               "--num-topics", "1", "--until-end", "--duration-minutes", "0",
                               "--progress-interval", "60"], env, timeout_s=600)
    read = cs["topics"][0]
    say(f"      consumer bomber read {read['messages']:,} records back, peak RSS {cm.max_rss_mib:.0f} MiB")
    return {"records": records, "bomber_msg_s": bomber_rate, "bomber_mb_s": bomber_rate * 1024 / 2**20,
            "bomber_delivered": s["total"]["delivered"], "bomber_rss_mib": m.max_rss_mib, "bomber_wall_s": m.wall_s,
            "perf_msg_s": perf.summary.records_per_sec, "perf_mb_s": perf.summary.mb_per_sec,
            "perf_sent": perf.summary.records_sent, "perf_wall_s": perf.wall_s, "jvm_rss_mib": jvm.peak_kib / 1024,
            "consumer_messages": read["messages"], "consumer_msg_s": read["rate"], "consumer_rss_mib": cm.max_rss_mib}


def bench_rate(env: dict[str, str], seconds: float, stamp: str) -> dict:
    prefix = f"test-prometheus-bench-{stamp}"
    say(f"[2/4] rate accuracy: 10 msg/s for {seconds:g} s")
    _m, s = bomber(PRODUCER, ["--topic-prefix", prefix, "--messages-per-second", "10",
                              "--duration-minutes", repr(seconds / 60), "--progress-interval", "15"], env,
                   timeout_s=seconds + 120)
    expected = round(10 * seconds)
    sent = s["total"]["sent"]
    span = s["send_span_s"]
    return {"seconds": seconds, "expected": expected, "sent": sent, "delivered": s["total"]["delivered"],
            "achieved_rate": (sent - 1) / span if span > 0 else float("nan"), "span_s": span,
            "deviation_pct": 100 * (sent - expected) / expected, "max_gap_ms": s["max_gap_ms"],
            "nominal_ms": s["nominal_interval_ms"]}


def wait_for_mirror(config: StackConfig, passwords: dict[str, str], topic: str, count: int, timeout_s: float) -> float:
    """Seconds until the remote ``topic`` holds ``count`` records on the target (MM2 mirrored them)."""
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    consumer = Consumer({**client_config(config, "target", "smoke", passwords), "group.id": "mm2-smoke-bench",
                         "log_level": 0})
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < timeout_s:
            md = consumer.list_topics(topic, timeout=5)
            meta = md.topics.get(topic)
            if meta is not None and meta.error is None and meta.partitions:
                try:
                    total = sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=5)[1]
                                for p in meta.partitions)
                except KafkaException:
                    total = 0
                if total >= count:
                    return time.monotonic() - t0
            time.sleep(0.5)  # MM2 refreshes topics every few seconds: poll, then look again
    finally:
        consumer.close()
    raise SystemExit(f"bench: MM2 did not mirror {count} records to {topic} within {timeout_s:g} s")


def time_count_run(config: StackConfig, passwords: dict[str, str], topic: str, run_id: str, n: int) -> tuple[float, int]:
    """The DAG's step 1.4 (``count_run``), timed from creating the consumer to its result."""
    from confluent_kafka import Consumer

    t0 = time.monotonic()
    consumer = Consumer({**client_config(config, "target", "smoke", passwords), **reader_settings("mm2-smoke-count"),
                         "log_level": 0})
    try:
        result = count_run(consumer, topic, run_id, list(range(1, n + 1)), since_ms=0, timeout_s=60)
    finally:
        consumer.close()
    if result.gap is not None:
        raise SystemExit(f"bench: count_run failed: {result.reason}")
    return time.monotonic() - t0, result.received


def time_console_consumer(config: StackConfig, passwords: dict[str, str], topic: str, stamp: str) -> tuple[float, int]:
    """The runbook's ``kafka-console-consumer --from-beginning --timeout-ms 30000 | wc -l``, timed."""
    with tempfile.TemporaryDirectory() as tmp:
        props = Path(tmp) / "consumer.properties"
        write_properties(props, java_client_props(config, "smoke", passwords))  # mode 0600
        log_config = Path(tmp) / "log4j2.properties"
        log_config.write_text(TOOLS_LOG4J2)  # as kafka-console-consumer.sh: the client's logs to stderr
        cmd = (f"java -Dlog4j2.configurationFile={shlex.quote(str(log_config))} -cp {shlex.quote(config.classpath)} "
               "org.apache.kafka.tools.consumer.ConsoleConsumer "
               f"--bootstrap-server {config.bootstrap('target')} --consumer.config {shlex.quote(str(props))} "
               f"--group mm2-smoke-bench-console-{stamp} --topic {shlex.quote(topic)} --from-beginning "
               "--timeout-ms 30000 2>/dev/null | wc -l")
        t0 = time.monotonic()
        out = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, timeout=180)
        wall = time.monotonic() - t0
    # ConsoleConsumer exits non-zero after --timeout-ms by design (TimeoutException): the count is what matters.
    return wall, int(out.stdout.strip() or 0)


def bench_count(env: dict[str, str], config: StackConfig, passwords: dict[str, str], n: int, stamp: str) -> dict:
    naming = TopicNaming(prefix=f"test-prometheus.bench-{stamp}")
    source = naming.source_topic(1)
    remote = naming.remote_topic(source)
    say(f"[3/4] step 1.4 count: {n} messages to {source}, then counted on {remote}")
    _m, s = bomber(PRODUCER, ["--topic-prefix", naming.prefix, "--num-messages", str(n), "--messages-per-second",
                              "50", "--progress-interval", "60"], env, timeout_s=120)
    mirror_s = wait_for_mirror(config, passwords, remote, n, timeout_s=120)
    say(f"      mirrored by MM2 after {mirror_s:.1f} s; timing the counts")
    count_s, count_n = time_count_run(config, passwords, remote, s["run_id"], n)
    cm, cs = bomber(CONSUMER, ["--topic-prefix", naming.remote_prefix, "--num-topics", "1", "--until-end",
                               "--duration-minutes", "0", "--run-id", s["run_id"], "--progress-interval", "60"],
                    env, timeout_s=120)
    console_s, console_n = time_console_consumer(config, passwords, remote, stamp)
    return {"n": n, "count_run_s": count_s, "count_run_n": count_n, "cli_s": cm.wall_s,
            "cli_n": cs["topics"][0]["distinct"], "console_s": console_s, "console_n": console_n}


# --- report ----------------------------------------------------------------------------------------
def report(tp: dict, rate: dict, count: dict) -> str:
    ratio = tp["bomber_msg_s"] / tp["perf_msg_s"] if tp["perf_msg_s"] else float("nan")
    within = abs(rate["deviation_pct"]) <= 1
    gap_ok = rate["max_gap_ms"] is not None and rate["max_gap_ms"] <= 2 * rate["nominal_ms"]
    r_dag = count["count_run_s"] / count["console_s"]
    r_cli = count["cli_s"] / count["console_s"]
    same = count["count_run_n"] == count["console_n"] == count["cli_n"] == count["n"]

    def met(ok: bool) -> str:
        return "met" if ok else "NOT met"

    rows = [
        ("producer throughput (1 KiB, acks=all, unthrottled, "
         f"{tp['records']:,} records)",
         f"bomber {tp['bomber_msg_s']:,.0f} msg/s ({tp['bomber_mb_s']:.1f} MB/s)",
         f"perf-test {tp['perf_msg_s']:,.0f} msg/s ({tp['perf_mb_s']:.1f} MB/s)",
         f"{ratio:.2f}x", f">= 0.8x: {met(ratio >= 0.8)}"),
        (f"rate accuracy (10 msg/s x {rate['seconds']:g} s)",
         f"sent {rate['sent']} ({rate['deviation_pct']:+.2f} %) over {rate['span_s']:.2f} s = "
         f"{rate['achieved_rate']:.3f} msg/s, max gap {rate['max_gap_ms']:.1f} ms",
         f"nominal {rate['expected']}, gap <= {2 * rate['nominal_ms']:.0f} ms", "-",
         f"within 1 %: {met(within)}; no burst: {met(gap_ok)}"),
        (f"step 1.4 count of {count['n']} (count_run, in-process as the DAG)",
         f"{count['count_run_s']:.2f} s, {count['count_run_n']} msgs",
         f"console consumer {count['console_s']:.1f} s, {count['console_n']} msgs",
         f"{r_dag:.3f}x", f"<= 0.2x: {met(r_dag <= 0.2)}; same count: {met(same)}"),
        (f"step 1.4 count of {count['n']} (consumer bomber --until-end, CLI)",
         f"{count['cli_s']:.2f} s, {count['cli_n']} msgs",
         f"console consumer {count['console_s']:.1f} s, {count['console_n']} msgs",
         f"{r_cli:.3f}x", f"<= 0.2x: {met(r_cli <= 0.2)}"),
        ("peak memory (max RSS) at the throughput test",
         f"producer bomber {tp['bomber_rss_mib']:.0f} MiB; consumer bomber {tp['consumer_rss_mib']:.0f} MiB "
         f"({tp['consumer_messages']:,} read at {tp['consumer_msg_s']:,.0f} msg/s)",
         f"perf-test JVM {tp['jvm_rss_mib']:.0f} MiB (sampled)", "-", "(reported)"),
    ]
    header = ("benchmark", "project", "Kafka's tool", "ratio", "goal")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=300_000, help="records per tool at the throughput test")
    parser.add_argument("--rate-seconds", type=float, default=60.0, help="length of the rate test, in seconds")
    parser.add_argument("--count-messages", type=int, default=100, help="messages counted at the step 1.4 test")
    parser.add_argument("--keep-stack", action="store_true", help="leave a stack this run started running")
    args = parser.parse_args()

    config = StackConfig.from_env()
    started = stack.up(config)
    passwords = load_passwords(config)
    env = {**os.environ, **airflow_env(config, passwords)}
    env.pop("PYTHONPATH", None)  # the bombers find plugins/ themselves, as when run from the runbook
    client = client_config(config, "source", "smoke", passwords)
    stamp = time.strftime("%Y%m%d%H%M%S")
    cpus = os.cpu_count()
    say(f"bench on the stack of {config.root} ({cpus} CPUs; load average {os.getloadavg()[0]:.1f})")
    try:
        tp = bench_throughput(env, client, config.classpath, args.records, stamp)
        rate = bench_rate(env, args.rate_seconds, stamp)
        count = bench_count(env, config, passwords, args.count_messages, stamp)
        say("[4/4] peak memory: measured at the throughput test")
    finally:
        if started and not args.keep_stack:
            stack.down(config)
    print(f"\nmm2-smoke load tools vs Kafka's tools - local stack, {cpus} CPUs, {time.strftime('%Y-%m-%d %H:%M')}")
    print(report(tp, rate, count))
    return 0


if __name__ == "__main__":
    sys.exit(main())
