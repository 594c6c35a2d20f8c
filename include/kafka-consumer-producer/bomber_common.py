"""What both bomber CLIs share: the connection flags, one-line errors, progress lines, exit codes.

The engine is :mod:`mm2_smoke.bomber` (in ``plugins/``, shared with the DAG); this module only turns
command lines into its inputs and its results into text. The engine's errors name spec fields and librdkafka
keys; :data:`FLAG_NAMES` words them with this CLI's flags. The scripts put ``plugins/`` on ``sys.path``
before importing this module.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from mm2_smoke.bomber.client import BomberConnectError, BomberInputError, ClientSpec, Interrupted
from mm2_smoke.connections import SASL_MECHANISMS, SECURITY_PROTOCOLS
from mm2_smoke.naming import TopicNameError, TopicNaming

#: Exit codes of both CLIs.
EXIT_OK = 0
EXIT_ERRORS = 1  # the run had errors: failed deliveries, consumer errors, lost messages
EXIT_BAD_INPUT = 2  # bad flags, or the cluster cannot be reached / refuses the credentials or topics
EXIT_INTERRUPTED = 130  # Ctrl-C (the summary is still printed)

#: The engine's fields (spec fields, librdkafka keys) as the CLIs' users know them: their flags.
FLAG_NAMES = {
    "bootstrap.servers": "--bootstrap-servers",
    "security.protocol": "--security-protocol",
    "sasl.mechanism": "--sasl-mechanism",
    "sasl.username": "--username",
    "sasl.password": "the variable named by --password-env (default KAFKA_PASS) or give --password",
    "ssl.ca.location": "--ssl-ca-location",
    "ssl.certificate.location": "--ssl-certificate-location",
    "ssl.key.location": "--ssl-key-location",
    "topics": "--num-topics",
    "topic_prefix": "--topic-prefix",
    "rate_per_s": "--messages-per-second",
    "rate_per_s=None": "--unthrottled",
    "num_threads": "--num-threads",
    "duration_s": "--duration-minutes",
    "num_messages": "--num-messages",
    "record_size": "--record-size",
    "acks": "--acks",
    "linger_ms": "--linger-ms",
    "partitions": "--partitions",
    "replication_factor": "--replication-factor",
    "num_consumers": "--num-consumers",
    "auto_offset_reset": "--auto-offset-reset",
    "expect_per_topic": "--expect-messages",
    "until_end": "--until-end",
}

EXIT_CODES_HELP = (
    "exit codes: 0 OK; 1 errors during the run (failed deliveries, consumer errors, lost messages); "
    "2 bad input, or the brokers cannot be reached or refuse the credentials; 130 interrupted (Ctrl-C, "
    "after printing the summary)"
)


def say(text: str) -> None:
    """One line of live information on stderr (stdout is for the summary)."""
    print(text, file=sys.stderr, flush=True)


def fail(text: str) -> int:
    """Print ``error: text`` on one line of stderr; return the bad-input exit code."""
    say("error: " + " ".join(text.split()))
    return EXIT_BAD_INPUT


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one ``error: ...`` line (no usage block)."""

    def error(self, message: str) -> NoReturn:
        say(f"error: {message} (see --help)")
        sys.exit(EXIT_BAD_INPUT)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each flag's default, keeps the description's line breaks."""


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return value


def number(text: str) -> float:
    """A float flag; range checks are the engine's (so they name the flag and the fix)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def add_connection_args(parser: argparse.ArgumentParser, bootstrap_env: str) -> None:
    """The connection flags of both CLIs (the runbook's names), with defaults from the runbook's variables."""
    g = parser.add_argument_group("connection")
    g.add_argument("--bootstrap-servers", default=os.environ.get(bootstrap_env),
                   help=f"brokers, host:port[,host:port...] (default: ${bootstrap_env})")
    g.add_argument("--username", default=os.environ.get("KAFKA_USER"), help="SASL user (default: $KAFKA_USER)")
    g.add_argument("--password", default=None,
                   help="SASL password; visible to every user in `ps`: prefer the variable of --password-env")
    g.add_argument("--password-env", default="KAFKA_PASS", metavar="VAR",
                   help="environment variable holding the password, read when --password is not given")
    g.add_argument("--security-protocol", default="SASL_SSL", choices=SECURITY_PROTOCOLS,
                   help="how to talk to the brokers")
    g.add_argument("--sasl-mechanism", default="PLAIN", choices=SASL_MECHANISMS, help="SASL mechanism")
    g.add_argument("--ssl-ca-location", default=os.environ.get("KAFKA_CA") or None, metavar="PEM",
                   help="CA certificate(s) that signed the brokers' certificates (default: $KAFKA_CA if set, "
                        "else the system's trust store)")
    g.add_argument("--ssl-certificate-location", default=os.environ.get("KAFKA_CERT") or None, metavar="PEM",
                   help="this client's certificate, for mTLS (--security-protocol SSL) (default: $KAFKA_CERT if set)")
    g.add_argument("--ssl-key-location", default=os.environ.get("KAFKA_KEY") or None, metavar="PEM",
                   help="the private key of --ssl-certificate-location (default: $KAFKA_KEY if set)")
    g.add_argument("--ssl-key-password-env", default="KAFKA_KEY_PASS", metavar="VAR",
                   help="environment variable holding the key's password, when the key is encrypted (never a flag: "
                        "`ps` would show it)")
    g.add_argument("--connect-timeout", type=number, default=10.0, metavar="S",
                   help="seconds to wait for the brokers' first answer")


