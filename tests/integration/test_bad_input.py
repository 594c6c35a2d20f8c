"""Bad input, end to end: every way a run's input or environment can be wrong ends with a message naming the
input and the fix, the right verdict (UNKNOWN: nothing measured; NOGO: evidence of a fault), never GO.

Each case runs the real DAG (`airflow dags test`, as `make demo` does) against the real stack; only the case's
input is wrong. Prometheus and Connect REST answers a real server cannot be made to give (HTTP 500, non-JSON,
NaN, a string) come from a small HTTP server on 127.0.0.1 that the case's connection points at.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mm2_stack.airflow_run import DagRunResult, airflow_env, dags_test, ensure_db, read_env_file

pytestmark = pytest.mark.integration

#: Small, quick runs: the cases are about input, not load.
FAST = {"num_messages": 20, "messages_per_second": 200, "write_stall_timeout_s": 5, "replication_timeout_s": 30,
        "count_timeout_s": 15}
RUNS: list[tuple[str, DagRunResult]] = []
WEBHOOK = ""


class FakeApi(BaseHTTPRequestHandler):
    """Answers every GET as ``mode`` says: what a broken Prometheus or Connect REST could answer."""

    mode = "500"  # how Prometheus' paths (/api/v1/...) answer
    connect_mode = "500"  # how Connect REST's paths (/connectors/...) answer
    hits = 0
    posted: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 - the alert webhook
        type(self).posted.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        self._send(200, {"ok": True})

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        type(self).hits += 1
        mode = type(self).connect_mode if self.path.startswith("/connectors") else type(self).mode
        # a range query, or an instant query of a range selector (the raw samples step 1.2 reads: "...%5B310s%5D")
        is_range = "query_range" in self.path or "s%5D" in self.path
        if mode == "timeout":
            time.sleep(3)
            return self._send(200, {"status": "success", "data": {"resultType": "vector", "result": []}})
        if mode in ("500", "401", "404"):
            body = {"status": "error", "errorType": "internal", "error": "boom"} if "api/v1" in self.path else \
                "<html>nope</html>"
            return self._send(int(mode), body)
        if mode == "nonjson":
            return self._send(200, "<html>this is not Prometheus</html>")
        if mode == "empty":
            kind = "matrix" if is_range else "vector"
            return self._send(200, {"status": "success", "data": {"resultType": kind, "result": []}})
        if mode == "nan":
            now = time.time()
            if is_range:
                result = [{"metric": {}, "values": [[now - 1, "NaN"], [now, "NaN"]]}]
                return self._send(200, {"status": "success", "data": {"resultType": "matrix", "result": result}})
            return self._send(200, {"status": "success", "data": {"resultType": "vector",
                                                                  "result": [{"metric": {}, "value": [now, "NaN"]}]}})
        if mode == "string":
            return self._send(200, {"status": "success", "data": {"resultType": "string",
                                                                  "result": [time.time(), "twelve"]}})
        self._send(500, "unknown mode")

    def _send(self, status: int, body: object) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if not isinstance(body, str) else "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout case)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def fake_api() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


@pytest.fixture(scope="module")
def bad_home(live_stack, tmp_path_factory, fake_api) -> Path:
    """One Airflow home for every bad-input run: the secret scan reads all of it afterwards. Alerts go to the
    fake server (which records them for the scan)."""
    global WEBHOOK
    WEBHOOK = http_conn(fake_api)
    home = tmp_path_factory.mktemp("airflow_bad_input")
    ensure_db(airflow_env(live_stack, home))
    return home


@pytest.fixture(scope="module")
def stack_env(live_stack) -> dict[str, str]:
    return read_env_file(live_stack.env_file)


def kafka_conn(stack_env: dict[str, str], name: str, **changes: object) -> str:
    conn = json.loads(stack_env[name])
    for key, value in changes.items():
        key = key.replace("__", ".")
        if value is None:
            conn["extra"].pop(key, None)
        else:
            conn["extra"][key] = value
    return json.dumps(conn)


def http_conn(port: int, **extra: object) -> str:
    return json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": port, "schema": "http", "extra": extra})


#: Step 1.2's stall rule and timeout, shortened where a case does not need the runbook's.
SHORT_WAITS = {"write_stall_timeout_s": 5, "replication_timeout_s": 10}


def run(live_stack, home: Path, case: str, conf: dict | None = None, env: dict[str, str] | None = None,
        timeout_s: float = 400) -> tuple[DagRunResult, str]:
    """Run the DAG; return the result and everything a user sees of it (report reasons, diagnoses, output)."""
    env = {"AIRFLOW_CONN_ALERT_WEBHOOK": WEBHOOK, **(env or {})}
    result = dags_test(airflow_env(live_stack, home, env), {**FAST, **(conf or {})}, timeout_s=timeout_s)
    RUNS.append((case, result))
    seen = result.output
    if result.report:
        seen += "\n" + json.dumps(result.report)
    assert result.returncode != 0, f"{case}: the run succeeded\n{seen[-3000:]}"
    assert not (result.report and result.report["verdict"] == "GO"), f"{case}: GO on bad input"
    return result, seen


def failed(result: DagRunResult) -> dict[str, dict]:
    assert result.report is not None, result.output[-4000:]
    return {c["name"]: c for c in result.report["failed_checks"]}


# --- Params ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("conf", "words"), [
    ({"num_messages": 0}, ["num_messages", "minimum"]),
    ({"num_messages": -5}, ["num_messages", "minimum"]),
    ({"messages_per_second": 0}, ["messages_per_second", "minimum"]),
    ({"record_size_bytes": 2_000_000}, ["record_size_bytes", "maximum"]),
    ({"topic_prefix": "bad prefix/!"}, ["topic_prefix"]),
    ({"ratio_min_pct": 150}, ["ratio_min_pct", "maximum"]),
    ({"latency_avg_max_ms": 900, "latency_max_max_ms": 500}, ["latency_avg_max_ms", "latency_max_max_ms"]),
], ids=["zero-count", "negative-count", "rate-0", "record-over-max", "prefix-illegal", "ratio-out-of-range",
        "avg-above-max"])
def test_invalid_param_is_refused_before_anything_is_produced(live_stack, bad_home, conf, words) -> None:
    result, seen = run(live_stack, bad_home, f"param {conf}", conf)
    for word in words:
        assert word in seen, (word, seen[-3000:])
    if result.report:  # the run started (cross-field rule): nothing was produced, the report says why
        assert result.report["verdict"] == "UNKNOWN"
        assert result.report["counts"]["produced"] is None


def test_record_size_over_the_topics_max_message_bytes_names_the_size(live_stack, bad_home, stack_env) -> None:
    """The Param allows 1 MB; this topic allows 2 KiB: the broker refuses, and the run says why."""
    from confluent_kafka.admin import AdminClient, NewTopic

    prefix = "test-prometheus.small"
    topic = f"{prefix}.generated-data-01.json"
    cfg = json.loads(stack_env["AIRFLOW_CONN_KAFKA_SOURCE"])["extra"]
    secrets = json.loads(live_stack.secrets_file.read_text())
    admin = AdminClient({**cfg, "sasl.username": "admin", "sasl.password": secrets["admin"]})
    fs = admin.create_topics([NewTopic(topic, 1, 1, config={"max.message.bytes": "2048"})])
    try:
        fs[topic].result(timeout=30)
    except Exception as exc:  # noqa: BLE001 - made by an earlier session on this stack, with the same limit
        assert "already exists" in str(exc), exc
    result, seen = run(live_stack, bad_home, "record over topic max", {"topic_prefix": prefix,
                                                                       "record_size_bytes": 8192})
    produced = failed(result)["messages_produced"]
    assert produced["status"] == "UNKNOWN" and "record_size_bytes=8192" in produced["reason"], produced
    assert "max.message.bytes" in produced["reason"] and result.report["counts"]["delivered"] == 0


# --- connections ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["AIRFLOW_CONN_KAFKA_SOURCE", "AIRFLOW_CONN_KAFKA_TARGET", "AIRFLOW_CONN_PROMETHEUS",
                                  "AIRFLOW_CONN_KAFKA_CONNECT"])
def test_missing_connection_stops_the_run_naming_it(live_stack, bad_home, name) -> None:
    result, seen = run(live_stack, bad_home, f"missing {name}", env={name: ""})
    conn_id = name.removeprefix("AIRFLOW_CONN_").lower()
    assert f"Airflow connection '{conn_id}' is not defined" in seen and name in seen
    checks = failed(result)
    assert checks["connections"]["status"] == "UNKNOWN" and conn_id in checks["connections"]["reason"]
    assert result.report["verdict"] == "UNKNOWN" and result.report["counts"]["produced"] is None


def test_connection_without_bootstrap_servers(live_stack, bad_home, stack_env) -> None:
    env = {"AIRFLOW_CONN_KAFKA_TARGET": kafka_conn(stack_env, "AIRFLOW_CONN_KAFKA_TARGET", bootstrap__servers=None)}
    result, seen = run(live_stack, bad_home, "no bootstrap.servers", env=env)
    reason = failed(result)["connections"]["reason"]
    assert "'kafka_target' has no bootstrap.servers" in reason and "e.g." in reason
    assert result.report["verdict"] == "UNKNOWN"


@pytest.mark.parametrize(("case", "changes", "words"), [
    ("wrong-password", {"sasl__password": "not-the-password"}, ["authentication failed", "kafka_source"]),
    ("unknown-host", {"bootstrap__servers": "no-such-broker.invalid:19092"},
     ["cannot resolve", "bootstrap.servers", "kafka_source"]),
    ("ca-mismatch", {"ssl__ca__location": "OTHER_CA"}, ["TLS handshake", "ssl.ca.location", "kafka_source"]),
])
def test_source_connection_that_cannot_connect_is_unknown_with_the_cause(live_stack, bad_home, stack_env, tmp_path,
                                                                          case, changes, words) -> None:
    if changes.get("ssl__ca__location") == "OTHER_CA":
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                        "/CN=some other CA", "-keyout", str(tmp_path / "k.pem"), "-out", str(tmp_path / "ca.pem")],
                       check=True, capture_output=True)
        changes = {"ssl__ca__location": str(tmp_path / "ca.pem")}
    env = {"AIRFLOW_CONN_KAFKA_SOURCE": kafka_conn(stack_env, "AIRFLOW_CONN_KAFKA_SOURCE", **changes)}
    t0 = time.monotonic()
    result, seen = run(live_stack, bad_home, case, env=env)
    # The pre-flight finds the refusal (certain: the run stops there, nothing produced); step 1.1 would find it too.
    produced = failed(result).get("source_cluster") or failed(result)["messages_produced"]
    assert produced["status"] == "UNKNOWN", produced
    for word in words:
        assert word.lower() in produced["reason"].lower(), (word, produced["reason"])
    assert result.report["verdict"] == "UNKNOWN"
    # Stopped at the pre-flight: nothing produced, nothing delivered (step 1.1 did not run: no delivery count).
    assert result.report["counts"]["produced"] == 0 and not result.report["counts"]["delivered"]
    assert failed(result)["messages_on_target"]["status"] == "UNKNOWN"
    print(f"{case}: UNKNOWN in {time.monotonic() - t0:.1f} s: {produced['reason']}")


# --- Prometheus answers ---------------------------------------------------------------------------
@pytest.mark.parametrize(("mode", "words"), [
    ("500", ["HTTP 500", "prometheus"]),
    ("timeout", ["did not answer in time", "prometheus"]),
    ("nonjson", ["non-JSON"]),
    ("empty", ["no data"]),
    ("nan", ["NaN"]),
    ("string", ["unexpected result type 'string'"]),
], ids=["http-500", "timeout", "non-json", "empty-vector", "nan", "string-value"])
def test_bad_prometheus_answer_is_unknown_never_go(live_stack, bad_home, fake_api, mode, words) -> None:
    """With the pre-flight only warning (as when Prometheus breaks after it looked), every step reading a bad answer
    is UNKNOWN with its reason."""
    FakeApi.mode = mode
    env = {"AIRFLOW_CONN_PROMETHEUS": http_conn(fake_api, timeout=1)}
    # Shorter waits than the runbook's: every answer is bad from the start, the waits only delay the same verdict.
    result, seen = run(live_stack, bad_home, f"prometheus {mode}", {"preflight_mode": "warn", **SHORT_WAITS}, env=env)
    checks = failed(result)
    assert result.report["verdict"] == "UNKNOWN", json.dumps(checks, indent=1)[-3000:]
    assert result.report["counts"]["received"] == FAST["num_messages"]  # the chain itself worked
    for name in ("poll_total_increase", "write_poll_ratio_pct", "replication_latency_avg_ms"):
        assert checks[name]["status"] == "UNKNOWN", checks[name]
    reasons = " ".join(c["reason"] for c in checks.values())
    for word in words:
        assert word in reasons, (word, reasons[:2000])


@pytest.mark.parametrize(("mode", "words"), [("500", ["could not be asked", "HTTP 500"]),
                                             ("empty", ["no MirrorMaker 2 series of any profile answers"])])
def test_bad_prometheus_stops_a_fail_fast_run_before_producing(live_stack, bad_home, fake_api, mode, words) -> None:
    FakeApi.mode = mode
    env = {"AIRFLOW_CONN_PROMETHEUS": http_conn(fake_api, timeout=1)}
    result, seen = run(live_stack, bad_home, f"prometheus {mode} fail_fast", env=env)
    checks = failed(result)
    assert result.report["verdict"] == "UNKNOWN" and result.report["counts"]["produced"] == 0, result.report["counts"]
    assert checks["metric_contract"]["status"] == "UNKNOWN"
    for word in words:
        assert word in checks["metric_contract"]["reason"], (word, checks["metric_contract"])
    assert checks["messages_produced"]["reason"].startswith("not run: the pre-flight found")


# --- Connect REST answers (read by the diagnostics of a failed run) -------------------------------
@pytest.mark.parametrize(("status", "words"), [
    ("401", ["credentials refused by connection 'kafka_connect'", "login/password"]),
    ("404", ["does not point at a Kafka Connect REST API", "kafka_connect"]),
    ("500", ["Connect REST API fails (HTTP 500)", "worker's log"]),
])
def test_connect_rest_error_is_named_in_the_diagnosis(live_stack, bad_home, fake_api, status, words) -> None:
    """Prometheus answers nothing (UNKNOWN: the diagnostics run) and Connect REST answers ``status``."""
    FakeApi.mode, FakeApi.connect_mode = "empty", status
    env = {"AIRFLOW_CONN_KAFKA_CONNECT": http_conn(fake_api),
           "AIRFLOW_CONN_PROMETHEUS": http_conn(fake_api, timeout=1)}
    result, seen = run(live_stack, bad_home, f"connect {status}", env=env)
    report = result.report
    assert report["verdict"] == "UNKNOWN"
    causes = " ".join(f"{d['cause']} {d['action']}" for d in report.get("diagnoses", []))
    for word in words:
        assert word in causes, (word, causes)


# --- TLS posture and secrets ----------------------------------------------------------------------
def test_hostname_verification_turned_off_is_said_in_the_report(live_stack, bad_home, stack_env) -> None:
    """A GO run whose source connection turns hostname verification off: the report says so."""
    env = {"AIRFLOW_CONN_KAFKA_SOURCE": kafka_conn(stack_env, "AIRFLOW_CONN_KAFKA_SOURCE",
                                                   ssl__endpoint__identification__algorithm="none"),
           "AIRFLOW_CONN_ALERT_WEBHOOK": WEBHOOK}
    result = dags_test(airflow_env(live_stack, bad_home, env), FAST)
    RUNS.append(("hostname verification off", result))
    r = result.report
    assert r is not None, result.output[-4000:]
    assert r["verdict"] == "GO", json.dumps(r["failed_checks"], indent=1)
    assert any("kafka_source: TLS hostname verification is OFF" in n for n in r["notes"]), r["notes"]
    assert "kafka_target: TLS, certificate verification on, hostname verification on" in r["tls"]
    assert "hostname verification is OFF" in result.report_path.with_suffix(".md").read_text()


def test_nogo_run_diagnoses_and_alerts(live_stack, bad_home) -> None:
    """A NOGO from evidence (thresholds no latency can meet): the diagnostics run, Kafka's tools read the quotas
    with the admin password in a 0600 file, the alert is sent; the scan below reads all of it."""
    before = len(FakeApi.posted)
    result, seen = run(live_stack, bad_home, "NOGO by latency thresholds",
                       {"latency_avg_max_ms": 0, "latency_max_max_ms": 0})
    r = result.report
    assert r["verdict"] == "NOGO" and failed(result)["replication_latency_max_ms"]["status"] == "NOGO"
    assert r["counts"]["received"] == FAST["num_messages"] and r.get("diagnoses"), r.get("diagnoses")
    assert len(FakeApi.posted) > before and b'"verdict": "NOGO"' in FakeApi.posted[-1]


def _bomber_outputs(live_stack, stack_env: dict[str, str]) -> list[str]:
    """The bombers' output with the right and with a wrong password (password given by environment)."""
    import os
    import sys

    from mm2_stack.config import REPO_ROOT

    tools = REPO_ROOT / "include" / "kafka-consumer-producer"
    base = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "plugins"), str(REPO_ROOT / "include")])}
    outs = []
    for password in (stack_env["KAFKA_PASS"], "not-the-password"):
        env = {**base, "KAFKA_PASS": password}
        common = ["--bootstrap-servers", stack_env["KAFKA_SOURCE"], "--security-protocol", "SASL_SSL",
                  "--sasl-mechanism", "PLAIN", "--username", stack_env["KAFKA_USER"], "--ssl-ca-location",
                  stack_env["KAFKA_CA"]]
        for argv in ([sys.executable, str(tools / "kafka_producer_bomber.py"), *common, "--topic-prefix",
                      "test-prometheus", "--num-topics", "1", "--num-messages", "20", "--messages-per-second", "200",
                      "--debug"],
                     [sys.executable, str(tools / "kafka_consumer_bomber.py"), *common, "--topic-prefix",
                      "test-prometheus", "--until-end", "--debug"]):
            done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
            outs.append(done.stdout + done.stderr)
    return outs


