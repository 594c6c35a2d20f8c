"""One error hierarchy; the field an error is about is data, and each audience words it in its own terms."""

from __future__ import annotations

import pytest

from mm2_smoke.errors import (
    ConnectionProblem,
    InputError,
    Mm2SmokeError,
    SettingsError,
    SetupError,
    SmokeTestNogo,
    TopicNameError,
    UnavailableError,
)
from mm2_smoke.settings import from_params


def test_an_error_names_its_field_and_can_be_worded_for_another_audience() -> None:
    exc = InputError("{flag} {value} must be above 0: give the total rate", {"flag": "rate_per_s"}, value=0)
    assert exc.field == "rate_per_s" and str(exc) == "rate_per_s 0 must be above 0: give the total rate"
    cli = exc.renamed({"rate_per_s": "--messages-per-second"})
    assert str(cli) == "--messages-per-second 0 must be above 0: give the total rate"
    assert isinstance(cli, InputError) and cli.field == "rate_per_s" and str(exc).startswith("rate_per_s")
    dag = exc.renamed({}, suffix=" (Param messages_per_second)")
    assert str(dag).endswith("(Param messages_per_second)")


def test_plain_text_keeps_its_braces_and_values_with_braces_are_safe() -> None:
    assert str(Mm2SmokeError('set {"a": 1}')) == 'set {"a": 1}'
    assert str(UnavailableError("got {body}", body='{"error": "x"}')) == 'got {"error": "x"}'


def test_every_error_shares_the_base_and_keeps_its_builtin_kind() -> None:
    for cls in (InputError, SettingsError, TopicNameError, ConnectionProblem, SetupError):
        assert issubclass(cls, Mm2SmokeError) and issubclass(cls, ValueError)
    for cls in (UnavailableError, SmokeTestNogo):
        assert issubclass(cls, Mm2SmokeError) and issubclass(cls, RuntimeError)
    setup = SetupError(["a is missing", "b is missing"])
    assert setup.problems == ["a is missing", "b is missing"] and str(setup) == (
        "the run cannot start: a is missing | b is missing")
    nogo = SmokeTestNogo("{verdict}: {why}", verdict="NOGO", why="x")
    assert nogo.verdict == "NOGO" and str(nogo) == "NOGO: x"
    conn = ConnectionProblem("{message}", conn_id="kafka_source", message="not defined")
    assert conn.conn_id == "kafka_source" and str(conn) == "not defined"


def test_a_topic_naming_error_is_worded_with_the_param_that_caused_it() -> None:
    with pytest.raises(SettingsError) as caught:
        from_params({"replication_separator": "a b"})
    assert caught.value.field == "replication_separator"
    assert str(caught.value).startswith("replication_separator='a b' is not usable in a Kafka topic name")
