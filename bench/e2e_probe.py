"""``make bench-e2e``: an independent end-to-end latency of the MM2 chain, side by side with the smoke test's and MM2's.

A benchmark, not a test: it prints numbers and never fails on one (only when the chain cannot be measured). The probe
works as Kafka's ``EndToEndLatency`` tool (``kafka-e2e-latency``): one record produced on the source's first test
topic (acks=all, sent synchronously: ``flush`` until acknowledged), then the remote topic on the target read until
that record is there, ``--count`` times one after the other, on this host's clock. It shares no code with the smoke
test's watch (:mod:`mm2_smoke.e2e`): a plain ``poll`` loop, the time read when the record is handed over. Printed:

1. the probe: send -> arrival (what ``EndToEndLatency`` reports) and acknowledgement -> arrival (what the smoke
   test's one-clock watch reports), p50 / p95 / max in ms;
2. MirrorMaker's ``replication-latency-ms`` avg and max from the metrics store, read one scrape interval after the
   probe (its 60 s window then holds the probe's records, and on an idle chain only them);
3. with ``--run``: one smoke run (``airflow dags test``, as ``make demo``) before the probe, its one-clock e2e
   p50 / p99 and MM2's avg as the run's step 1.3 read it; without it, the newest report in ``--airflow-home``'s
   reports folder when there is one.

Goal (issue 26): on a healthy idle local chain, the smoke run's e2e p50 within 20 ms of MM2's avg and of the probe's.
Uses the running stack of ``MM2_STACK_DIR`` / ``MM2_STACK_PORT_OFFSET``
(``PYTHONPATH=plugins:include:dags .venv/bin/python -m mm2_stack up`` starts it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "plugins"), str(REPO / "include")]

from mm2_smoke.bomber.stats import percentile  # noqa: E402
from mm2_smoke.run_reader import PartitionReader, reader_settings  # noqa: E402
from mm2_stack.config import StackConfig, StackError, load_passwords, stack_queries  # noqa: E402
from mm2_stack.kafka import client_config  # noqa: E402


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Spread:
    """Percentiles of latencies in ms (nearest rank, as the smoke test's report)."""

    count: int
    p50: int | None
    p95: int | None
    max: int | None

    @classmethod
    def of(cls, seconds: list[float]) -> Spread:
        counts = Counter(max(0, round(s * 1000)) for s in seconds)
        return cls(len(seconds), percentile(counts, 50), percentile(counts, 95), max(counts) if counts else None)

    def words(self) -> str:
        return f"p50 {self.p50} ms, p95 {self.p95} ms, max {self.max} ms ({self.count} records)"


@dataclass(frozen=True)
class ProbeRun:
    """The probe's latencies: from the send and from the acknowledgement to the arrival on the target."""

    send_to_arrival: Spread
    ack_to_arrival: Spread
    source_topic: str
    remote_topic: str


def probe(config: StackConfig, count: int, warmup: int, pause_s: float, timeout_s: float) -> ProbeRun:
    """``warmup`` + ``count`` records through the default flow, one at a time (the first ``warmup`` not timed).

    :raises StackError: when the remote topic is missing, a record is not acknowledged, or does not arrive in
        ``timeout_s``.
    """
    from confluent_kafka import Consumer, Producer

    passwords = load_passwords(config)
    flow = config.flows[0]
    topic = config.naming.source_topic(1)
    remote = flow.remote_topic(topic)
    consumer = Consumer({**client_config(config, flow.target, "smoke", passwords),
                         **reader_settings("mm2-smoke-e2e-probe", "latest"), "log_level": 0})
    producer = Producer({**client_config(config, flow.source, "smoke", passwords), "acks": "all", "linger.ms": 0,
                         "log_level": 0})
    sends: list[float] = []
    acks: list[float] = []
    try:
        meta = consumer.list_topics(remote, timeout=10).topics.get(remote)
        if meta is None or meta.error is not None or not meta.partitions:
            raise StackError("connect", f"the remote topic {remote} is not on {flow.target}: is MM2 replicating?")
        PartitionReader(consumer, [(remote, p) for p in meta.partitions], "latest")  # assigned at the end
        producer.list_topics(topic, timeout=15)  # connected and authenticated before the first send
        run = f"e2e-probe-{uuid.uuid4().hex[:8]}"
        for i in range(warmup + count):
            key = f"{run}:{i}".encode()
            acked: list[float] = []
            errors: list[str] = []

            def delivered(err: Any, _msg: Any, acked: list[float] = acked, errors: list[str] = errors) -> None:
                acked.append(time.time())
                if err is not None:
                    errors.append(str(err))

            sent = time.time()
            producer.produce(topic, key=key, value=b'{"e2e-probe": true}', on_delivery=delivered)
            if producer.flush(30) or errors or not acked:
                raise StackError(flow.source, f"the probe record to {topic} was not acknowledged: {errors}")
            arrived = _arrival(consumer, key, time.monotonic() + timeout_s)
            if arrived is None:
                raise StackError("connect", f"the probe record {key.decode()} did not reach {remote} within "
                                 f"{timeout_s:g} s")
            if i >= warmup:
                sends.append(arrived - sent)
                acks.append(arrived - acked[0])
            time.sleep(pause_s)
    finally:
        consumer.close()
    return ProbeRun(Spread.of(sends), Spread.of(acks), topic, remote)


def _arrival(consumer: Any, key: bytes, deadline: float) -> float | None:
    """This host's time when the record keyed ``key`` is handed over by the consumer (None past ``deadline``)."""
    while time.monotonic() < deadline:
        msg = consumer.poll(0.1)
        now = time.time()
        if msg is not None and msg.error() is None and msg.key() == key:
            return now
    return None


def mm2_latency(config: StackConfig) -> tuple[float | None, float | None, str]:
    """MirrorMaker's replication-latency-ms avg and max for the default flow's remote topic, from the metrics
    store (None when it has no value; the third item says why)."""
    from mm2_stack.metrics_store import StoreQueries

    queries = stack_queries(config)
    store = StoreQueries(config)
    avg, top = store.query(queries.latency_avg_ms), store.query(queries.latency_max_ms)
    return avg.number, top.number, "" if avg.ok else (avg.reason or "no value")


def smoke_run(config: StackConfig, airflow_home: Path) -> dict[str, Any] | None:
    """One smoke run (``airflow dags test``, as ``make demo``); its report (None when it wrote none)."""
    from mm2_stack.airflow_run import airflow_env, dags_test, ensure_db

    airflow_home.mkdir(parents=True, exist_ok=True)
    env = airflow_env(config, airflow_home.resolve())
    ensure_db(env)
    say(f"smoke run: airflow dags test (AIRFLOW_HOME={airflow_home})...")
    result = dags_test(env)
    say(f"smoke run: {result.report['verdict'] if result.report else 'no report'} in {result.seconds:.1f} s")
    return result.report


def newest_report(airflow_home: Path) -> tuple[dict[str, Any] | None, Path | None]:
    """The newest smoke-run report under ``airflow_home/reports`` (None, None when there is none)."""
    reports = sorted((airflow_home / "reports").glob("*.json"), key=lambda p: p.stat().st_mtime)
    return (json.loads(reports[-1].read_text()), reports[-1]) if reports else (None, None)


def table(run: ProbeRun, mm2: tuple[float | None, float | None, str], report: dict[str, Any] | None,
          report_from: str) -> str:
    """The three measures side by side, and the goal's gaps."""
    avg, top, why = mm2
    e2e = (report or {}).get("e2e_latency_ms") or {}
    run_avg = ((report or {}).get("baseline") or {}).get("latency_avg_ms")
    probe_p50 = run.ack_to_arrival.p50

    def ms(v: float | None) -> str:
        return "n/a" if v is None else f"{v:g} ms"

    lines = [f"end-to-end latency of {run.source_topic} -> {run.remote_topic}, {time.strftime('%Y-%m-%d %H:%M')}",
             f"  probe (EndToEndLatency-style), send -> arrival:  {run.send_to_arrival.words()}",
             f"  probe, acknowledgement -> arrival:             {run.ack_to_arrival.words()}",
             f"  MM2 replication-latency-ms after the probe:    avg {ms(avg)}, max {ms(top)}"
             + (f" ({why})" if avg is None else ""),
             f"  smoke run one-clock e2e ({report_from}): "
             + (f"p50 {ms(e2e.get('p50'))}, p99 {ms(e2e.get('p99'))}, max {ms(e2e.get('max'))} "
                f"({e2e.get('count')} messages); MM2 avg in that run {ms(run_avg)}" if e2e else "n/a")]
    p50 = e2e.get("p50")
    if p50 is not None and probe_p50 is not None:
        gaps = [f"e2e p50 - probe p50 = {p50 - probe_p50:+g} ms"]
        if avg is not None:
            gaps.append(f"e2e p50 - MM2 avg = {p50 - avg:+.1f} ms")
        lines.append("  goal (issue 26): within 20 ms of each: " + "; ".join(gaps))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/e2e_probe.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200, help="records timed (default 200)")
    parser.add_argument("--warmup", type=int, default=5, help="records sent first, not timed (default 5)")
    parser.add_argument("--pause-s", type=float, default=0.05, help="pause between records, s (default 0.05)")
    parser.add_argument("--timeout-s", type=float, default=30.0, help="longest wait for one record, s (default 30)")
    parser.add_argument("--run", action="store_true", help="run the smoke test once first (airflow dags test)")
    parser.add_argument("--airflow-home", type=Path, default=REPO / ".airflow",
                        help="Airflow home of --run, and where the newest report is read without it (default .airflow)")
    args = parser.parse_args(argv)
    config = StackConfig.from_env()
    try:
        if args.run:
            report, report_from = smoke_run(config, args.airflow_home), "run now"
        else:
            report, path = newest_report(args.airflow_home)
            report_from = f"newest report {path.name}" if path else "no report: use --run"
        say(f"probe: {args.warmup} + {args.count} records, one at a time")
        run = probe(config, args.count, args.warmup, args.pause_s, args.timeout_s)
        time.sleep(2 * config.scrape_interval_s)  # the store scraped the window that holds the probe's records
        mm2 = mm2_latency(config)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(table(run, mm2, report, report_from))
    return 0


if __name__ == "__main__":
    sys.exit(main())
