"""Read <prefix>.generated-data-NN.json topics and account their messages (runbook Phase 1, step 1.4).

Reports per topic: messages read and their rate; for messages tagged by kafka_producer_bomber.py or the
smoke-test DAG: distinct messages, loss, duplicates (by run id + producer id + sequence number) and
end-to-end latency p50/p99/max = this host's clock at receipt - the producer's clock at send (written in
the tag). When producer and consumer run on different hosts their clocks' skew adds to it: keep them
NTP-synchronised. Latency means "produce to receive" only for messages produced while this tool runs.

Partitions are assigned, not subscribed: no rebalance wait, no committed offset is used or written;
--auto-offset-reset earliest reads from the beginning, latest only what arrives after the start.
On the target cluster MirrorMaker 2 names the topics source.<prefix>...: hence the default prefix.

Stops at the first of: --duration-minutes, --expect-messages reached on every topic, --until-end
reached, Ctrl-C (the summary is still printed). Loss is "expected - received" with --expect-messages,
else the gaps inside each producer's sequence.

Example (the runbook's):
  python include/kafka-consumer-producer/kafka_consumer_bomber.py --bootstrap-servers "$KAFKA_TARGET" \\
    --username "$KAFKA_USER" --password "$KAFKA_PASS" --topic-prefix source.test-prometheus \\
    --num-topics 1 --num-consumers 1 --duration-minutes 1 --auto-offset-reset earliest
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

from mm2_smoke.bomber.client import BomberConnectError, connect, topic_partitions  # noqa: E402
from mm2_smoke.bomber.consumer import (  # noqa: E402
    DEFAULT_GROUP_ID,
    OFFSET_RESETS,
    ConsumerProgress,
    ConsumerSpec,
    run_consumer,
)
from mm2_smoke.bomber.stats import render_consume  # noqa: E402
from mm2_smoke.naming import TopicNaming  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = cli.OneLineParser(prog="kafka_consumer_bomber.py", description=__doc__, formatter_class=cli.HelpFormatter,
                          epilog=cli.EXIT_CODES_HELP)
    cli.add_connection_args(p, "KAFKA_TARGET")
    g = p.add_argument_group("what to read")
    g.add_argument("--topic-prefix", default=TopicNaming().remote_prefix,
                   help="topics are <prefix>.generated-data-NN.json, NN from 01")
    g.add_argument("--num-topics", type=cli.positive_int, default=1, help="how many topics (1 to 99)")
    g.add_argument("--num-consumers", type=cli.positive_int, default=1,
                   help="reading threads, one Kafka client each; the partitions are dealt among them")
    g.add_argument("--duration-minutes", type=cli.number, default=1.0, metavar="MIN",
                   help="stop after this many minutes, fractions allowed; 0 for no time limit (then give "
                        "--expect-messages or --until-end)")
    g.add_argument("--auto-offset-reset", default="earliest", choices=OFFSET_RESETS,
                   help="earliest: from the beginning of each partition; latest: only new messages")
    g.add_argument("--expect-messages", type=cli.positive_int, default=None, metavar="N",
                   help="stop as soon as every topic has N distinct tagged messages (of --run-id if given); "
                        "loss is then N - received")
    g.add_argument("--until-end", action="store_true",
                   help="stop once every partition is read up to its end offset at start (a bounded count)")
    g.add_argument("--run-id", default=None,
                   help="count only this run's tagged messages (others show as 'other run'); None counts every run")
    g.add_argument("--group-id", default=DEFAULT_GROUP_ID, help="consumer group id (offsets are never committed)")
    g.add_argument("--wait-for-topics", type=cli.number, default=0.0, metavar="S",
                   help="wait up to S seconds for missing topics to appear (e.g. remote topics MirrorMaker 2 "
                        "has yet to create) instead of failing at once")
    cli.add_output_args(p)
    return p


def spec_from_args(args: argparse.Namespace) -> ConsumerSpec:
    """The engine's consumer spec of the parsed flags (validated there).

    :raises BomberInputError: naming the flag and the fix.
    """
    if args.duration_minutes is not None and args.duration_minutes < 0:  # the engine counts seconds
        raise cli.BomberInputError("--duration-minutes {value:g} must be 0 (no limit) or more",
                                   value=args.duration_minutes)
    minutes = args.duration_minutes or None
    return ConsumerSpec(topics=cli.topic_names(args.topic_prefix, args.num_topics),
                        num_consumers=args.num_consumers, duration_s=cli.minutes_to_s(minutes),
                        auto_offset_reset=args.auto_offset_reset, expect_per_topic=args.expect_messages,
                        until_end=args.until_end, run_id=args.run_id, group_id=args.group_id)


def wait_for_partitions(admin: object, metadata: object, spec: ConsumerSpec, bootstrap: str,
                        wait_s: float) -> dict[str, list[int]]:
    """Each topic's partitions, waiting up to ``wait_s`` seconds for missing topics to be created.

    :param admin: the admin client of :func:`~mm2_smoke.bomber.client.connect`, asked again while topics are missing.
    :param metadata: its first metadata.
    :param bootstrap: the brokers, as named in the message.
    :param wait_s: how long to wait for missing topics, in seconds.
    :raises BomberConnectError: naming the topics still missing.
    """
    deadline = time.monotonic() + wait_s
    announced = False
    while True:
        found = topic_partitions(metadata, spec.topics)
        missing = [t for t in spec.topics if not found.get(t)]
        if not missing:
            return found
        if time.monotonic() >= deadline:
            raise BomberConnectError(
                "topic(s) {missing} not found on {bootstrap} (or not readable by this user): check --topic-prefix and "
                "--num-topics (on the target, MirrorMaker 2 names them source.<prefix>...), or give --wait-for-topics",
                missing=", ".join(missing), bootstrap=bootstrap)
        if not announced:
            cli.say(f"waiting up to {wait_s:g} s for {', '.join(missing)}")
            announced = True
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))  # the next metadata poll
        metadata = admin.list_topics(timeout=10)  # type: ignore[attr-defined]


class Progress(cli.ProgressLine):
    """Prints a progress line: rate since the previous line, totals, errors."""

    def __init__(self) -> None:
        super().__init__("read")

    def __call__(self, p: ConsumerProgress) -> None:
        cli.say(self.line(p.elapsed_s, p.messages, f"tagged {p.tagged:,}, errors {p.errors:,}", p.transient))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    client = cli.client_spec(args)
    spec = spec_from_args(args)
    admin, metadata = connect(client.config(), timeout_s=args.connect_timeout)
    partitions = wait_for_partitions(admin, metadata, spec, client.bootstrap_servers, args.wait_for_topics)
    stops = [f"{spec.duration_s:g} s" if spec.duration_s else "",
             f"{spec.expect_per_topic} per topic" if spec.expect_per_topic else "",
             "the end offsets" if spec.until_end else ""]
    cli.say(f"reading {', '.join(spec.topics)} ({sum(len(p) for p in partitions.values())} partition(s)) on "
            f"{client.bootstrap_servers} from {spec.auto_offset_reset} with {spec.num_consumers} consumer(s), until "
            f"{' or '.join(s for s in stops if s)}" + (f"; run id {spec.run_id}" if spec.run_id else ""))
    t0 = time.monotonic()
    summary = run_consumer(client.config(), spec, partitions, progress=Progress(),
                           progress_interval_s=args.progress_interval, log_level=cli.log_level(args))
    return cli.finish(summary, render_consume(summary, cli.FLAG_NAMES), args.summary_json, t0)


if __name__ == "__main__":
    sys.exit(cli.run(main))
