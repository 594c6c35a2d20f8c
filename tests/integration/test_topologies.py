"""Every flow of a MirrorMaker 2 topology in one run (issue 24), each topology a real stack of its own
(``.stack-variants/<name>``, ports offset +700, stopped after use), beside the session's one-way stack.

- ``active-active`` with a custom separator (``default:_``): one run, both flows GO with exact per-flow counts and the
  remote topics the separator names (no Param changed); the reverse connector paused: NOGO for that flow with its
  cause, the other flow GO in the same report; an unknown flow name refused by the pre-flight, nothing produced.
- ``identity`` on ``one-way``: GO, the remote topic is the source topic's own name.
- ``identity`` on ``active-active``: the pre-flight finds the cycle MM2 cannot stop (NOGO "replication loop" naming
  both flows), nothing produced.
- ``fan-in`` (three clusters): A->C and B->C GO, each counted on C apart (extended: ``make test-extended``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mm2_stack import stack
from mm2_stack.airflow_run import DagRunResult, airflow_env, dags_test, ensure_db
from mm2_stack.config import StackConfig
from mm2_stack.connect import connector_path, rest
from tests.support.variants import variant_config

pytestmark = pytest.mark.integration

FAST = {"num_messages": 20, "messages_per_second": 200}
TOPIC = "test-prometheus.generated-data-01.json"


def _rss_mib(pid: int | None) -> float:
    try:
        line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0.0
    return int(line.split()[1]) / 1024


def _flows(result: DagRunResult) -> dict[str, dict]:
    assert result.report is not None, result.output[-5000:]
    return {b["flow"]: b for b in result.report["flows"]}


class Topology:
    """A variant stack of one topology, up for the test's runs, down after."""

    def __init__(self, live_stack: StackConfig, name: str, knobs: dict[str, str], home: Path, record) -> None:
        self.name, self.record = name, record
        self.config = variant_config(live_stack, name, knobs, 700)
        t0 = time.monotonic()
        stack.up(self.config, fresh=True)
        self.up_s = time.monotonic() - t0
        self.env = airflow_env(self.config, home)
        ensure_db(self.env)

    def run(self, case: str, conf: dict | None = None, runbook_rate: bool = False) -> DagRunResult:
        """One run; ``runbook_rate``: the runbook's 100 messages at 10 msg/s (a stack's first run: on JVMs just started,
        a burst reads its first records' cold path as MM2 latency, avg 120-190 ms, as in test_secured_variants)."""
        result = dags_test(self.env, {**({} if runbook_rate else FAST), **(conf or {})})
        r = result.report
        assert r is not None, result.output[-5000:]
        flows = ", ".join(f"{b['flow']} {b['verdict']} {b['counts']['delivered']}/{b['counts']['received']}"
                          for b in r.get("flows") or [])
        first = (r.get("diagnoses") or [{}])[0]
        self.record(f"topology {self.name} [{case}]: {r['verdict']} in {result.seconds:.1f} s; flows: {flows}; first "
                    f"cause {first.get('cause_id')} ({first.get('flow')}); stack up {self.up_s:.0f} s")
        return result

    def connector(self, flow: str, action: str) -> None:
        status, body = rest(self.config, "PUT", f"{connector_path(flow + '.MirrorSourceConnector')}/{action}")
        assert status == 202, (status, body)
        time.sleep(3)  # the task's state follows the connector's


