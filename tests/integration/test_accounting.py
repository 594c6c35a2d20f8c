"""Message accounting, counter resets, TLS verification and long runs on the real stack.

- every delivered message is found on target or reported missing by sequence number; duplicates are
  reported by sequence number; other runs' and other producers' messages never count; a retried step 1.1
  is never counted twice;
- an MM2 task restart mid-run never gives a negative delta or a false GO;
- TLS hostname verification is on unless a connection turns it off;
- 10 000 messages at 500 msg/s end with exact counts, step 1.2 GO and the achieved rate in the report (GO, or NOGO
  on MM2's measured latency only: a true reading of a loaded 2-core machine).
"""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from mm2_stack import connect, faults
from mm2_stack.airflow_run import airflow_env, dags_test
from mm2_stack.config import load_passwords
from mm2_stack.kafka import client_config

pytestmark = pytest.mark.integration


def _settings(**kw):
    from mm2_smoke.settings import from_params

    return from_params({"num_messages": 30, "messages_per_second": 300, "count_timeout_s": 30, **kw})


def _wait_on_target(target, settings, run_tag: str, seqs: list[int], timeout_s: float = 60.0):
    """Count until every sequence number arrived (or the timeout): MM2 needs a moment to copy them."""
    from mm2_smoke.step_1_4_target_count import count_run

    deadline = time.monotonic() + timeout_s
    while True:
        consumer = target.consumer(**{"group.id": "mm2-smoke-test", "enable.auto.commit": False,
                                      "auto.offset.reset": "earliest"})
        try:
            count = count_run(consumer, settings.remote_topic, run_tag, seqs, since_ms=int(time.time() * 1000) - 600_000,
                              timeout_s=20)
        finally:
            consumer.close()
        if not count.missing or time.monotonic() > deadline:
            return count
        time.sleep(1)


def test_retry_of_step_1_1_other_runs_and_other_producers_never_count(conns) -> None:
    """Attempt 1 and attempt 2 of step 1.1 both produce (a retry); an untagged producer and another run write
    to the same topic in between. Step 1.4 given attempt 2's result counts exactly attempt 2's messages."""
    from confluent_kafka import Producer

    from mm2_smoke.hooks import SmokeKafkaHook
    from mm2_smoke.message import RunTag, encode
    from mm2_smoke.step_1_1_produce import produce_step
    from mm2_smoke.step_1_4_target_count import count_step

    s = _settings()
    run_id = f"manual__accounting-{uuid.uuid4().hex[:8]}"
    source, target = SmokeKafkaHook("kafka_source"), SmokeKafkaHook("kafka_target")
    first = produce_step(source, s, run_id, "test", try_number=1)
    # Someone else on the same topic: 7 untagged records and 5 of another run.
    p = Producer(source.client_config())
    for i in range(7):
        p.produce(s.source_topic, value=f"not a smoke message {i}".encode())
    for seq in range(1, 6):
        p.produce(s.source_topic, value=encode(RunTag(f"{run_id}-other", seq, int(time.time() * 1000), "x"), 300))
    assert p.flush(30) == 0
    second = produce_step(source, s, run_id, "test", try_number=2)
    assert first["run_tag"] == run_id and second["run_tag"] == f"{run_id}#try2"
    assert first["delivered"] == second["delivered"] == 30
    _wait_on_target(target, s, second["run_tag"], list(range(1, 31)))

    count = count_step(target, s, run_id, second)
    assert count["received"] == 30 and count["missing"] == [] and count["duplicates"] == [], count
    assert count["foreign"] >= 30 + 7 + 5, count  # attempt 1, the untagged and the other run: seen, not counted
    count1 = count_step(target, s, run_id, first)
    assert count1["received"] == 30 and count1["duplicates"] == [], count1


