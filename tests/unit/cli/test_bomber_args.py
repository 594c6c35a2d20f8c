"""The bombers' command lines: flags, their one-line errors worded with the flags, progress lines, exit codes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from confluent_kafka import KafkaError

from mm2_smoke.bomber.client import BomberInputError, ClientSpec, Interrupted, RunError, connect_failure
from mm2_smoke.bomber.consumer import ConsumerSpec
from mm2_smoke.bomber.producer import ProducerSpec
from mm2_smoke.bomber.stats import ConsumeSummary, TopicConsumeStats, render_consume

CLI_DIR = Path(__file__).resolve().parents[3] / "include" / "kafka-consumer-producer"
TOPICS = ("test-prometheus.generated-data-01.json",)


def load_cli(name: str) -> ModuleType:
    """A bomber script as a module (the folder name has a dash: it is not a package)."""
    sys.path.insert(0, str(CLI_DIR))
    try:
        spec = importlib.util.spec_from_file_location(name, CLI_DIR / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(CLI_DIR))


@pytest.fixture(scope="module")
def producer_cli() -> ModuleType:
    return load_cli("kafka_producer_bomber")


@pytest.fixture(scope="module")
def consumer_cli() -> ModuleType:
    return load_cli("kafka_consumer_bomber")


# --- the engine's errors, worded with the flags: word for word what the CLIs always said ------------------
def _cli_words(build, *args, **kwargs) -> str:
    cli = load_cli("bomber_common")
    with pytest.raises(BomberInputError) as caught:
        build(*args, **kwargs)
    return caught.value.worded(cli.FLAG_NAMES)


@pytest.mark.parametrize(("kwargs", "text"), [
    ({"rate_per_s": 0}, "--messages-per-second 0 must be above 0: give the total rate in messages per second (e.g. "
                        "10), or --unthrottled for as fast as possible"),
    ({"rate_per_s": -5}, "--messages-per-second -5 must be above 0: give the total rate in messages per second (e.g. "
                         "10), or --unthrottled for as fast as possible"),
    ({"record_size": 2_000_000}, "--record-size 2000000 B is above the 1,000,000 B a record may have (brokers refuse "
                                 "larger batches by default): use --record-size 1000000 or less"),
    ({"num_threads": 0}, "--num-threads 0 must be 1 or more"),
    ({"duration_s": 0}, "--duration-minutes 0 must be above 0"),
    ({"num_messages": 0}, "--num-messages 0 must be 1 or more"),
    ({"duration_s": None, "num_messages": None}, "neither --duration-minutes nor --num-messages: give one to say when "
                                                 "to stop"),
    ({"acks": "2"}, "--acks '2' is unknown: use one of all, 1, 0"),
])
def test_producer_spec_errors_name_the_flags(kwargs: dict, text: str) -> None:
    assert _cli_words(ProducerSpec, TOPICS, **kwargs) == text


def test_record_size_too_small_names_the_flag_then_the_tag() -> None:
    assert _cli_words(ProducerSpec, TOPICS, record_size=50).startswith(
        "--record-size 50: record size 50 B is too small for the run tag (")
    assert _cli_words(ProducerSpec, ()) == "no topic: give --num-topics 1 or more"


@pytest.mark.parametrize(("kwargs", "text"), [
    ({"num_consumers": 0}, "--num-consumers 0 must be 1 or more"),
    ({"auto_offset_reset": "smallest"}, "--auto-offset-reset 'smallest' is unknown: use earliest or latest"),
    ({"expect_per_topic": 0}, "--expect-messages 0 must be 1 or more"),
    ({"until_end": True, "auto_offset_reset": "latest"}, "--until-end with --auto-offset-reset latest has nothing to "
                                                         "read: use earliest"),
    ({"duration_s": None}, "nothing would stop the consumer: give --duration-minutes, --expect-messages or "
                           "--until-end"),
])
def test_consumer_spec_errors_name_the_flags(kwargs: dict, text: str) -> None:
    assert _cli_words(ConsumerSpec, TOPICS, **kwargs) == text


def test_connection_errors_name_the_flags(tmp_path: Path) -> None:
    assert _cli_words(ClientSpec, " ") == "--bootstrap-servers is empty: give host:port of at least one broker"
    assert _cli_words(ClientSpec, "h:1", security_protocol="TLS") == (
        "--security-protocol 'TLS' is unknown: use one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL")
    assert _cli_words(ClientSpec, "h:1", sasl_mechanism="GSSAPI", username="u", password="p") == (
        "--sasl-mechanism 'GSSAPI' is unknown: use one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512")
    assert _cli_words(ClientSpec, "h:1", password="p") == "SASL_SSL needs a user: give --username"
    assert _cli_words(ClientSpec, "h:1", username="u") == (
        "SASL_SSL needs a password: set the variable named by --password-env (default KAFKA_PASS) or give --password")
    missing = tmp_path / "missing.pem"
    assert _cli_words(ClientSpec, "h:1", username="u", password="p", ssl_ca_location=str(missing)) == (
        f"--ssl-ca-location {missing}: no such file; give the PEM file of the CA that signed the brokers' certificates")


@pytest.mark.parametrize(("code", "text"), [
    (KafkaError._AUTHENTICATION, "authentication failed on h:1 as user 'u': reason; check the user name, the password "
                                 "and --sasl-mechanism"),
    (KafkaError._RESOLVE, "cannot resolve a broker address of h:1: reason; check --bootstrap-servers (host:port)"),
    (KafkaError._ALL_BROKERS_DOWN, "cannot connect to any broker of h:1: reason; check --bootstrap-servers, the port, "
                                   "the network and --security-protocol"),
    (KafkaError._SSL, "TLS handshake with h:1 failed: reason; check --ssl-ca-location, --security-protocol, and with "
                      "mTLS that --ssl-certificate-location was signed by a CA the brokers trust and --ssl-key-location "
                      "is its key"),
    (KafkaError.TOPIC_AUTHORIZATION_FAILED, "not authorized on h:1 as user 'u': reason; ask for the ACLs this needs"),
])
def test_client_errors_that_end_the_run_name_the_flags(code: int, text: str) -> None:
    cli = load_cli("bomber_common")
    assert connect_failure(KafkaError(code, "reason"), "h:1", "u").worded(cli.FLAG_NAMES) == text


def test_a_refused_client_certificate_is_named_with_its_flags() -> None:
    """TLS 1.3: the broker's alert about the client certificate comes as a transport failure (recorded text)."""
    cli = load_cli("bomber_common")
    reason = ("ssl://127.0.0.1:19692/bootstrap: Receive failed: error:0A000412:SSL routines::ssl/tls alert bad "
              "certificate: SSL alert number 42 (after 1ms in state APIVERSION_QUERY)")
    failure = connect_failure(KafkaError(KafkaError._TRANSPORT, reason), "h:1", None)
    assert failure is not None and failure.worded(cli.FLAG_NAMES) == (
        f"the brokers of h:1 refused this client's certificate: {reason}; check that --ssl-certificate-location was "
        "signed by a CA the brokers trust and is not expired, and that --ssl-key-location is its key")
    assert connect_failure(KafkaError(KafkaError._TRANSPORT, "Connection reset by peer"), "h:1", None) is None