def test_active_active_with_a_custom_separator_checks_both_flows_and_isolates_a_paused_one(
        live_stack: StackConfig, tmp_path_factory, record_number) -> None:
    t = Topology(live_stack, "active-active", {"MM2_STACK_TOPOLOGY": "active-active",
                                                "MM2_STACK_REPLICATION_POLICY": "default:_"},
                 tmp_path_factory.mktemp("airflow_aa"), record_number)
    try:
        healthy = t.run("healthy, flows=auto", runbook_rate=True)
        flows = _flows(healthy)
        assert healthy.report["verdict"] == "GO", json.dumps(healthy.report["failed_checks"], indent=1)
        assert list(flows) == ["source->target", "target->source"]
        for name, source in (("source->target", "source"), ("target->source", "target")):
            assert flows[name]["verdict"] == "GO"
            assert flows[name]["counts"]["delivered"] == flows[name]["counts"]["received"] == 100, flows[name]
            assert flows[name]["remote_topic"] == f"{source}_{TOPIC}"  # the connector's separator, no Param changed
        assert healthy.report["counts"]["received"] == 200

        t.connector("target->source", "pause")
        paused = t.run("target->source paused")
        flows = _flows(paused)
        assert paused.report["verdict"] == "NOGO"
        assert flows["source->target"]["verdict"] == "GO" and flows["source->target"]["counts"]["received"] == 20
        assert flows["target->source"]["verdict"] == "NOGO"
        first = flows["target->source"]["diagnoses"][0]
        assert first["cause_id"] == "worker_or_connector_down" and "target->source" in first["cause"], first
        assert not flows["source->target"]["diagnoses"]
        t.connector("target->source", "resume")

        unknown = t.run("unknown flow", {"flows": "source->elsewhere"})
        # Refused before step 1.1 (the Params' row names it): no step ran, nothing was produced (the count of a step
        # that never ran is not measured, as for any bad Param).
        assert unknown.report["verdict"] == "UNKNOWN" and not unknown.report["counts"]["produced"]
        row = next(c for c in unknown.report["checks"] if c["name"] == "settings")
        assert "flows" in row["reason"] and "source->target, target->source" in row["reason"], row
    finally:
        stack.down(t.config)


def test_identity_one_way_is_go_with_the_source_topics_name_and_identity_active_active_is_a_loop(
        live_stack: StackConfig, tmp_path_factory, record_number) -> None:
    one = Topology(live_stack, "identity-one-way", {"MM2_STACK_REPLICATION_POLICY": "identity"},
                   tmp_path_factory.mktemp("airflow_id1"), record_number)
    try:
        good = one.run("healthy", runbook_rate=True)
        assert good.report["verdict"] == "GO", json.dumps(good.report["failed_checks"], indent=1)
        (block,) = good.report["flows"]
        assert block["remote_topic"] == TOPIC and block["counts"]["received"] == 100
    finally:
        stack.down(one.config)
    loop = Topology(live_stack, "identity-active-active", {"MM2_STACK_TOPOLOGY": "active-active",
                                                           "MM2_STACK_REPLICATION_POLICY": "identity"},
                    tmp_path_factory.mktemp("airflow_id2"), record_number)
    try:
        caught = loop.run("flows=auto")
        assert caught.report["verdict"] == "NOGO" and caught.report["counts"]["produced"] == 0
        for block in caught.report["flows"]:
            assert block["verdict"] == "NOGO"
            first = block["diagnoses"][0]
            assert first["cause_id"] == "replication_loop", first
            assert "source->target" in first["cause"] and "target->source" in first["cause"], first
    finally:
        stack.down(loop.config)


@pytest.mark.extended
def test_fan_in_checks_each_flow_on_the_shared_target(live_stack: StackConfig, tmp_path_factory,
                                                      record_number) -> None:
    t = Topology(live_stack, "fan-in", {"MM2_STACK_TOPOLOGY": "fan-in"}, tmp_path_factory.mktemp("airflow_fan"),
                 record_number)
    try:
        result = t.run("healthy", {"cluster_connections": "auto"}, runbook_rate=True)
        flows = _flows(result)
        assert result.report["verdict"] == "GO", json.dumps(result.report["failed_checks"], indent=1)
        assert list(flows) == ["c->target", "source->target"]
        for name, source in (("c->target", "c"), ("source->target", "source")):
            assert flows[name]["counts"]["received"] == 100 and flows[name]["remote_topic"] == f"{source}.{TOPIC}"
        rss = sum(_rss_mib(s.pid) for s in stack.status(t.config))
        record_number(f"topology fan-in: stack RSS {rss:.0f} MiB after the run")
    finally:
        stack.down(t.config)
