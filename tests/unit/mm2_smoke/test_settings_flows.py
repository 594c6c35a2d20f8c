"""The flows Params: ``flows`` (``auto`` or ``A->B`` names) and ``cluster_connections`` (``auto`` or a JSON object of
alias -> Airflow connection id), and the connection each cluster alias gets (:func:`connection_for`)."""

from __future__ import annotations

import json

import pytest

from mm2_smoke.errors import SettingsError
from mm2_smoke.settings import (
    FLOWS_PATTERN,
    SETTINGS,
    SmokeSettings,
    check_value,
    cluster_connections,
    connection_for,
    from_params,
    param_specs,
)

FLOWS = next(s for s in SETTINGS if s.name == "flows")


def test_both_params_default_to_auto_and_are_in_the_trigger_form() -> None:
    s = SmokeSettings()
    assert (s.flows, s.cluster_connections) == ("auto", "auto")
    specs = param_specs()
    assert specs["flows"][0] == "auto" and specs["flows"][1]["pattern"] == FLOWS_PATTERN
    assert specs["cluster_connections"][0] == "auto"


@pytest.mark.parametrize("value", ["auto", " auto ", "A->B", "A->B, B->A", "A->B,B->A", "A -> C , B -> C",
                                   "us-east.1->dr_2", "source->target"])
def test_flows_accepts_auto_and_flow_names(value: str) -> None:
    assert check_value(FLOWS, value) == value
    assert from_params({"flows": value}).flows == value


@pytest.mark.parametrize("value", ["A-B", "A->", "->B", "A->B,", "A->B, B-A", "A=>B", "A->B->C", "A B", "Auto",
                                   "auto, A->B", "A/x->B"])
def test_flows_refuses_what_is_not_a_list_of_flows_naming_the_param(value: str) -> None:
    with pytest.raises(SettingsError, match=r"^flows=.* is not 'auto' nor a comma-separated list of flows") as exc:
        from_params({"flows": value})
    assert exc.value.field == "flows"
    assert "'<source alias>-><target alias>'" in str(exc.value)


def test_flows_refuses_an_empty_value_naming_the_param() -> None:
    with pytest.raises(SettingsError, match="^flows='' must be a non-empty string") as exc:
        from_params({"flows": ""})
    assert exc.value.field == "flows"


@pytest.mark.parametrize(("value", "mapping"), [
    ("auto", {}),
    ("  auto ", {}),
    ('{"A": "kafka_a", "B": "kafka_b"}', {"A": "kafka_a", "B": "kafka_b"}),
    (' {"dc-1": "kafka_dc1"} ', {"dc-1": "kafka_dc1"}),
])
def test_cluster_connections_accepts_auto_and_a_json_object(value: str, mapping: dict[str, str]) -> None:
    s = from_params({"cluster_connections": value})
    assert s.cluster_connections == value
    assert cluster_connections(s) == mapping


@pytest.mark.parametrize("value", [
    "kafka_a",  # not JSON
    "{A: kafka_a}",  # not JSON either
    '["kafka_a", "kafka_b"]',  # a JSON list
    '[{"A": "kafka_a"}]',  # a list of objects
    "{}",  # an empty object: no alias mapped
    '{"A": ""}',  # an empty connection id
    '{"": "kafka_a"}',  # an empty alias
    '{"A": "kafka_a", "B": ""}',  # one empty value among good ones
    '{"A": 1}',  # not a string
    '{"A": null}',
    '{"A": ["kafka_a"]}',
    '"kafka_a"',  # a JSON string
    "null",
    "42",
])
def test_cluster_connections_refuses_anything_but_an_object_of_non_empty_ids_naming_the_param(value: str) -> None:
    with pytest.raises(SettingsError, match=r"^cluster_connections=.* is not a JSON object mapping each cluster alias")\
            as exc:
        from_params({"cluster_connections": value})
    assert exc.value.field == "cluster_connections"
    assert '{"A": "kafka_a", "B": "kafka_b"}' in str(exc.value) and "'auto'" in str(exc.value)
    with pytest.raises(SettingsError, match="^cluster_connections="):
        cluster_connections(SmokeSettings(cluster_connections=value))


def test_cluster_connections_refuses_an_empty_value_naming_the_param() -> None:
    with pytest.raises(SettingsError, match="^cluster_connections='' must be a non-empty string") as exc:
        from_params({"cluster_connections": ""})
    assert exc.value.field == "cluster_connections"


def test_connection_for_auto_follows_the_conventions() -> None:
    s = SmokeSettings(source_alias="A", target_alias="B")
    assert connection_for(s, "A") == "kafka_source"
    assert connection_for(s, "B") == "kafka_target"
    assert connection_for(s, "C") == "kafka_C"
    assert connection_for(s, "dr-east") == "kafka_dr-east"
    # The defaults of today: a one-flow chain needs no change.
    d = SmokeSettings()
    assert (connection_for(d, "source"), connection_for(d, "target")) == ("kafka_source", "kafka_target")
    assert connection_for(d, "A") == "kafka_A"


def test_connection_for_with_a_mapping_reads_it_and_gives_nothing_for_an_unmapped_alias() -> None:
    s = SmokeSettings(source_alias="A", target_alias="B",
                      cluster_connections=json.dumps({"A": "kafka_a", "C": "kafka_dr"}))
    assert connection_for(s, "A") == "kafka_a"
    assert connection_for(s, "C") == "kafka_dr"
    # The target alias is not mapped: no convention applies once the Param maps aliases.
    assert connection_for(s, "B") == ""
    assert connection_for(s, "X") == ""


def test_a_mapping_overrides_the_conventions_for_the_params_aliases_too() -> None:
    s = SmokeSettings(cluster_connections=json.dumps({"source": "kafka_prod", "target": "kafka_dr"}))
    assert (connection_for(s, "source"), connection_for(s, "target")) == ("kafka_prod", "kafka_dr")


def test_connection_for_refuses_a_bad_mapping_naming_the_param() -> None:
    with pytest.raises(SettingsError) as exc:
        connection_for(SmokeSettings(cluster_connections="[1]"), "A")
    assert exc.value.field == "cluster_connections"
