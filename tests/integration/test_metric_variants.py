"""The smoke test on other people's chains: other exporter rules, another Kafka line, another metrics store.

- On the session's stack, the worker's JMX exporter is switched live to the Strimzi-compatible rules (the names of
  Strimzi's published MM2 rules): ``metric_profile=auto`` finds the profile and the run is GO; an explicit profile
  whose series do not answer stops the run within seconds, UNKNOWN, nothing produced, naming the profile that would;
  the MirrorSourceConnector paused is NOGO.
- Variant stacks, one after the other, each in its own folder and ports (``.stack-variants/<name>``, offset +400),
  stopped after use: the default Kafka (the newest the stack runs) with ``metric.names.formats=new`` (profile
  ``kafka-new``), and VictoriaMetrics with its default flags (its newest 30 s hidden from queries) at the runbook's
  10 msg/s (and at 1000 msg/s in ``make test-extended``). Kafka 3.9, the oldest line
  (MBeans without the ``source`` tag), runs in ``test_secured_variants.py``, with SCRAM and basic auth on Prometheus
  and Connect (one stack for both). Each must be GO with the right profile detected, every panel of that
  profile's generated dashboards must answer on the chain's store, and NOGO with the MirrorSourceConnector paused.
"""

from __future__ import annotations

import json
import time

import pytest

from mm2_stack import connect, faults, stack
from mm2_stack.airflow_run import airflow_env, dags_test, ensure_db
from mm2_stack.config import KAFKA_VERSION, METRICS_RULES, PACKAGE_DIR, StackConfig
from tests.support.panels import panels_without_data
from tests.support.variants import variant_config

pytestmark = pytest.mark.integration

FAST = {"num_messages": 20, "messages_per_second": 200}


def _rules(name: str):
    return PACKAGE_DIR.parent / "prometheus" / METRICS_RULES[name]


def _wait_profile_answers(config: StackConfig, profile: str, timeout_s: float = 60) -> None:
    """Until the store has fresh series of ``profile`` (the exporter reloads its rules at its next scrape)."""
    from mm2_smoke.preflight import metric_contract
    from mm2_smoke.settings import SmokeSettings
    from mm2_stack.metrics_store import StoreQueries

    deadline = time.monotonic() + timeout_s
    while True:
        c = metric_contract(StoreQueries(config), SmokeSettings(metric_profile=profile))
        if c.status.value == "GO" or time.monotonic() > deadline:
            assert c.status.value == "GO", c.summary
            return
        time.sleep(2)


def test_strimzi_names_are_detected_and_a_wrong_explicit_profile_stops_the_run_at_once(
        live_stack: StackConfig, airflow_home, record_number) -> None:
    env = airflow_env(live_stack, airflow_home)
    connect.use_rules(live_stack, _rules("strimzi"))
    try:
        _wait_profile_answers(live_stack, "strimzi")
        result = dags_test(env, FAST)
        strimzi_empty = panels_without_data(live_stack, "strimzi")
        wrong = dags_test(env, {**FAST, "metric_profile": "runbook"})
        faults.inject(live_stack, "connector-paused")
        paused = dags_test(env, FAST)
    finally:
        connect.use_rules(live_stack, live_stack.rules_file)
        faults.heal(live_stack, "connector-paused")  # its probe reads the stack's own (runbook) names
        _wait_profile_answers(live_stack, "runbook")
    r, w = result.report, wrong.report
    assert r is not None and w is not None, (result.output[-4000:], wrong.output[-4000:])
    record_number(f"strimzi names (live switch): {r['verdict']} in {result.seconds:.1f} s, profile "
                  f"{r['settings']['metric_profile']}, lag {r['baseline'].get('lag')}; explicit runbook profile: "
                  f"{w['verdict']} in {wrong.seconds:.1f} s (pre-flight {w['preflight']['seconds']} s), produced "
                  f"{w['counts']['produced']}; connector paused: {(paused.report or {}).get('verdict')} in {paused.seconds:.1f} s")
    assert r["verdict"] == "GO", json.dumps(r["failed_checks"], indent=1)
    assert r["settings"]["metric_profile"] == "strimzi" and r["preflight"]["profile_detected"]
    assert not strimzi_empty, f"strimzi dashboards' panels without data: {json.dumps(strimzi_empty, indent=1)}"
    assert w["verdict"] == "UNKNOWN" and w["counts"]["produced"] == 0
    assert paused.report is not None and paused.report["verdict"] == "NOGO", paused.output[-4000:]
    contract = {c["name"]: c for c in w["failed_checks"]}["metric_contract"]
    assert "set metric_profile=strimzi" in contract["reason"], contract