def test_missing_and_duplicate_messages_are_named_by_sequence_number(conns) -> None:
    """Seq 3 and 7 sent twice, seq 11 claimed delivered but never sent: 1.4 names them."""
    from confluent_kafka import Producer

    from mm2_smoke.checks import Status
    from mm2_smoke.hooks import SmokeKafkaHook
    from mm2_smoke.message import RunTag, encode
    from mm2_smoke.step_1_4_target_count import CountResult, check_target_count

    s = _settings()
    run_id = f"manual__dups-{uuid.uuid4().hex[:8]}"
    source, target = SmokeKafkaHook("kafka_source"), SmokeKafkaHook("kafka_target")
    p = Producer({**source.client_config(), "acks": "all"})
    for seq in [*range(1, 11), 3, 7]:
        p.produce(s.source_topic, value=encode(RunTag(run_id, seq, int(time.time() * 1000), "t"), 300))
    assert p.flush(30) == 0
    _wait_on_target(target, s, run_id, list(range(1, 11)))
    count = _wait_on_target(target, s, run_id, list(range(1, 12)), timeout_s=5)
    assert count.missing == [11] and count.duplicates == [3, 7] and count.received == 10, count
    [check, dups] = check_target_count(CountResult.from_dict(count.to_dict()), 11, s, "test")
    assert check.status is Status.NOGO and "seq 11" in check.reason
    assert dups.status is Status.NOGO and "(seq 3, 7)" in dups.reason


def test_records_reproduced_into_the_remote_topic_are_nogo_by_seq_and_blamed_on_a_writer_on_target(conns, live_stack
                                                                                                 ) -> None:
    """The issue's fault: a run produced once on source and replicated by MM2, then 7 of its records re-produced with
    the run's tag straight into the remote topic on target. Step 1.4 on the real target is NOGO naming the 7
    sequence numbers (GO with duplicates_tolerance=7); the duplicates diagnostic on the real clusters finds each once
    on source and differing copies on target: a writer on target, not MM2."""
    from confluent_kafka import Producer

    from mm2_smoke.checks import Status
    from mm2_smoke.diagnosis import base as dg
    from mm2_smoke.diagnosis.gather import duplicates_diagnostic
    from mm2_smoke.diagnosis.gather import run_facts as duplicate_run_facts
    from mm2_smoke.hooks import ConnectHook, SmokeKafkaHook
    from mm2_smoke.message import RunTag, encode
    from mm2_smoke.step_1_1_produce import produce_step
    from mm2_smoke.step_1_4_target_count import checklist_part, count_step

    s = _settings()
    run_id = f"manual__dup7-{uuid.uuid4().hex[:8]}"
    source, target = SmokeKafkaHook("kafka_source"), SmokeKafkaHook("kafka_target")
    produced = produce_step(source, s, run_id, "test", try_number=1)
    assert produced["delivered"] == 30, produced
    _wait_on_target(target, s, produced["run_tag"], list(range(1, 31)))
    again = [2, 5, 11, 12, 19, 23, 30]
    # Only MM2 may write the remote topic (ACLs): the intruder here is the stack's admin.
    p = Producer({**client_config(live_stack, "target", "admin", load_passwords(live_stack)), "acks": "all"})
    errors: list[str] = []
    for seq in again:
        p.produce(s.remote_topic, value=encode(RunTag(produced["run_tag"], seq, int(time.time() * 1000), "again"),
                                               s.record_size_bytes),
                  on_delivery=lambda err, _msg: errors.append(str(err)) if err else None)
    assert p.flush(30) == 0 and errors == []

    count = count_step(target, s, run_id, produced)
    assert count["received"] == 30 and count["missing"] == [] and count["duplicates"] == again, count
    [on_target, dups], notes = checklist_part(s, count, produced["delivered"])
    assert on_target.status is Status.GO and dups.status is Status.NOGO and dups.value == 7
    assert "(seq 2, 5, 11, 12, 19, 23, 30)" in dups.reason and notes == []
    [_, tolerated], notes = checklist_part(_settings(duplicates_tolerance=7), count, produced["delivered"])
    assert tolerated.status is Status.GO and "within duplicates_tolerance=7" in notes[0]

    t0 = time.monotonic()
    found = duplicates_diagnostic(ConnectHook("kafka_connect"), source, target, s,
                                  duplicate_run_facts(produced, count, None))
    seconds = time.monotonic() - t0
    assert [d["cause_id"] for d in found] == [dg.DUPLICATES_ON_TARGET_WRITER], found
    assert "seq 2, 5, 11, 12, 19, 23, 30 " in found[0]["cause"] and "(source holds 1)" in found[0]["evidence"]
    assert "'again'" in found[0]["evidence"] and seconds < 15, (seconds, found)


