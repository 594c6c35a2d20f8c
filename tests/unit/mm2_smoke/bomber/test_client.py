"""How the bombers reach a cluster: the connection's checks and the client errors that end a run, as typed data."""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka import KafkaError

from mm2_smoke.bomber.client import BomberConnectError, BomberInputError, ClientSpec, RunError, connect_failure
from mm2_smoke.errors import UnavailableError


def test_sasl_needs_user_and_password_and_hides_the_password() -> None:
    with pytest.raises(BomberInputError, match="needs a user") as user:
        ClientSpec("h:9092", password="p")
    assert user.value.field == "sasl.username"
    with pytest.raises(BomberInputError, match="needs a password: set sasl.password") as password:
        ClientSpec("h:9092", username="u")
    assert password.value.field == "sasl.password"
    spec = ClientSpec("h:9092", username="u", password="s3cret")
    assert "s3cret" not in repr(spec)
    assert spec.config() == {"bootstrap.servers": "h:9092", "security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN",
                             "sasl.username": "u", "sasl.password": "s3cret"}


def test_plaintext_needs_no_credentials_and_ca_must_exist(tmp_path: Path) -> None:
    assert ClientSpec("h:9092", security_protocol="PLAINTEXT").config() == {
        "bootstrap.servers": "h:9092", "security.protocol": "PLAINTEXT"}
    with pytest.raises(BomberInputError, match="no such file") as caught:
        ClientSpec("h:9092", username="u", password="p", ssl_ca_location=str(tmp_path / "missing.pem"))
    assert caught.value.field == "ssl.ca.location"


@pytest.mark.parametrize(("code", "match", "field"), [
    (KafkaError._AUTHENTICATION, "authentication failed on h:1 as user 'u'", "sasl.mechanism"),
    (KafkaError._RESOLVE, "cannot resolve a broker address of h:1", "bootstrap.servers"),
    (KafkaError._ALL_BROKERS_DOWN, "cannot connect to any broker of h:1", "bootstrap.servers"),
    (KafkaError._SSL, "TLS handshake with h:1 failed", "ssl.ca.location"),
    (KafkaError.TOPIC_AUTHORIZATION_FAILED, "not authorized", None),
])
def test_client_errors_that_end_the_run_are_named(code: int, match: str, field: str | None) -> None:
    failure = connect_failure(KafkaError(code, "reason"), "h:1", "u")
    assert isinstance(failure, BomberConnectError) and isinstance(failure, UnavailableError)
    assert match in str(failure) and failure.code == code and failure.field == field
    assert "--" not in str(failure)  # neutral: librdkafka keys, never a CLI's flags


def test_transient_client_errors_do_not_end_the_run() -> None:
    assert connect_failure(KafkaError(KafkaError._TRANSPORT, "disconnected"), "h:1", "u") is None


def test_a_note_keeps_the_error_its_fields_and_its_code() -> None:
    failure = connect_failure(KafkaError(KafkaError._SSL, "bad {cert}"), "h:1", "u")
    noted = failure.with_note(" (last connection error: {x})")
    assert str(noted) == str(failure) + " (last connection error: {x})"
    assert noted.code == KafkaError._SSL and noted.fields == failure.fields
    assert noted.worded({"ssl.ca.location": "--ca"}).endswith("ssl.key.location is its key (last connection "
                                                                "error: {x})")
    assert "check --ca, security.protocol" in noted.worded({"ssl.ca.location": "--ca"})
    plain = RunError("a {literal} text").with_note("!")
    assert str(plain) == "a {literal} text!" and plain.code is None
