"""The check registry: every check the code can produce is declared once, and each declaration is whole."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from mm2_smoke import registry
from mm2_smoke.checks import Status
from mm2_smoke.registry import CHECKS, ROWS, SYMPTOMS, Symptom, row_words, spec
from mm2_smoke.settings import SETTINGS, SmokeSettings

PLUGIN = Path(__file__).resolve().parents[3] / "plugins" / "mm2_smoke"
#: Values a GO rule may name besides the settings: what the measuring step gives.
STEP_VALUES = {"delivered", "conns"}


def _literal_names() -> set[str]:
    """Every check name the code names: ``spec("x")`` calls and pre-flight findings (``Finding("x", ...)``)."""
    names = set()
    for path in PLUGIN.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("spec", "Finding")
                    and node.args and isinstance(node.args[0], ast.Constant | ast.JoinedStr)):
                arg = node.args[0]
                if isinstance(arg, ast.Constant):
                    names.add(arg.value)
                else:  # f"{cluster}_cluster"
                    tail = "".join(v.value for v in arg.values if isinstance(v, ast.Constant))
                    names |= {f"{side}{tail}" for side in ("source", "target")}
    return names


def test_every_check_the_code_names_is_declared() -> None:
    names = _literal_names()
    assert {"messages_produced", "connector", "source_cluster", "metric_contract"} <= names  # the scan sees them
    assert names - set(registry.BY_NAME) == set()


def test_names_are_unique_and_steps_known() -> None:
    assert len({c.name for c in CHECKS}) == len(CHECKS)
    assert {c.step for c in CHECKS} <= set(registry.STEPS)


def test_each_threshold_param_is_a_setting_and_each_go_rule_names_only_settings_or_step_values() -> None:
    settings = {s.name for s in SETTINGS}
    fields = set(SmokeSettings().to_dict())
    for c in CHECKS:
        assert c.setting is None or c.setting in settings, c.name
        named = set(re.findall(r"{(\w+)", c.go_rule))
        assert named <= fields | STEP_VALUES, (c.name, named - fields - STEP_VALUES)
        if c.setting:
            assert c.setting in named or c.setting == "num_messages", c.name


def test_go_rules_with_the_runbooks_defaults() -> None:
    s = SmokeSettings()
    assert spec("write_poll_ratio_pct").threshold(s) == "> 99 %"
    assert spec("replication_latency_avg_ms").threshold(s) == "< 100 ms"
    assert spec("poll_total_increase").threshold(s, delivered=100) == ">= +100"
    assert spec("messages_on_target").threshold(s, delivered=100) == "100 of this run (missing <= 0)"


def test_rows_symptoms_and_baseline_fields_are_consistent() -> None:
    labels = [r.label for r in ROWS]
    assert len(set(labels)) == len(labels)
    assert {c.row for c in CHECKS if c.row} <= set(labels)
    assert all(registry.row_checks(r.label) or r.status for r in ROWS), "a row with no check needs a fixed status"
    assert [s.symptom for s in SYMPTOMS] == list(Symptom) and len({s.task for s in SYMPTOMS}) == len(SYMPTOMS)
    declared = {s for c in CHECKS for r in c.raises for s in r.symptoms}
    assert declared <= set(Symptom)
    assert all(c.baseline for c in CHECKS if c.trend)
    baselines = [c.baseline for c in CHECKS if c.baseline]
    assert len(set(baselines)) == len(baselines)


@pytest.mark.parametrize(("status", "value", "expected"), [
    ("GO", 0, set()),
    ("NOGO", 3, set()),  # some arrived: step 1.4's shortfall alone raises nothing (the other checks say why)
    ("NOGO", 0, {Symptom.REPLICATION_STOPPED, Symptom.NOTHING_ON_TARGET}),
    ("UNKNOWN", None, {Symptom.REPLICATION_STOPPED, Symptom.NOTHING_ON_TARGET}),
])
def test_a_check_raises_its_symptoms_by_status_and_emptiness(status: str, value: int | None,
                                                             expected: set[Symptom]) -> None:
    assert spec("messages_on_target").symptoms(status, value) == expected


def test_latency_checks_raise_latency_on_nogo_and_metrics_on_unknown() -> None:
    avg = spec("replication_latency_avg_ms")
    assert avg.symptoms("NOGO", 900.0) == {Symptom.LATENCY_HIGH}
    assert avg.symptoms("UNKNOWN", None) == {Symptom.METRICS_UNAVAILABLE}
    assert avg.symptoms("GO", 5.0) == set()


def test_row_words_show_na_for_what_is_missing_and_units() -> None:
    report = {"counts": {"delivered": 100, "produced": 100}, "baseline": {"latency_avg_ms": 12.345},
              "checks": [{"name": "poll_total_increase", "value": 100.0}]}
    assert row_words("{counts.delivered}/{counts.produced}, {counts.achieved_rate_msg_s} msg/s", report) == \
        "100/100, n/a msg/s"
    assert row_words("Avg: {baseline.latency_avg_ms: ms}", report) == "Avg: 12.35 ms"
    assert row_words("+{check.poll_total_increase} / {check.nothing}", report) == "+100.00 / n/a"


def test_below_states_the_rule_with_the_declared_unit() -> None:
    from mm2_smoke.measured import Gap, Measured

    latency, lag = spec("replication_latency_max_ms"), spec("active_records_lag")
    assert latency.below(Measured.of("q", 600.0), 500).reason == "600 ms is not below 500 ms"
    assert lag.below(Measured.of("q", 5.0), 100).threshold == "< 100"
    unknown = lag.below(Measured.missing("q", Gap.UNREACHABLE, "down"), 100)
    assert unknown.status is Status.UNKNOWN and unknown.gap is Gap.UNREACHABLE


def test_an_undeclared_check_is_refused_with_the_fix() -> None:
    with pytest.raises(KeyError, match="add a CheckSpec"):
        spec("made_up")