def test_client_certificate_flags_and_the_key_password_from_the_environment(producer_cli: ModuleType, tmp_path,
                                                                            monkeypatch) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("c")
    key.write_text("k")
    monkeypatch.setenv("MY_KEY_PASS", "key-secret")
    args = producer_cli.build_parser().parse_args([
        "--bootstrap-servers", "h:9093", "--security-protocol", "SSL", "--ssl-certificate-location", str(cert),
        "--ssl-key-location", str(key), "--ssl-key-password-env", "MY_KEY_PASS"])
    spec = producer_cli.cli.client_spec(args)
    assert spec.config() == {"bootstrap.servers": "h:9093", "security.protocol": "SSL",
                             "ssl.certificate.location": str(cert), "ssl.key.location": str(key),
                             "ssl.key.password": "key-secret"}
    assert "key-secret" not in repr(spec)
    half = producer_cli.build_parser().parse_args([
        "--bootstrap-servers", "h:9093", "--security-protocol", "SSL", "--ssl-certificate-location", str(cert)])
    with pytest.raises(BomberInputError) as err:
        producer_cli.cli.client_spec(half)
    assert err.value.worded(producer_cli.cli.FLAG_NAMES) == (
        "a client certificate needs both files: give --ssl-key-location too")


def test_the_consumers_duration_stop_names_the_flag() -> None:
    cli = load_cli("bomber_common")
    stopped = RunError("{field} reached before the end offsets ({seconds:g} s)", {"field": "duration_s"}, seconds=60)
    text = render_consume(ConsumeSummary([TopicConsumeStats("t")], 60.0, stopped=stopped), cli.FLAG_NAMES)
    assert "stopped early: --duration-minutes reached before the end offsets (60 s)" in text