def add_output_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("output")
    g.add_argument("--progress-interval", type=number, default=5.0, metavar="S",
                   help="seconds between two progress lines on stderr")
    g.add_argument("--summary-json", type=Path, default=None, metavar="FILE",
                   help="also write the summary as JSON to FILE (for scripts and benchmarks)")
    g.add_argument("--debug", action="store_true",
                   help="show the Kafka client's own logs and the traceback of unexpected errors")


def client_spec(args: argparse.Namespace) -> ClientSpec:
    """The connection of the parsed flags; the password from --password or the variable of --password-env.

    :raises BomberInputError: naming the connection setting that is missing or unusable.
    """
    if not args.bootstrap_servers:
        raise BomberInputError("no brokers: give {field} host:port (or set the variable named in --help)",
                               {"field": "bootstrap.servers"})
    password = args.password if args.password is not None else os.environ.get(args.password_env)
    return ClientSpec(bootstrap_servers=args.bootstrap_servers, security_protocol=args.security_protocol,
                      sasl_mechanism=args.sasl_mechanism, username=args.username, password=password,
                      ssl_ca_location=args.ssl_ca_location, ssl_certificate_location=args.ssl_certificate_location,
                      ssl_key_location=args.ssl_key_location,
                      ssl_key_password=os.environ.get(args.ssl_key_password_env) or None)


def topic_names(prefix: str, num_topics: int) -> tuple[str, ...]:
    """``<prefix>.generated-data-NN.json`` for NN from 01 (the runbook's names).

    :raises BomberInputError: when the prefix or the count cannot form legal topic names.
    """
    try:
        naming = TopicNaming(prefix=prefix)
        return tuple(naming.source_topic(i) for i in range(1, num_topics + 1))
    except TopicNameError as exc:
        raise BomberInputError("{field}/{count}: {why}", {"field": "topic_prefix", "count": "topics"},
                               why=str(exc)) from None


def minutes_to_s(minutes: float | None) -> float | None:
    """``--duration-minutes`` in seconds, the engine's unit (None stays None)."""
    return None if minutes is None else minutes * 60.0


def log_level(args: argparse.Namespace) -> int:
    """librdkafka's log level: silent (errors come through the error callback) unless --debug."""
    return 6 if args.debug else 0


def write_json(path: Path | None, data: dict[str, Any]) -> None:
    if path is not None:
        path.write_text(json.dumps(data, indent=2) + "\n")


class ProgressLine:
    """Prints ``[elapsed] <counts>, <rate> msg/s ...`` lines: the rate is over the window since the previous line.

    :param verb: what the counted messages are (``sent``, ``read``).
    """

    def __init__(self, verb: str) -> None:
        self.verb = verb
        self.last_count = 0
        self.last_s = 0.0

    def line(self, elapsed_s: float, count: int, details: str, transient: int = 0) -> str:
        window = elapsed_s - self.last_s
        rate = (count - self.last_count) / window if window > 0 else 0.0
        self.last_count, self.last_s = count, elapsed_s
        note = f", transient {transient}" if transient else ""
        return f"[{elapsed_s:7.1f} s] {self.verb} {count:,} ({rate:,.1f} msg/s), {details}{note}"


def finish(summary: Any, rendered: str, summary_json: Path | None, started_s: float) -> int:
    """Print a run's summary, write its JSON (with the wall time since ``started_s``, a ``time.monotonic()``),
    and return the CLI's exit code.

    :param summary: the engine's ``ProduceSummary`` or ``ConsumeSummary``.
    :param rendered: its table, worded with :data:`FLAG_NAMES`.
    """
    print(rendered, flush=True)
    write_json(summary_json, {**summary.to_dict(FLAG_NAMES), "wall_s": round(time.monotonic() - started_s, 3)})
    if isinstance(summary.stopped, Interrupted):
        return EXIT_INTERRUPTED
    return EXIT_OK if summary.ok else EXIT_ERRORS


def run(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run a CLI's ``main``: bad input and connection failures become one ``error:`` line, never a traceback."""
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    # Ctrl-C (SIGINT) stops the run cleanly even when it was started in the background by a shell or nohup,
    # which start it with SIGINT ignored (Python then never raises KeyboardInterrupt).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return main(argv)
    except (BomberInputError, BomberConnectError) as exc:
        return fail(exc.worded(FLAG_NAMES))
    except KeyboardInterrupt:
        say("error: interrupted (Ctrl-C) before the run started")
        return EXIT_INTERRUPTED
    except ImportError as exc:
        return fail(f"{exc}: install the project's requirements (pip install -r requirements.txt)")
    except Exception as exc:
        if debug:
            raise
        say(f"error: unexpected {type(exc).__name__}: {' '.join(str(exc).split())} (rerun with --debug for the "
            "traceback)")
        return EXIT_ERRORS
