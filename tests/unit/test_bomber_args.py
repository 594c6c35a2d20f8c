"""The bombers' inputs: flags, their validation and one-line errors, the work each thread gets."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from confluent_kafka import KafkaError

from mm2_smoke.bomber import (
    MAX_RECORD_SIZE,
    BomberInputError,
    ClientSpec,
    ConsumerSpec,
    ProducerSpec,
    connect_failure,
    share_partitions,
)

CLI_DIR = Path(__file__).resolve().parents[2] / "include" / "kafka-consumer-producer"
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


# --- producer spec ---------------------------------------------------------------------------------
@pytest.mark.parametrize("rate", [0, -5, float("nan"), float("inf")])
def test_rate_must_be_positive_and_finite(rate: float) -> None:
    with pytest.raises(BomberInputError, match="--messages-per-second .* must be above 0.*--unthrottled"):
        ProducerSpec(TOPICS, rate_per_s=rate)


def test_record_size_above_the_broker_limit_is_refused() -> None:
    with pytest.raises(BomberInputError, match=r"--record-size 2000000 B is above .* use --record-size 1000000"):
        ProducerSpec(TOPICS, record_size=2_000_000)
    ProducerSpec(TOPICS, record_size=MAX_RECORD_SIZE)


def test_record_size_too_small_for_the_tag_is_refused() -> None:
    with pytest.raises(BomberInputError, match="--record-size 50: .*at least"):
        ProducerSpec(TOPICS, record_size=50)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"num_threads": 0}, "--num-threads 0"),
    ({"duration_s": 0}, "--duration-minutes 0 must be above 0"),
    ({"num_messages": 0}, "--num-messages 0"),
    ({"duration_s": None, "num_messages": None}, "neither --duration-minutes nor --num-messages"),
    ({"acks": "2"}, "--acks '2'"),
])
def test_other_producer_settings_are_checked(kwargs: dict, match: str) -> None:
    with pytest.raises(BomberInputError, match=match):
        ProducerSpec(TOPICS, **kwargs)


def test_no_topic_is_refused() -> None:
    with pytest.raises(BomberInputError, match="no topic"):
        ProducerSpec(())


def test_runbook_run_plans_600_sends_at_100_ms() -> None:
    spec = ProducerSpec(TOPICS, rate_per_s=10, num_threads=1, duration_s=60)
    assert spec.thread_plan(0) == 600
    assert spec.thread_interval_s() == pytest.approx(0.1)


def test_total_rate_is_shared_by_the_threads() -> None:
    spec = ProducerSpec(TOPICS * 1, rate_per_s=40, num_threads=2, duration_s=3)
    assert spec.thread_interval_s() == pytest.approx(0.05)
    assert spec.thread_plan(0) + spec.thread_plan(1) == 120


def test_num_messages_is_per_topic_and_shared_by_the_threads() -> None:
    topics = ("a.generated-data-01.json", "a.generated-data-02.json")
    spec = ProducerSpec(topics, num_messages=25, num_threads=2, duration_s=None)
    assert [spec.thread_quota(0), spec.thread_quota(1)] == [13, 12]
    assert spec.thread_plan(0) + spec.thread_plan(1) == 25 * 2


def test_the_first_limit_reached_wins() -> None:
    spec = ProducerSpec(TOPICS, rate_per_s=10, duration_s=60, num_messages=100)
    assert spec.thread_plan(0) == 100
    assert ProducerSpec(TOPICS, rate_per_s=None, duration_s=10).thread_plan(0) is None  # unthrottled: the clock


def test_acks_all_makes_the_producer_idempotent() -> None:
    assert ProducerSpec(TOPICS).client_settings()["enable.idempotence"] is False
    assert ProducerSpec(TOPICS, acks="1").client_settings()["enable.idempotence"] is False


# --- client spec -----------------------------------------------------------------------------------
def test_sasl_needs_user_and_password_and_hides_the_password() -> None:
    with pytest.raises(BomberInputError, match="needs a user"):
        ClientSpec("h:9092", password="p")
    with pytest.raises(BomberInputError, match="needs a password.*KAFKA_PASS"):
        ClientSpec("h:9092", username="u")
    spec = ClientSpec("h:9092", username="u", password="s3cret")
    assert "s3cret" not in repr(spec)
    assert spec.config() == {"bootstrap.servers": "h:9092", "security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN",
                             "sasl.username": "u", "sasl.password": "s3cret"}


def test_plaintext_needs_no_credentials_and_ca_must_exist(tmp_path: Path) -> None:
    assert ClientSpec("h:9092", security_protocol="PLAINTEXT").config() == {
        "bootstrap.servers": "h:9092", "security.protocol": "PLAINTEXT"}
    with pytest.raises(BomberInputError, match="no such file"):
        ClientSpec("h:9092", username="u", password="p", ssl_ca_location=str(tmp_path / "missing.pem"))


@pytest.mark.parametrize(("code", "match"), [
    (KafkaError._AUTHENTICATION, "authentication failed on h:1 as user 'u'"),
    (KafkaError._RESOLVE, "cannot resolve a broker address of h:1"),
    (KafkaError._ALL_BROKERS_DOWN, "cannot connect to any broker of h:1"),
    (KafkaError._SSL, "TLS handshake with h:1 failed"),
    (KafkaError.TOPIC_AUTHORIZATION_FAILED, "not authorized"),
])
def test_client_errors_that_end_the_run_are_named(code: int, match: str) -> None:
    assert match in connect_failure(KafkaError(code, "reason"), "h:1", "u")


def test_transient_client_errors_do_not_end_the_run() -> None:
    assert connect_failure(KafkaError(KafkaError._TRANSPORT, "disconnected"), "h:1", "u") is None


# --- consumer spec ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "match"), [
    ({"num_consumers": 0}, "--num-consumers 0"),
    ({"auto_offset_reset": "smallest"}, "--auto-offset-reset 'smallest'"),
    ({"expect_per_topic": 0}, "--expect-messages 0"),
    ({"until_end": True, "auto_offset_reset": "latest"}, "nothing to read"),
    ({"duration_s": None}, "nothing would stop the consumer"),
])
def test_consumer_settings_are_checked(kwargs: dict, match: str) -> None:
    with pytest.raises(BomberInputError, match=match):
        ConsumerSpec(TOPICS, **kwargs)


def test_partitions_are_dealt_round_robin() -> None:
    shares = share_partitions({"b": [0], "a": [0, 1, 2]}, 2)
    assert shares == [[("a", 0), ("a", 2)], [("a", 1), ("b", 0)]]
    assert share_partitions({"a": [0]}, 3)[1:] == [[], []]


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


def test_progress_lines_give_the_rate_over_the_window_since_the_previous_line() -> None:
    cli = load_cli("bomber_common")
    line = cli.ProgressLine("sent")
    assert line.line(2.0, 100, "delivered 90") == "[    2.0 s] sent 100 (50.0 msg/s), delivered 90"
    assert line.line(4.0, 1300, "delivered 1,290", transient=2) == \
        "[    4.0 s] sent 1,300 (600.0 msg/s), delivered 1,290, transient 2"
    assert line.line(4.0, 1300, "x").startswith("[    4.0 s] sent 1,300 (0.0 msg/s)")  # an empty window


@pytest.mark.parametrize(("stopped", "ok", "code"), [
    ("num_messages reached", True, 0), ("duration reached", False, 1), ("interrupted (Ctrl-C)", True, 130)])
def test_finish_prints_the_summary_writes_its_json_and_returns_the_exit_code(tmp_path, capsys, stopped, ok,
                                                                            code) -> None:
    import json
    import time

    cli = load_cli("bomber_common")

    class Summary:
        def __init__(self) -> None:
            self.stopped, self.ok = stopped, ok

        def to_dict(self) -> dict:
            return {"stopped": self.stopped, "ok": self.ok}

    out = tmp_path / "summary.json"
    assert cli.finish(Summary(), "the summary", out, time.monotonic() - 1.5) == code
    assert capsys.readouterr().out == "the summary\n"
    written = json.loads(out.read_text())
    assert written["stopped"] == stopped and written["wall_s"] >= 1.5