def test_ten_thousand_messages_at_500_per_second_end_with_exact_counts(live_stack, airflow_home,
                                                                         record_number) -> None:
    env = airflow_env(live_stack, airflow_home)
    result = dags_test(env, {"num_messages": 10_000, "messages_per_second": 500})
    r = result.report
    assert r is not None, result.output[-4000:]
    c = r["counts"]
    record_number(f"10k run at 500 msg/s: {r['verdict']} in {result.seconds:.1f} s, achieved "
                  f"{c['achieved_rate_msg_s']} msg/s, delivered {c['delivered']}, received {c['received']}, "
                  f"baseline avg {r['baseline'].get('latency_avg_ms')} ms max {r['baseline'].get('latency_max_ms')} ms")
    # Counts, rate and step 1.2 are exact on any machine. MM2's own latency at 500 msg/s is a true reading of this
    # 2-core machine running both clusters, Connect and Airflow (CI: avg 56-108 ms, max 296-531 ms against the
    # runbook's 100/500): GO, or NOGO on those latency rows only, with their values.
    assert r["verdict"] == "GO" or all(c_["step"] == "1.3" and "latency" in c_["name"] and c_["value"] is not None
                                       for c_ in r["failed_checks"]), json.dumps(r["failed_checks"], indent=1)
    assert c["produced"] == c["delivered"] == c["received"] == 10_000
    assert c["missing"] == 0 and c["duplicates"] == 0
    assert abs(c["achieved_rate_msg_s"] - 500) / 500 < 0.05, c
    md = result.report_path.with_suffix(".md").read_text()
    assert f"{c['achieved_rate_msg_s']:.2f} msg/s" in md


def _source_end_offsets(conns, live_stack) -> int:
    """The sum of the source test topic's end offsets (grows while step 1.1 produces)."""
    from confluent_kafka import TopicPartition

    from mm2_smoke.hooks import SmokeKafkaHook

    topic = live_stack.naming.source_topic()
    consumer = SmokeKafkaHook("kafka_source").consumer(**{"group.id": "mm2-smoke-test", "enable.auto.commit": False})
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts)
    finally:
        consumer.close()


def _poll_total(live_stack) -> float:
    from mm2_smoke.metrics import RUNBOOK, Queries

    q = Queries(RUNBOOK, remote_topic=live_stack.naming.remote_topic(live_stack.naming.source_topic())).poll_total
    url = f"http://127.0.0.1:{live_stack.ports.prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": q})
    with urllib.request.urlopen(url, timeout=10) as resp:
        result = json.loads(resp.read())["data"]["result"]
    return sum(float(s["value"][1]) for s in result)


def _raise_poll_total(conns, live_stack, above: float = 1000) -> None:
    """A counter reset is visible only as a drop: when the task's counter is lower than what the restarted task
    re-polls within one scrape (a just-started stack), the reset is hidden and step 1.2 says "metrics disagree"
    (UNKNOWN). Put ``above`` foreign records through MM2 first (the restarted task re-polls at most what came since
    its last offset commit: this run's 150 and a few probes), so the restart's reset shows as a drop."""
    from mm2_smoke.hooks import SmokeKafkaHook

    if _poll_total(live_stack) >= above:
        return
    producer = SmokeKafkaHook("kafka_source").producer()
    for i in range(int(above)):
        producer.produce(live_stack.naming.source_topic(), key=b"warm-up", value=b"not a run's message")
        if i % 1000 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0
    deadline = time.monotonic() + 90
    while _poll_total(live_stack) < above:
        assert time.monotonic() < deadline, f"MM2's poll_total stayed below {above} for 90 s"
        time.sleep(1)


