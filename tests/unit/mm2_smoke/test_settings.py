from __future__ import annotations

import pytest

from mm2_smoke.settings import SETTINGS, SettingsError, SmokeSettings, from_params, param_specs


def test_defaults_are_the_runbooks() -> None:
    s = SmokeSettings()
    assert (s.num_messages, s.record_size_bytes, s.messages_per_second) == (100, 1024, 10.0)
    assert (s.ratio_min_pct, s.write_stall_timeout_s) == (99.0, 30)
    assert (s.latency_avg_max_ms, s.latency_max_max_ms, s.lag_max, s.offset_commit_max_ms) == (100, 500, 100, 1000)
    assert s.source_topic == "test-prometheus.generated-data-01.json"
    assert s.remote_topic == "source.test-prometheus.generated-data-01.json"


def test_every_setting_is_a_param_with_title_and_description() -> None:
    specs = param_specs()
    assert set(specs) == {s.name for s in SETTINGS}
    for name, (default, schema) in specs.items():
        assert schema["title"] and schema["description"], name
        assert from_params({name: default}) == SmokeSettings()


@pytest.mark.parametrize(("params", "message"), [
    ({"num_messages": 0}, r"^num_messages=0 is below the minimum 1"),
    ({"num_messages": -5}, r"^num_messages=-5 is below the minimum 1"),
    ({"num_messages": 2.5}, r"^num_messages=2.5 must be a whole number"),
    ({"messages_per_second": 0}, r"^messages_per_second=0.0 is below the minimum 0.1"),
    ({"record_size_bytes": 2_000_000}, r"^record_size_bytes=2000000 is above the maximum"),
    ({"topic_prefix": "bad prefix"}, r"^topic_prefix=.* is not usable in a Kafka topic name"),
    ({"ratio_min_pct": 101}, r"^ratio_min_pct=101.0 is above the maximum 100"),
    ({"metric_profile": "grafana"}, r"^metric_profile='grafana' is not one of auto, runbook, strimzi, kafka-new"),
    ({"num_messages": "ten"}, r"^num_messages='ten' is not an integer"),
    ({"latency_avg_max_ms": 600}, r"^latency_avg_max_ms=600 is above latency_max_max_ms=500"),
    ({"messages_per_second": float("nan")}, r"must be a finite number"),
    ({"num_messages": True}, r"is not an integer"),
])
def test_bad_params_name_the_setting(params: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        from_params(params)


def test_unknown_keys_are_ignored_and_strings_of_numbers_accepted() -> None:
    s = from_params({"num_messages": "500", "something_else": 1})
    assert s.num_messages == 500


def test_the_dags_thresholds_table_shows_each_rule_with_its_params_value() -> None:
    from mm2_smoke.registry import CHECKS
    from mm2_smoke.settings import thresholds_table

    table = thresholds_table()
    for c in CHECKS:
        if c.setting:
            assert f"`{c.setting}`" in table, c.name
    assert "GO: > 99 %" in table and "GO: < 500 ms" in table and "30 s: NOGO" in table
    changed = thresholds_table(SmokeSettings(ratio_min_pct=95.5, latency_max_max_ms=250.0))
    assert "GO: > 95.5 %" in changed and "GO: < 250 ms" in changed and "> 99 %" not in changed