#: The kafka-new variant runs on the default Kafka, the newest the stack runs (its line has metric.names.formats).
NEWEST_LINE = ".".join(KAFKA_VERSION.split(".")[:2])
#: name: stack knobs, the profile to detect, the runs' confs. The runbook's own 100 messages at 10 msg/s on a new
#: stack: a burst of 20 on JVMs just started reads its first records' cold path as MM2 latency (avg 150-190 ms).
VARIANTS = {
    f"kafka-{NEWEST_LINE}-new-names": ({"MM2_STACK_KAFKA_VERSION": KAFKA_VERSION, "MM2_STACK_METRICS": "kafka-new"},
                                       "kafka-new", [{}]),
    "victoriametrics": ({"MM2_STACK_METRICS_STORE": "victoriametrics"}, "runbook", [{}]),
}
#: More runs per variant, outside CI (``make test-extended``): VictoriaMetrics at 1000 msg/s (step 1.2's raw-sample
#: read at a rate where its range grid would have missed the newest sample).
EXTENDED = {"victoriametrics": [{}, {"messages_per_second": 1000}]}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_a_variant_chain_is_go_with_its_profile_detected(name: str, live_stack: StackConfig, tmp_path_factory,
                                                         record_number) -> None:
    _variant_go_then_paused_nogo(name, VARIANTS[name][2], live_stack, tmp_path_factory, record_number)


@pytest.mark.extended
@pytest.mark.parametrize("name", list(EXTENDED))
def test_a_variant_chain_stays_go_at_other_rates(name: str, live_stack: StackConfig, tmp_path_factory,
                                                 record_number) -> None:
    _variant_go_then_paused_nogo(name, EXTENDED[name], live_stack, tmp_path_factory, record_number)


def _variant_go_then_paused_nogo(name: str, confs: list[dict], live_stack: StackConfig, tmp_path_factory,
                                 record_number) -> None:
    knobs, profile, _confs = VARIANTS[name]
    config = variant_config(live_stack, name, knobs, 400)
    t0 = time.monotonic()
    try:
        timings = stack.up(config)
        up_s = time.monotonic() - t0
        home = tmp_path_factory.mktemp(f"airflow_{name}")
        env = airflow_env(config, home)
        ensure_db(env)
        for conf in confs:
            result = dags_test(env, conf)
            r = result.report
            assert r is not None, result.output[-5000:]
            record_number(f"variant {name} {conf or 'runbook defaults'}: {r['verdict']} in {result.seconds:.1f} s, "
                          f"profile {r['settings']['metric_profile']}, 1.2 decided "
                          f"{r['replication_decided_s_after_production']} s after production, e2e p50 "
                          f"{r['e2e_latency_ms']['p50']} ms; stack up {up_s:.0f} s (jars {timings.get('jars', 0):.0f} s)")
            assert r["verdict"] == "GO", json.dumps(r["failed_checks"], indent=1)
            assert r["settings"]["metric_profile"] == profile
        # Every panel of the profile's dashboards answers on this chain's store, right after a GO run.
        empty = panels_without_data(config, profile)
        assert not empty, f"{name}: {profile} dashboards' panels without data: {json.dumps(empty, indent=1)}"
        # The same chain with its MirrorSourceConnector paused: NOGO (the stack is stopped after, no heal needed).
        faults.inject(config, "connector-paused")
        paused = dags_test(env, FAST)
        p = paused.report
        assert p is not None, paused.output[-5000:]
        record_number(f"variant {name} connector paused: {p['verdict']} in {paused.seconds:.1f} s, first cause "
                      f"{(p.get('diagnoses') or [{}])[0].get('cause_id')}")
        assert p["verdict"] == "NOGO", json.dumps(p["failed_checks"], indent=1)
    finally:
        stack.down(config)