def test_mm2_task_restart_mid_run_gives_no_negative_delta_and_no_false_go(conns, live_stack, airflow_home,
                                                                          record_number) -> None:
    """Restart the MirrorSourceConnector's task over Connect REST while step 1.1 produces."""
    env = airflow_env(live_stack, airflow_home)
    _raise_poll_total(conns, live_stack)  # its burst may show in MM2's latency window: 1.3 is not judged here
    name = urllib.parse.quote(f"{live_stack.naming.source_alias}->{live_stack.naming.target_alias}."
                              "MirrorSourceConnector", safe="")
    box: dict = {}
    runner = threading.Thread(target=lambda: box.update(r=dags_test(env, {"num_messages": 150,
                                                                          "messages_per_second": 10,
                                                                          "replication_timeout_s": 45})))
    before = _source_end_offsets(conns, live_stack)
    runner.start()
    try:
        # Restart once production is under way (Airflow's start and the pre-flight take a varying few seconds):
        # 30 of the 150 messages on source, 12 s of production left.
        deadline = time.monotonic() + 120
        while _source_end_offsets(conns, live_stack) < before + 30 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert time.monotonic() < deadline, "step 1.1 did not start producing within 120 s"
        req = urllib.request.Request(connect.rest_url(live_stack, f"/connectors/{name}/tasks/0/restart"),
                                     method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status in (200, 202, 204)
        runner.join(600)
    finally:
        runner.join(600)
    try:
        _check_restart_run(box["r"], record_number)
    finally:
        # MM2's 60 s latency window must forget the replay before a test that reads it (conftest waits then).
        faults.settle(live_stack, latency=False)


def _check_restart_run(result, record_number) -> None:
    r = result.report
    assert r is not None, result.output[-4000:]
    checks = {c["name"]: c for c in r["checks"]}
    produced = r["counts"]
    assert produced["delivered"] == 150
    notes = " ".join(r["notes"])
    record_number(f"MM2 task restart mid-run: verdict {r['verdict']}, poll +{checks['poll_total_increase']['value']}"
                  f" ({checks['poll_total_increase']['status']}), received {produced['received']}, duplicates "
                  f"{produced['duplicates']}; notes: {notes[:200]}")
    assert "reset" in notes, (notes, "the restart was not seen as a counter reset")
    assert produced["received"] == 150 and produced["missing"] == 0
    for name_ in ("poll_total_increase", "topic_record_count_increase", "write_poll_ratio_pct"):
        c = checks[name_]
        # The right verdict for 1.2: every message reached the target, so GO (counted across the reset, or
        # confirmed by 1.4's exact count when the reset lost counts): never NOGO, never a negative delta.
        assert c["status"] == "GO", c
        assert c["value"] is None or c["value"] >= 0, c
    # Anything else that is not GO is a true reading with its reason (a replay after the restart may show as
    # MM2 latency), never a step 1.2 artefact of the reset.
    assert all(c["reason"] and c["step"] != "1.2" for c in r["failed_checks"]), r["failed_checks"]


def _wrong_host_tls_context(certs: Path, tmp: Path) -> ssl.SSLContext:
    """A TLS listener whose certificate is signed by the stack's CA but names another host."""
    ext = tmp / "ext.cnf"
    ext.write_text("subjectAltName=DNS:not-this-host.example\n")
    for args in (["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "k.pem"],
                 ["req", "-new", "-key", "k.pem", "-subj", "/CN=not-this-host.example", "-out", "c.csr"],
                 ["x509", "-req", "-in", "c.csr", "-CA", str(certs / "ca.pem"), "-CAkey", str(certs / "ca-key.pem"),
                  "-CAcreateserial", "-CAserial", str(tmp / "ca.srl"), "-days", "1", "-extfile", str(ext),
                  "-out", "c.pem"]):
        subprocess.run(["openssl", *args], cwd=tmp, check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp / "c.pem", tmp / "k.pem")
    return ctx


def test_tls_hostname_verification_is_on_unless_the_connection_turns_it_off(conns, live_stack, tmp_path) -> None:
    import socket

    from mm2_smoke.bomber.client import BomberConnectError
    from mm2_smoke.bomber.client import connect as kafka_connect

    ctx = _wrong_host_tls_context(live_stack.run_dir / "certs", tmp_path)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    handshakes: list[str] = []

    def serve() -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            try:
                with ctx.wrap_socket(sock, server_side=True) as tls:
                    handshakes.append("ok")
                    tls.recv(1024)
            except (OSError, ssl.SSLError) as exc:
                handshakes.append(type(exc).__name__)

    threading.Thread(target=serve, daemon=True).start()
    base = {**json.loads(conns["AIRFLOW_CONN_KAFKA_SOURCE"])["extra"], "bootstrap.servers": f"127.0.0.1:{port}"}
    try:
        with pytest.raises(BomberConnectError) as on:
            kafka_connect(base, timeout_s=5)
        assert "TLS handshake" in str(on.value) or "certificate" in str(on.value).lower(), on.value
        assert "ok" not in handshakes  # the client refused the certificate for another host
        handshakes.clear()
        with pytest.raises(BomberConnectError) as off:
            kafka_connect({**base, "ssl.endpoint.identification.algorithm": "none"}, timeout_s=5)
        assert "ok" in handshakes, (handshakes, str(off.value))  # with verification off the handshake passes
    finally:
        listener.close()