# --- the CLIs' flags -------------------------------------------------------------------------------
def test_runbook_producer_flags_parse(producer_cli: ModuleType) -> None:
    args = producer_cli.build_parser().parse_args([
        "--bootstrap-servers", "h:9092", "--username", "u", "--password", "p", "--security-protocol", "SASL_SSL",
        "--topic-prefix", "test-prometheus", "--num-topics", "2", "--messages-per-second", "10",
        "--num-threads", "1", "--duration-minutes", "1"])
    spec = producer_cli.spec_from_args(args)
    assert spec.topics == ("test-prometheus.generated-data-01.json", "test-prometheus.generated-data-02.json")
    assert (spec.rate_per_s, spec.duration_s, spec.num_messages, spec.record_size, spec.acks) == (10, 60, None, 1024,
                                                                                                  "all")


def test_num_messages_alone_has_no_time_limit(producer_cli: ModuleType) -> None:
    spec = producer_cli.spec_from_args(producer_cli.build_parser().parse_args(["--num-messages", "100"]))
    assert (spec.num_messages, spec.duration_s, spec.rate_per_s) == (100, None, 10)


def test_unthrottled_excludes_a_rate(producer_cli: ModuleType) -> None:
    parser = producer_cli.build_parser()
    assert producer_cli.spec_from_args(parser.parse_args(["--unthrottled"])).rate_per_s is None
    with pytest.raises(BomberInputError, match="exclude each other"):
        producer_cli.spec_from_args(parser.parse_args(["--unthrottled", "--messages-per-second", "5"]))


@pytest.mark.parametrize("minutes", ["0", "-1"])
def test_producer_duration_must_be_above_zero_in_minutes(producer_cli: ModuleType, minutes: str) -> None:
    args = producer_cli.build_parser().parse_args(["--duration-minutes", minutes])
    with pytest.raises(BomberInputError, match=f"^--duration-minutes {minutes} must be above 0$"):
        producer_cli.spec_from_args(args)


