"""The stack's knobs: one table, each validated once, named in errors with its variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from mm2_stack.config import KNOBS, REPO_ROOT, StackConfig, StackError
from mm2_stack.metrics_store import argv, config_text


def test_defaults_are_the_runbook_stack() -> None:
    c = StackConfig.from_env({})
    assert (c.kafka_version, c.metrics, c.metrics_store, c.profile, c.names_formats) == (
        "4.1.1", "runbook", "prometheus", "runbook", "")
    assert c.root == (REPO_ROOT / ".stack").resolve() and c.ports.prometheus == 19090
    assert c.jars_dir == c.root / "jars" / "4.1.1" and c.parts[-1] == "prometheus"
    assert c.rules_file.name == "jmx-exporter-mm2.yaml"


def test_variants() -> None:
    new = StackConfig.from_env({"MM2_STACK_KAFKA_VERSION": "4.3.1", "MM2_STACK_METRICS": "kafka-new",
                                "MM2_STACK_METRICS_STORE": "victoriametrics", "MM2_STACK_PORT_OFFSET": "200"})
    assert new.names_formats == "new" and new.profile == "kafka-new" and new.kafka_line == "4.3"
    assert new.rules_file.name == "jmx-exporter-mm2-kafka-new.yaml" and new.parts[-1] == "victoriametrics"
    assert new.ports.prometheus == 19290
    old = StackConfig.from_env({"MM2_STACK_KAFKA_VERSION": "3.9.1"})
    assert old.kafka_line == "3.9" and old.jars_dir.name == "3.9.1"


def test_a_rules_file_of_the_users_means_auto(tmp_path: Path) -> None:
    rules = tmp_path / "mine.yaml"
    rules.write_text("rules: []\n")
    c = StackConfig.from_env({"MM2_STACK_JMX_RULES": str(rules), "MM2_STACK_METRICS": "strimzi"})
    assert c.profile == "auto" and c.rules_file == rules
    with pytest.raises(StackError, match="MM2_STACK_JMX_RULES=/nope.yaml: no such file"):
        StackConfig.from_env({"MM2_STACK_JMX_RULES": "/nope.yaml"})


@pytest.mark.parametrize(("env", "message"), [
    ({"MM2_STACK_KAFKA_VERSION": "4.2.0"}, "MM2_STACK_KAFKA_VERSION='4.2.0' is not a Kafka version the stack runs"),
    ({"MM2_STACK_METRICS": "grafana"}, "MM2_STACK_METRICS='grafana' is not one of runbook, strimzi, kafka-new"),
    ({"MM2_STACK_METRICS_STORE": "influx"}, "MM2_STACK_METRICS_STORE='influx' is not one of prometheus"),
    ({"MM2_STACK_PORT_OFFSET": "x"}, "MM2_STACK_PORT_OFFSET='x' is not an integer"),
    ({"MM2_STACK_PORT_OFFSET": "30000"}, "MM2_STACK_PORT_OFFSET=30000 is above the maximum 20000"),
    ({"MM2_STACK_METRICS": "kafka-new"}, "MM2_STACK_METRICS=kafka-new needs Kafka 4.3"),
    ({"MM2_STACK_METRIC_NAMES_FORMATS": "new"}, "MM2_STACK_METRIC_NAMES_FORMATS needs Kafka 4.3"),
])
def test_bad_knobs_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(StackError, match=message.replace("(", r"\(")):
        StackConfig.from_env(env)


def test_every_knob_is_in_the_readme() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    assert [k.setting.name for k in KNOBS if k.setting.name not in readme] == []


def test_victoriametrics_runs_with_its_default_flags_and_the_same_scrape_config(tmp_path: Path) -> None:
    vm = StackConfig.from_env({"MM2_STACK_METRICS_STORE": "victoriametrics"})
    args = argv(vm, "victoria-metrics", tmp_path)
    assert not any(a.startswith("-search.") for a in args), "VictoriaMetrics' search flags stay at their defaults"
    assert f"-httpListenAddr=127.0.0.1:{vm.ports.prometheus}" in args
    assert "rule_files" not in config_text(vm)  # it evaluates no alert rules (that is vmalert's job)
    prom = StackConfig.from_env({"MM2_STACK_METRICS": "strimzi"})
    assert "profiles/strimzi/mm2-smoke-alerts.yml" in config_text(prom)