def _what_the_user_sees(result: DagRunResult) -> str:
    r = result.report
    if r is None:  # refused before the run started (Params schema): the CLI's error
        lines = [ln for ln in result.output.splitlines() if "Invalid" in ln or "Error" in ln or "error" in ln]
        return lines[-1][:300] if lines else result.output[-300:]
    if r["verdict"] == "GO":
        return "; ".join(r["notes"])[:300]
    first = next((c for c in r["failed_checks"] if c["reason"]), None)
    diags = "; ".join(f"{d['cause'][:120]} -> {d['action'][:120]}" for d in (r.get("diagnoses") or [])[:3])
    return (f"{first['step']} {first['name']}: {first['reason'][:300]}" if first else "") + \
        (f" | diagnoses: {diags}" if diags else "")


def test_no_password_in_any_artifact(live_stack, bad_home, stack_env, record_number) -> None:
    """Task logs, XComs and rendered fields (the metadata DB), reports, alert payloads, `airflow dags test`
    output, the bombers' output: none holds a SASL password (the stack's or the wrong one tried above)."""
    secrets = json.loads(live_stack.secrets_file.read_text())
    needles = {f"password of {user}": pw for user, pw in secrets.items()}
    needles["the wrong password"] = "not-the-password"
    assert len(RUNS) >= 20, f"the scan needs the catalogue's runs first ({len(RUNS)} ran)"
    assert any(r.report and r.report["verdict"] == "GO" for _c, r in RUNS), "a GO run must be among the scanned"
    assert FakeApi.posted, "no alert reached the webhook: the alert payloads would not be scanned"
    found = []
    files = [p for p in bad_home.rglob("*") if p.is_file()]
    # XComs and rendered fields live in the metadata DB; `airflow dags test` writes task logs to its output.
    assert any(p.suffix == ".db" for p in files) and any(p.parent.name == "reports" for p in files)
    assert any("produced: sent" in r.output for _c, r in RUNS), "the task logs are not in the scanned outputs"
    for path in files:
        data = path.read_bytes()
        found += [f"{what} in {path}" for what, pw in needles.items() if pw.encode() in data]
    for case, result in RUNS:
        found += [f"{what} in the output of run '{case}'" for what, pw in needles.items() if pw in result.output]
    for body in FakeApi.posted:
        found += [f"{what} in an alert payload" for what, pw in needles.items() if pw.encode() in body]
    bomber = _bomber_outputs(live_stack, stack_env)
    assert any("authentication failed" in out.lower() for out in bomber), bomber
    for out in bomber:
        found += [f"{what} in the bombers' output" for what, pw in needles.items() if pw in out]
    for case, result in RUNS:
        verdict = result.report["verdict"] if result.report else "refused"
        record_number(f"bad input [{case}] -> {verdict} in {result.seconds:.1f} s: {_what_the_user_sees(result)}")
    record_number(f"secret scan: {len(files)} files, {len(RUNS)} run outputs, {len(FakeApi.posted)} alerts, "
                  f"{len(bomber)} bomber outputs: {len(found)} hit(s)")
    assert not found, found