def test_password_comes_from_the_named_variable(producer_cli: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KAFKA_SECRET", "from-env")
    args = producer_cli.build_parser().parse_args(["--bootstrap-servers", "h:1", "--username", "u",
                                                   "--password-env", "MY_KAFKA_SECRET"])
    assert producer_cli.cli.client_spec(args).password == "from-env"


def test_bad_flag_is_one_error_line(producer_cli: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        producer_cli.build_parser().parse_args(["--num-topics", "zero"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: argument --num-topics")


def test_help_states_defaults(producer_cli: ModuleType, consumer_cli: ModuleType) -> None:
    text = " ".join(producer_cli.build_parser().format_help().split())
    assert "TOTAL rate over every thread and topic" in text and "PER TOPIC" in text
    assert "(default: 1024)" in text and "(default: all)" in text
    ctext = " ".join(consumer_cli.build_parser().format_help().split())
    assert "clocks" in ctext and "(default: earliest)" in ctext and "(default: source.test-prometheus)" in ctext


def test_runbook_consumer_flags_parse(consumer_cli: ModuleType) -> None:
    args = consumer_cli.build_parser().parse_args([
        "--bootstrap-servers", "h:9092", "--username", "u", "--password", "p", "--topic-prefix",
        "source.test-prometheus", "--num-topics", "1", "--num-consumers", "1", "--duration-minutes", "1",
        "--auto-offset-reset", "earliest"])
    spec = consumer_cli.spec_from_args(args)
    assert spec.topics == ("source.test-prometheus.generated-data-01.json",)
    assert (spec.duration_s, spec.auto_offset_reset, spec.until_end) == (60, "earliest", False)


def test_consumer_duration_zero_means_no_time_limit(consumer_cli: ModuleType) -> None:
    parser = consumer_cli.build_parser()
    assert consumer_cli.spec_from_args(parser.parse_args(["--duration-minutes", "0", "--until-end"])).duration_s is None
    with pytest.raises(BomberInputError, match="nothing would stop"):
        consumer_cli.spec_from_args(parser.parse_args(["--duration-minutes", "0"]))
    with pytest.raises(BomberInputError, match="--duration-minutes -1 must be 0 .no limit. or more"):
        consumer_cli.spec_from_args(parser.parse_args(["--duration-minutes", "-1"]))


def test_progress_lines_give_the_rate_over_the_window_since_the_previous_line() -> None:
    cli = load_cli("bomber_common")
    line = cli.ProgressLine("sent")
    assert line.line(2.0, 100, "delivered 90") == "[    2.0 s] sent 100 (50.0 msg/s), delivered 90"
    assert line.line(4.0, 1300, "delivered 1,290", transient=2) == \
        "[    4.0 s] sent 1,300 (600.0 msg/s), delivered 1,290, transient 2"
    assert line.line(4.0, 1300, "x").startswith("[    4.0 s] sent 1,300 (0.0 msg/s)")  # an empty window


@pytest.mark.parametrize(("stopped", "ok", "code"), [
    (None, True, 0), (RunError("fatal client error on h:1: boom"), False, 1),
    (Interrupted("interrupted (Ctrl-C)"), True, 130)])
def test_finish_prints_the_summary_writes_its_json_and_returns_the_exit_code(tmp_path, capsys, stopped, ok,
                                                                            code) -> None:
    import json
    import time

    cli = load_cli("bomber_common")

    class Summary:
        def __init__(self) -> None:
            self.stopped, self.ok = stopped, ok

        def to_dict(self, names: dict[str, str]) -> dict:
            return {"stopped": self.stopped.worded(names) if self.stopped else "", "ok": self.ok}

    out = tmp_path / "summary.json"
    assert cli.finish(Summary(), "the summary", out, time.monotonic() - 1.5) == code
    assert capsys.readouterr().out == "the summary\n"
    written = json.loads(out.read_text())
    assert written["stopped"] == (str(stopped) if stopped else "") and written["wall_s"] >= 1.5


def test_engine_errors_are_one_error_line_worded_with_the_flags(capsys: pytest.CaptureFixture[str]) -> None:
    cli = load_cli("bomber_common")

    def main(_argv: object) -> int:
        ProducerSpec(TOPICS, rate_per_s=0)
        return 0

    assert cli.run(main, []) == cli.EXIT_BAD_INPUT
    assert capsys.readouterr().err == ("error: --messages-per-second 0 must be above 0: give the total rate in messages "
                                       "per second (e.g. 10), or --unthrottled for as fast as possible\n")
    with pytest.raises(BomberInputError) as caught:
        cli.topic_names("bad prefix", 1)
    assert caught.value.worded(cli.FLAG_NAMES).startswith(
        "--topic-prefix/--num-topics: prefix='bad prefix' is not usable in a Kafka topic name")
