"""The smoke test on secured chains and on MM2 without a Connect REST API (issue 14), each a real stack of its own.

- ``kafka-3.9-scram-basic-auth``: Kafka 3.9 (MBeans without the ``source`` tag: the metric-contract issue's
  variant, its profile detected and its dashboards' panels answering), SASL_SSL with SCRAM-SHA-512 (users created by
  Kafka's storage tool), Prometheus behind basic auth over HTTPS (``--web.config.file``), Connect REST behind Kafka's
  basic-auth extension over HTTPS.
- ``mtls-dedicated``: mTLS (a client certificate per user from the stack's CA, the smoke user's key encrypted) and
  MirrorMaker 2 in dedicated mode (``connect-mirror-maker``'s MirrorMaker: no public REST API; Param
  ``mm2_mode=dedicated``).

Each: GO on the healthy chain; wrong credentials (a wrong SASL password, a client certificate from another CA, wrong
Prometheus and Connect credentials) are UNKNOWN naming the connection and the fix, nothing produced; the bombers
run with the runbook's flags plus the mechanism/certificate flags; NOGO with MM2 paused (its connector) or stopped
(the dedicated process); and no secret of the variant in any output. Stacks one after the other, in
``.stack-variants/<name>`` with their own ports (offset +600), stopped after use.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from mm2_stack import faults, stack
from mm2_stack.airflow_run import DagRunResult, airflow_env, dags_test, ensure_db, read_env_file
from mm2_stack.config import REPO_ROOT, StackConfig, load_passwords
from tests.support.panels import panels_without_data
from tests.support.variants import variant_config

pytestmark = pytest.mark.integration

FAST = {"num_messages": 20, "messages_per_second": 200}
WRONG = "not-the-password"
#: name: stack knobs, the runs' extra conf.
SECURED = {
    "kafka-3.9-scram-basic-auth": ({"MM2_STACK_KAFKA_VERSION": "3.9.1", "MM2_STACK_SASL_MECHANISM": "SCRAM-SHA-512",
                                    "MM2_STACK_PROMETHEUS_AUTH": "basic", "MM2_STACK_CONNECT_AUTH": "basic"}, {}),
    "mtls-dedicated": ({"MM2_STACK_CLIENT_AUTH": "mtls", "MM2_STACK_MM2_MODE": "dedicated"},
                       {"mm2_mode": "dedicated"}),
}


def _conn(env: dict[str, str], name: str, extra: dict | None = None, drop: tuple[str, ...] = (), **fields) -> str:
    """The connection ``AIRFLOW_CONN_<name>`` of ``env`` with fields and extra keys changed."""
    conn = json.loads(env[f"AIRFLOW_CONN_{name}"])
    conn.update(fields)
    conn["extra"] = {k: v for k, v in {**conn.get("extra", {}), **(extra or {})}.items() if k not in drop}
    return json.dumps(conn)


def _rows(result: DagRunResult) -> dict[str, dict]:
    assert result.report is not None, result.output[-5000:]
    return {c["name"]: c for c in result.report["failed_checks"]}


def _bombers(config: StackConfig, env_file: dict[str, str], mtls: bool) -> list[tuple[int, str]]:
    """The producer then the consumer bomber on the variant, with the runbook's flags plus the mechanism's or the
    client certificate's (secrets from the environment, as the runbook's variables give them)."""
    tools = REPO_ROOT / "include" / "kafka-consumer-producer"
    base = {**os.environ, **env_file,
            "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "plugins"), str(REPO_ROOT / "include")])}
    if mtls:
        common = ["--bootstrap-servers", env_file["KAFKA_SOURCE"], "--security-protocol", "SSL",
                  "--ssl-ca-location", env_file["KAFKA_CA"], "--ssl-certificate-location", env_file["KAFKA_CERT"],
                  "--ssl-key-location", env_file["KAFKA_KEY"]]
    else:
        common = ["--bootstrap-servers", env_file["KAFKA_SOURCE"], "--security-protocol", "SASL_SSL",
                  "--sasl-mechanism", config.sasl_mechanism, "--username", env_file["KAFKA_USER"],
                  "--ssl-ca-location", env_file["KAFKA_CA"]]
    outs = []
    for argv in ([sys.executable, str(tools / "kafka_producer_bomber.py"), *common, "--topic-prefix",
                  "test-prometheus", "--num-topics", "1", "--num-messages", "20", "--messages-per-second", "200"],
                 [sys.executable, str(tools / "kafka_consumer_bomber.py"), *common, "--topic-prefix",
                  "test-prometheus", "--until-end"]):
        done = subprocess.run(argv, env=base, capture_output=True, text=True, timeout=120)
        outs.append((done.returncode, done.stdout + done.stderr))
    return outs


@pytest.mark.parametrize("name", list(SECURED))
def test_a_secured_chain_is_go_names_refused_credentials_and_is_nogo_when_mm2_stops(
        name: str, live_stack: StackConfig, tmp_path_factory, record_number) -> None:
    knobs, conf = SECURED[name]
    config = variant_config(live_stack, name, knobs, 600)
    runs: list[tuple[str, DagRunResult]] = []
    t0 = time.monotonic()
    try:
        stack.up(config, fresh=True)
        up_s = time.monotonic() - t0
        home = tmp_path_factory.mktemp(f"airflow_{name}")
        env = airflow_env(config, home)
        ensure_db(env)
        mtls = config.client_auth == "mtls"

        def run(case: str, changes: dict[str, str] | None = None, extra_conf: dict | None = None,
                runbook_rate: bool = False) -> DagRunResult:
            result = dags_test({**env, **(changes or {})}, {**({} if runbook_rate else FAST), **conf,
                                                            **(extra_conf or {})})
            runs.append((case, result))
            r = result.report
            assert r is not None, result.output[-5000:]
            first = (r.get("diagnoses") or [{}])[0]
            record_number(f"secured {name} [{case}]: {r['verdict']} in {result.seconds:.1f} s (pre-flight "
                          f"{(r.get('preflight') or {}).get('seconds')} s), produced {r['counts']['produced']}, first "
                          f"cause {first.get('cause_id')}")
            return result

        # The runbook's own 100 messages at 10 msg/s: on JVMs just started, a burst reads its first records' cold
        # path as MM2 latency (avg 140-190 ms), as in test_metric_variants.
        good = run("healthy", runbook_rate=True)
        assert good.report["verdict"] == "GO", json.dumps(good.report["failed_checks"], indent=1)
        assert good.report["counts"]["received"] == 100
        assert good.report["settings"]["metric_profile"] == "runbook"
        empty = panels_without_data(config, "runbook")  # through the store's TLS and basic auth where it has them
        assert not empty, f"{name}: dashboards' panels without data: {json.dumps(empty, indent=1)}"

        # The smoke test's own source connection refused: UNKNOWN at the pre-flight, nothing produced.
        if mtls:
            from mm2_stack.certs import make_rogue_client_cert

            cert, key = make_rogue_client_cert(tmp_path_factory.mktemp("rogue"), "smoke")
            refused = run("client certificate of another CA", {"AIRFLOW_CONN_KAFKA_SOURCE": _conn(
                env, "KAFKA_SOURCE", {"ssl.certificate.location": str(cert), "ssl.key.location": str(key)},
                drop=("ssl.key.password",))})
            words = ["refused this client's certificate", "ssl.certificate.location", "kafka_source"]
        else:
            refused = run("wrong SASL password", {"AIRFLOW_CONN_KAFKA_SOURCE": _conn(env, "KAFKA_SOURCE",
                                                                                     {"sasl.password": WRONG})})
            words = ["authentication failed", "SCRAM-SHA-512", "the password", "kafka_source"]
        row = _rows(refused)["source_cluster"]
        assert refused.report["verdict"] == "UNKNOWN" and refused.report["counts"]["produced"] == 0, row
        for word in words:
            assert word.lower() in row["reason"].lower(), (word, row["reason"])

        if config.prometheus_auth == "basic":  # wrong Prometheus and Connect credentials, both in one run
            creds = run("wrong Prometheus and Connect credentials", {
                "AIRFLOW_CONN_PROMETHEUS": _conn(env, "PROMETHEUS", password=WRONG),
                "AIRFLOW_CONN_KAFKA_CONNECT": _conn(env, "KAFKA_CONNECT", password=WRONG)})
            rows = _rows(creds)
            assert creds.report["verdict"] == "UNKNOWN" and creds.report["counts"]["produced"] == 0
            assert "credentials refused by connection 'prometheus'" in rows["metric_contract"]["reason"], rows
            assert "credentials refused by connection 'kafka_connect'" in rows["connector"]["reason"], rows
            assert not any(r["status"] == "NOGO" for r in creds.report["failed_checks"])

        bombers = _bombers(config, read_env_file(config.env_file), mtls)
        for code, out in bombers:
            assert code == 0, out[-3000:]
        assert all("result: OK" in out for _c, out in bombers), bombers

        # MM2 stopped: its connector paused over REST, or in dedicated mode its process stopped (no REST to pause).
        if config.mm2_mode == "dedicated":
            faults.inject(config, "connect-down")
            time.sleep(10)  # heartbeats every 5 s on this stack: 8 s without one says MM2 is not running
            stopped = run("MM2 process stopped", extra_conf={"heartbeat_max_age_s": 8})
            cause = stopped.report["diagnoses"][0]
            assert cause["cause"].startswith("MirrorMaker 2 is not running"), cause
        else:
            faults.inject(config, "connector-paused")
            stopped = run("connector paused")
            assert stopped.report["diagnoses"][0]["cause_id"] == "worker_or_connector_down"
        assert stopped.report["verdict"] == "NOGO", json.dumps(stopped.report["failed_checks"], indent=1)
        assert stopped.report["counts"]["produced"] == 0

        # No secret of the variant (passwords, the key's password) in the Airflow home, the runs' or bombers' output.
        needles = {f"secret {k}": v for k, v in load_passwords(config).items()}
        needles["the wrong password"] = WRONG
        found = [f"{what} in {p}" for p in home.rglob("*") if p.is_file()
                 for what, v in needles.items() if v.encode() in p.read_bytes()]
        found += [f"{what} in the output of run '{case}'" for case, r in runs for what, v in needles.items()
                  if v in r.output]
        found += [f"{what} in a bomber's output" for _c, out in bombers for what, v in needles.items() if v in out]
        files = sum(1 for p in home.rglob("*") if p.is_file())
        record_number(f"secured {name}: stack up {up_s:.0f} s; secret scan: {files} files, {len(runs)} run outputs, "
                      f"{len(bombers)} bomber outputs, {len(needles)} secrets: {len(found)} hit(s); variant total "
                      f"{time.monotonic() - t0:.0f} s")
        assert not found, found
    finally:
        stack.down(config)
