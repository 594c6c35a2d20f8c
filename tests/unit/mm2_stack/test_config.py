"""The stack's knobs: one table, each validated once, named in errors with its variable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mm2_stack.config import KAFKA_LINES, KAFKA_VERSION, KNOBS, REPO_ROOT, StackConfig, StackError
from mm2_stack.metrics_store import argv, config_text


def test_defaults_are_the_runbook_stack() -> None:
    c = StackConfig.from_env({})
    assert (c.kafka_version, c.metrics, c.metrics_store, c.profile, c.names_formats) == (
        "4.3.1", "runbook", "prometheus", "runbook", "")
    assert c.root == (REPO_ROOT / ".stack").resolve() and c.ports.prometheus == 19090
    assert c.jars_dir == c.root / "jars" / "4.3.1" and c.parts[-1] == "prometheus"
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
    ({"MM2_STACK_KAFKA_VERSION": "4.0.2"}, "MM2_STACK_KAFKA_VERSION='4.0.2' is not a Kafka version the stack runs: "
     "use 4.3.1 (default) or another patch of 4.4.x, 4.3.x, 4.2.x, 4.1.x, 3.9.x"),
    ({"MM2_STACK_METRICS": "grafana"}, "MM2_STACK_METRICS='grafana' is not one of runbook, strimzi, kafka-new"),
    ({"MM2_STACK_METRICS_STORE": "influx"}, "MM2_STACK_METRICS_STORE='influx' is not one of prometheus"),
    ({"MM2_STACK_PORT_OFFSET": "x"}, "MM2_STACK_PORT_OFFSET='x' is not an integer"),
    ({"MM2_STACK_PORT_OFFSET": "30000"}, "MM2_STACK_PORT_OFFSET=30000 is above the maximum 20000"),
    ({"MM2_STACK_METRICS": "kafka-new", "MM2_STACK_KAFKA_VERSION": "4.2.2"},
     "MM2_STACK_METRICS=kafka-new needs Kafka 4.3 or later (metric.names.formats), not MM2_STACK_KAFKA_VERSION=4.2.2"),
    ({"MM2_STACK_METRIC_NAMES_FORMATS": "new", "MM2_STACK_KAFKA_VERSION": "3.9.1"},
     "MM2_STACK_METRIC_NAMES_FORMATS needs Kafka 4.3 or later, not MM2_STACK_KAFKA_VERSION=3.9.1"),
])
def test_bad_knobs_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(StackError, match=re.escape(message)):
        StackConfig.from_env(env)


@pytest.mark.parametrize("version", ["3.9.0", "3.9.1", "3.9.2", "4.1.0", "4.1.1", "4.1.2", "4.2.0", "4.2.1", "4.2.2",
                                     "4.3.0", "4.3.1", "4.3.2", "4.4.0", "4.4.1", "4.3.10"])
def test_every_patch_of_a_line_in_the_table_is_accepted(version: str) -> None:
    c = StackConfig.from_env({"MM2_STACK_KAFKA_VERSION": version})
    assert c.kafka_version == version and c.line is KAFKA_LINES[c.kafka_line] and c.jars_dir.name == version


@pytest.mark.parametrize("version", ["4.0.0", "4.0.2", "3.8.1", "3.9", "4.4", "4.5.0", "5.0.0", "4.4.0-rc1", "v4.4.0",
                                     "4.4.x", " 4.4.0"])
def test_other_versions_are_refused_naming_what_to_use(version: str) -> None:
    with pytest.raises(StackError, match=f"is not a Kafka version the stack runs: use {KAFKA_VERSION} \\(default\\)"):
        StackConfig.from_env({"MM2_STACK_KAFKA_VERSION": version})
    with pytest.raises(StackError, match="is not a version the stack runs"):  # a config built in code, not from env
        StackConfig(root=Path("/tmp"), kafka_version=version)


def test_the_lines_table() -> None:
    """Read from each version's jars and poms: Log4j2 from 4.0 on (kafka-server's log4j-core), reload4j before;
    metric.names.formats from 4.3 on (KIP-1280); ConfigCommand in kafka-tools from 4.4 on."""
    assert list(KAFKA_LINES) == ["3.9", "4.1", "4.2", "4.3", "4.4"]
    assert [line for line, f in KAFKA_LINES.items() if not f.log4j2] == ["3.9"]
    assert [line for line, f in KAFKA_LINES.items() if f.metric_names_formats] == ["4.3", "4.4"]
    assert {line: f.config_command for line, f in KAFKA_LINES.items()} == {
        "3.9": "kafka.admin.ConfigCommand", "4.1": "kafka.admin.ConfigCommand", "4.2": "kafka.admin.ConfigCommand",
        "4.3": "kafka.admin.ConfigCommand", "4.4": "org.apache.kafka.tools.ConfigCommand"}
    assert StackConfig.from_env({}).line.metric_names_formats, "the default Kafka runs the kafka-new variant"


@pytest.mark.parametrize("version", ["4.3.0", "4.3.2", "4.4.0", "4.4.3"])
def test_kafka_new_and_metric_names_formats_on_4_3_and_later(version: str) -> None:
    new = StackConfig.from_env({"MM2_STACK_KAFKA_VERSION": version, "MM2_STACK_METRICS": "kafka-new"})
    assert new.names_formats == "new" and new.variant["metric_names_formats"] == "new"
    both = StackConfig.from_env({"MM2_STACK_KAFKA_VERSION": version, "MM2_STACK_METRIC_NAMES_FORMATS": "legacy,new"})
    assert both.names_formats == "legacy,new" and both.metrics == "runbook"


@pytest.mark.parametrize("version", ["3.9.1", "4.1.2", "4.2.0", "4.2.2"])
def test_kafka_new_is_refused_before_4_3(version: str) -> None:
    with pytest.raises(StackError, match=f"needs Kafka 4.3 or later.*set MM2_STACK_KAFKA_VERSION={KAFKA_VERSION}"):
        StackConfig.from_env({"MM2_STACK_KAFKA_VERSION": version, "MM2_STACK_METRICS": "kafka-new"})
    with pytest.raises(StackError, match="MM2_STACK_METRIC_NAMES_FORMATS needs Kafka 4.3 or later"):
        StackConfig.from_env({"MM2_STACK_KAFKA_VERSION": version, "MM2_STACK_METRIC_NAMES_FORMATS": "new"})


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
