"""Produce tagged test messages to <prefix>.generated-data-NN.json topics (runbook Phase 1, step 1.1, variant A).

Each message is a JSON run tag (run id, sequence number, send time, producer id) padded to
--record-size bytes: the format the smoke-test DAG and kafka_consumer_bomber.py count (loss,
duplicates, end-to-end latency). Missing topics are created (the brokers may not auto-create them).

--messages-per-second is the TOTAL rate over every thread and topic; each thread sends to every topic
in turn. --num-messages is the count PER TOPIC (shared by the threads). With both --num-messages and
--duration-minutes, whichever ends first stops the run. Live progress goes to stderr every few seconds,
the summary table to stdout; Ctrl-C stops cleanly (a second one drops the records still in flight).

Example (the runbook's):
  python include/kafka-consumer-producer/kafka_producer_bomber.py --bootstrap-servers "$KAFKA_SOURCE" \\
    --username "$KAFKA_USER" --password "$KAFKA_PASS" --security-protocol SASL_SSL \\
    --topic-prefix test-prometheus --num-topics 1 --messages-per-second 10 --num-threads 1 --duration-minutes 1
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

# Run from anywhere (as the runbook does): the engine lives in the repository's plugins/.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "plugins"))

import bomber_common as cli  # noqa: E402

from mm2_smoke.bomber.client import connect, ensure_topics  # noqa: E402
from mm2_smoke.bomber.producer import ACKS, ProducerProgress, ProducerSpec, new_run_id, run_producer  # noqa: E402
from mm2_smoke.bomber.stats import render_produce  # noqa: E402
from mm2_smoke.message import MAX_RECORD_SIZE_BYTES  # noqa: E402
from mm2_smoke.naming import DEFAULT_TOPIC_PREFIX  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = cli.OneLineParser(prog="kafka_producer_bomber.py", description=__doc__, formatter_class=cli.HelpFormatter,
                          epilog=cli.EXIT_CODES_HELP)
    cli.add_connection_args(p, "KAFKA_SOURCE")
    g = p.add_argument_group("what to send")
    g.add_argument("--topic-prefix", default=DEFAULT_TOPIC_PREFIX,
                   help="topics are <prefix>.generated-data-NN.json, NN from 01")
    g.add_argument("--num-topics", type=cli.positive_int, default=1, help="how many topics (1 to 99)")
    g.add_argument("--messages-per-second", type=cli.number, default=None, metavar="RATE",
                   help="TOTAL rate over every thread and topic, in messages per second (default 10); must be "
                        "above 0 (see --unthrottled)")
    g.add_argument("--unthrottled", action="store_true",
                   help="send as fast as the brokers acknowledge (throughput tests); excludes --messages-per-second")
    g.add_argument("--num-threads", type=cli.positive_int, default=1,
                   help="sending threads, one Kafka client each; they share the rate and the messages")
    g.add_argument("--duration-minutes", type=cli.number, default=None, metavar="MIN",
                   help="stop after this many minutes, fractions allowed (default 1, or none when --num-messages "
                        "is given)")
    g.add_argument("--num-messages", type=cli.positive_int, default=None, metavar="N",
                   help="stop after N messages PER TOPIC (N x --num-topics in all)")
    g.add_argument("--record-size", type=cli.positive_int, default=1024, metavar="BYTES",
                   help=f"bytes of each message value, run tag included (at most {MAX_RECORD_SIZE_BYTES})")
    g.add_argument("--acks", default="all", choices=ACKS,
                   help="acknowledgements awaited per message; 'all' also makes the producer idempotent")
    g.add_argument("--run-id", default=None, help="run id written in every tag (default: bomber-<UTC time>-<hex>)")
    g.add_argument("--linger-ms", type=int, default=5, metavar="MS", help="how long a batch may wait to fill")
    g.add_argument("--partitions", type=cli.positive_int, default=1,
                   help="partitions of the topics this tool creates (existing topics are left as they are)")
    g.add_argument("--replication-factor", type=int, default=-1,
                   help="replication factor of the topics this tool creates; -1 is the brokers' default")
    cli.add_output_args(p)
    return p


def spec_from_args(args: argparse.Namespace) -> ProducerSpec:
    """The engine's producer spec of the parsed flags (validated there: one clear error per bad value).

    :raises BomberInputError: naming the flag and the fix.
    """
    if args.unthrottled and args.messages_per_second is not None:
        raise cli.BomberInputError("--unthrottled and --messages-per-second exclude each other: give one")
    if args.duration_minutes is not None and not args.duration_minutes > 0:  # the engine counts seconds
        raise cli.BomberInputError("--duration-minutes {value:g} must be above 0", value=args.duration_minutes)
    rate = None if args.unthrottled else (10.0 if args.messages_per_second is None else args.messages_per_second)
    minutes = args.duration_minutes if args.duration_minutes is not None else (None if args.num_messages else 1.0)
    return ProducerSpec(topics=cli.topic_names(args.topic_prefix, args.num_topics), rate_per_s=rate,
                        num_threads=args.num_threads, duration_s=cli.minutes_to_s(minutes),
                        num_messages=args.num_messages, record_size=args.record_size, acks=args.acks,
                        run_id=args.run_id or new_run_id(), linger_ms=args.linger_ms)


class Progress(cli.ProgressLine):
    """Prints a progress line: rate since the previous line, totals, errors."""

    def __init__(self) -> None:
        super().__init__("sent")

    def __call__(self, p: ProducerProgress) -> None:
        cli.say(self.line(p.elapsed_s, p.sent, f"delivered {p.delivered:,}, failed {p.failed:,}, errors {p.errors:,}",
                          p.transient))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    client = cli.client_spec(args)
    spec = spec_from_args(args)
    admin, metadata = connect(client.config(), timeout_s=args.connect_timeout)
    for topic in ensure_topics(admin, metadata, spec.topics, args.partitions, args.replication_factor):
        cli.say(f"created topic {topic} ({args.partitions} partition(s), replication factor "
                f"{'broker default' if args.replication_factor == -1 else args.replication_factor})")
    pace = "unthrottled" if spec.rate_per_s is None else f"{spec.rate_per_s:g} msg/s in total"
    limits = [f"{spec.num_messages} per topic" if spec.num_messages else "",
              f"{spec.duration_s:g} s" if spec.duration_s else ""]
    cli.say(f"producing to {', '.join(spec.topics)} on {client.bootstrap_servers}: {pace}, {spec.num_threads} "
            f"thread(s), {spec.record_size} B, acks={spec.acks}, until {' or '.join(x for x in limits if x)}; "
            f"run id {spec.run_id}")
    t0 = time.monotonic()
    summary = run_producer(client.config(), spec, progress=Progress(), progress_interval_s=args.progress_interval,
                           log_level=cli.log_level(args))
    return cli.finish(summary, render_produce(summary, cli.FLAG_NAMES), args.summary_json, t0)


if __name__ == "__main__":
    sys.exit(cli.run(main))
