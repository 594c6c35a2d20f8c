"""Each diagnosis rule on answers recorded from the live stack (Connect REST, Kafka admin API, Prometheus)."""

from __future__ import annotations

from mm2_smoke.diagnosis import rules as dg
from mm2_smoke.diagnosis.rules import Acl
from mm2_smoke.measured import HttpAnswer

NAME = "source->target.MirrorSourceConnector"
TOPIC = "test-prometheus.generated-data-01.json"
REMOTE = "source." + TOPIC
CONFIG = {"connector.class": "org.apache.kafka.connect.mirror.MirrorSourceConnector", "topics": r"test\-prometheus\..*"}
RUNNING = {"name": NAME, "connector": {"state": "RUNNING", "worker_id": "127.0.0.1:18083"},
           "tasks": [{"id": 0, "state": "RUNNING", "worker_id": "127.0.0.1:18083"}], "type": "source"}
AUTH_TRACE = ("org.apache.kafka.connect.errors.ConnectException: Unrecoverable exception from producer send callback\n"
              "\tat org.apache.kafka.connect.runtime.WorkerSourceTask.maybeThrowProducerSendException\n"
              "Caused by: org.apache.kafka.common.errors.TopicAuthorizationException: Not authorized to access "
              "topics: [source.test-prometheus.generated-data-01.json]\n")
MM2_ACLS = [
    Acl("User:mm2", "TOPIC", "source.", "PREFIXED", op, "ALLOW")
    for op in ("CREATE", "WRITE", "READ", "DESCRIBE", "DESCRIBE_CONFIGS", "ALTER_CONFIGS")
] + [Acl("User:mm2", "TOPIC", "heartbeats", "LITERAL", "WRITE", "ALLOW")]


CONFIG_ANSWER = HttpAnswer(200, CONFIG)
#: MM2's ACLs on the stack's source, as describe_acls returned them (read side on every topic).
SOURCE_ACLS = [Acl("User:mm2", "TOPIC", "*", "LITERAL", op, "ALLOW") for op in ("READ", "DESCRIBE", "DESCRIBE_CONFIGS")]


def facts(status: HttpAnswer, config: HttpAnswer = CONFIG_ANSWER, **kw) -> dg.ConnectorFacts:
    return dg.ConnectorFacts(NAME, status, config, TOPIC, **{"source_topic_exists": True,
                                                             "source_topic_messages": 500, "principal": "User:mm2",
                                                             "source_acls": SOURCE_ACLS, **kw})


def first(diagnoses: list[dg.Diagnosis]) -> dg.Diagnosis:
    return dg.rank(diagnoses)[0]


# --- symptoms -----------------------------------------------------------------------------------
def check(name: str, status: str, value=None, step: str = "1.2") -> dict:
    return {"step": step, "name": name, "status": status, "value": value}


def test_symptoms_follow_the_runbook_table() -> None:
    assert dg.symptoms_from_checks([check("poll_total_increase", "NOGO", 0)]) == [dg.REPLICATION_STOPPED]
    assert dg.symptoms_from_checks([check("poll_total_increase", "GO", 100),
                                    check("write_poll_ratio_pct", "NOGO", 0.0)]) == [dg.WRITES_FAILING]
    assert dg.symptoms_from_checks([check("replication_latency_max_ms", "NOGO", 900.0, "1.3")]) == [dg.LATENCY_HIGH]
    zero = check("messages_on_target", "NOGO", 0, "1.4")
    assert dg.NOTHING_ON_TARGET in dg.symptoms_from_checks([zero])
    unknown = check("replication_latency_avg_ms", "UNKNOWN", None, "1.3")
    assert dg.symptoms_from_checks([unknown]) == [dg.METRICS_UNAVAILABLE]


# --- poll_total = 0 -------------------------------------------------------------------------------
def test_unreachable_worker() -> None:
    d = first(dg.diagnose_connector(facts(HttpAnswer(None, error="ConnectionError: [Errno 111] refused"))))
    assert d.cause_id == dg.WORKER_DOWN and "refused" in d.evidence


def test_paused_connector() -> None:
    paused = {**RUNNING, "connector": {"state": "PAUSED"}, "tasks": [{"id": 0, "state": "PAUSED"}]}
    d = first(dg.diagnose_connector(facts(HttpAnswer(200, paused))))
    assert d.cause_id == dg.WORKER_DOWN and "PAUSED" in d.cause and "/resume" in d.action


def test_connector_not_deployed() -> None:
    d = first(dg.diagnose_connector(facts(HttpAnswer(404, {"error_code": 404, "message": "No status found"}))))
    assert d.cause_id == dg.WORKER_DOWN and "not deployed" in d.cause


def test_topic_excluded_outranks_no_task() -> None:
    no_task = {**RUNNING, "tasks": []}
    cfg = {**CONFIG, "topics.exclude": r".*[\-\.]internal, .*\.replica, __.*, test-prometheus\.generated-data-01\.json"}
    ds = dg.rank(dg.diagnose_connector(facts(HttpAnswer(200, no_task), HttpAnswer(200, cfg))))
    assert ds[0].cause_id == dg.TOPICS_CONFIG and "topics.exclude" in ds[0].cause
    assert "test-prometheus" in ds[0].action


def test_topic_not_in_topics() -> None:
    cfg = {**CONFIG, "topics": "other\\..*"}
    d = first(dg.diagnose_connector(facts(HttpAnswer(200, {**RUNNING, "tasks": []}), HttpAnswer(200, cfg))))
    assert d.cause_id == dg.TOPICS_CONFIG and "does not match" in d.cause


def test_missing_source_topic() -> None:
    d = first(dg.diagnose_connector(facts(HttpAnswer(200, RUNNING), source_topic_exists=False,
                                          source_error="UNKNOWN_TOPIC_OR_PART")))
    assert d.cause_id == dg.SOURCE_TOPIC


def test_healthy_connector_finds_no_cause_and_lists_what_it_inspected() -> None:
    [d] = dg.diagnose_connector(facts(HttpAnswer(200, RUNNING)))
    assert d.cause_id == dg.NO_CAUSE_FOUND and "showed nothing wrong" in d.cause
    assert "RUNNING, task 0 RUNNING" in d.evidence and "500 message(s)" in d.evidence and "could NOT" not in d.evidence


def test_a_connector_diagnosis_that_could_not_read_the_source_or_the_config_says_so() -> None:
    [d] = dg.diagnose_connector(facts(HttpAnswer(200, RUNNING), HttpAnswer(500, "boom"), source_topic_exists=None,
                                      source_error="KafkaException: _TRANSPORT"))
    assert d.cause_id == dg.NO_CAUSE_FOUND and "not a clean bill" in d.cause and "2 part(s)" in d.cause
    assert "could NOT inspect: its config (HTTP 500); source topic" in d.evidence and "_TRANSPORT" in d.evidence
    assert "healthy" not in d.evidence + d.cause and "nothing wrong" not in d.cause


# --- write = 0, poll > 0 --------------------------------------------------------------------------
def write_facts(acls: list[Acl] | None, trace: str | None = AUTH_TRACE, acl_error: str | None = None):
    tasks = [{"id": 0, "state": "FAILED", "trace": trace}] if trace else [{"id": 0, "state": "RUNNING"}]
    return dg.WriteFacts(NAME, HttpAnswer(200, {**RUNNING, "tasks": tasks}), "User:mm2", REMOTE, acls, acl_error)


def test_missing_write_acl_on_target() -> None:
    acls = [a for a in MM2_ACLS if a.operation != "WRITE" or a.name != "source."]
    d = first(dg.diagnose_writes(write_facts(acls)))
    assert d.cause_id == dg.ACL_ON_TARGET
    assert "may not WRITE" in d.cause and "TopicAuthorizationException" in d.evidence


def test_deny_acl_wins() -> None:
    acls = [*MM2_ACLS, Acl("User:mm2", "TOPIC", REMOTE, "LITERAL", "WRITE", "DENY")]
    assert not dg.acl_allows(acls, "User:mm2", "TOPIC", REMOTE, "WRITE")
    assert dg.acl_allows(MM2_ACLS, "User:mm2", "TOPIC", REMOTE, "WRITE")
    assert dg.acl_allows([Acl("User:mm2", "TOPIC", "*", "LITERAL", "ALL", "ALLOW")], "User:mm2", "TOPIC", REMOTE,
                         "CREATE")


def test_acls_unreadable_but_task_trace_says_authorization() -> None:
    d = first(dg.diagnose_writes(write_facts(None, acl_error="CLUSTER_AUTHORIZATION_FAILED")))
    assert d.cause_id == dg.ACL_ON_TARGET


def test_other_task_error() -> None:
    trace = "org.apache.kafka.common.errors.RecordTooLargeException: The message is 2000000 bytes\n"
    d = first(dg.diagnose_writes(write_facts(MM2_ACLS, trace=trace)))
    assert d.cause_id == dg.TASK_ERROR and "RecordTooLarge" in d.evidence


# --- latency > 500 ms -----------------------------------------------------------------------------
def latency_facts(throttle: float | None, quotas: dict | None = None, rtt: float = 2.0) -> dg.LatencyFacts:
    return dg.LatencyFacts("User:mm2", {"source": rtt, "target": rtt}, {}, throttle,
                           'max(kafka_producer_produce_throttle_time_max{client_id=~".*MirrorSourceConnector.*"})',
                           None, quotas, None)


def test_throttled_mm2_producer() -> None:
    d = first(dg.diagnose_latency(latency_facts(9513.0, {"producer_byte_rate": 4096.0})))
    assert d.cause_id == dg.THROTTLING and "producer_byte_rate=4096" in d.evidence and "9513" in d.evidence


def test_slow_network_and_nothing() -> None:
    assert first(dg.diagnose_latency(latency_facts(0.0, rtt=450.0))).cause_id == dg.SLOW_NETWORK
    [d] = dg.diagnose_latency(latency_facts(0.0))
    assert d.cause_id == dg.NO_CAUSE_FOUND and "throttle time: 0 ms" in d.evidence and "could NOT" not in d.evidence


# --- 0 messages on target -------------------------------------------------------------------------
def test_remote_topic_missing_and_create_denied() -> None:
    acls = [a for a in MM2_ACLS if a.operation != "CREATE"]
    f = dg.TargetTopicFacts("User:mm2", REMOTE, False, ["other." + TOPIC], "false", acls)
    d = first(dg.diagnose_target_topic(f))
    assert d.cause_id == dg.TOPIC_NOT_CREATED
    assert "lacks CREATE" in d.cause and "auto.create.topics.enable=false" in d.cause
    assert "other." + TOPIC in d.evidence


def test_remote_topic_present_is_not_the_cause() -> None:
    [d] = dg.diagnose_target_topic(dg.TargetTopicFacts("User:mm2", REMOTE, True, [], None, MM2_ACLS))
    assert d.cause_id == dg.NO_CAUSE_FOUND and f"{REMOTE} exists" in d.evidence


# --- metrics unavailable --------------------------------------------------------------------------
def test_prometheus_down() -> None:
    f = dg.MetricsFacts(HttpAnswer(None, error="Prometheus unreachable: connection refused"), [])
    assert first(dg.diagnose_metrics(f)).cause_id == dg.METRICS


def test_scrape_target_down_and_wrong_profile() -> None:
    targets = [{"scrapeUrl": "http://127.0.0.1:19404/metrics", "health": "down", "lastError": "connection refused"}]
    f = dg.MetricsFacts(HttpAnswer(200, {}), targets, False, "metric_profile='strimzi': 5 of its 5 contract series "
                        "do not answer")
    ds = dg.rank(dg.diagnose_metrics(f))
    assert ds[0].cause_id == dg.METRICS and "scrape target is down" in ds[0].cause
    summary = "metric_profile='strimzi': ... The 'runbook' profile's series answer: set metric_profile=runbook (or auto)."
    wrong = dg.MetricsFacts(HttpAnswer(200, {}), [{"health": "up"}], False, summary)
    [d] = dg.diagnose_metrics(wrong)
    assert "do not answer fresh" in d.cause and d.evidence == summary
    [ok] = dg.diagnose_metrics(dg.MetricsFacts(HttpAnswer(200, {}), [{"health": "up"}], True, "ok"))
    assert ok.cause_id == dg.NO_CAUSE_FOUND and "1 scrape target(s), all up" in ok.evidence


# --- ranking --------------------------------------------------------------------------------------
def test_rank_keeps_the_best_per_cause_most_likely_first() -> None:
    a = dg.Diagnosis("s", dg.TASK_ERROR, "c", "e", "a", 65)
    b = dg.Diagnosis("s", dg.TASK_ERROR, "c2", "e", "a", 75)
    c = dg.Diagnosis("s", dg.ACL_ON_TARGET, "c3", "e", "a", 92)
    assert [d.score for d in dg.rank([a, b, c.to_dict()])] == [92, 75]


def test_rank_never_merges_distinct_symptoms() -> None:
    nothing = [dg.no_cause_found(s, [f"{s} part"]) for s in (dg.REPLICATION_STOPPED, dg.WRITES_FAILING,
                                                               dg.LATENCY_HIGH, dg.NOTHING_ON_TARGET)]
    ranked = dg.rank([*nothing, dg.Diagnosis(dg.WRITES_FAILING, dg.WORKER_DOWN, "w", "e", "a", 90),
                      dg.Diagnosis(dg.REPLICATION_STOPPED, dg.WORKER_DOWN, "r", "e", "a", 95)])
    assert [(d.symptom, d.cause_id) for d in ranked[:2]] == [(dg.REPLICATION_STOPPED, dg.WORKER_DOWN),
                                                             (dg.WRITES_FAILING, dg.WORKER_DOWN)]
    assert sorted(d.symptom for d in ranked if d.cause_id == dg.NO_CAUSE_FOUND) == sorted(
        d.symptom for d in nothing)


def test_no_cause_found_is_never_a_clean_bill_while_a_check_was_unknown() -> None:
    clean = dg.no_cause_found(dg.WRITES_FAILING, ["Connect REST status"])
    assert "showed nothing wrong" in clean.cause and clean.score == 1
    checks = [check("poll_total_increase", "UNKNOWN"), check("write_poll_ratio_pct", "NOGO"),
              check("messages_on_target", "GO", 100, "1.4")]
    [d, other] = dg.honest([clean, dg.Diagnosis("s", dg.TASK_ERROR, "c", "e", "a", 65)], checks)
    assert "not a clean bill" in d.cause and "nothing wrong" not in d.cause and "1 check(s)" in d.cause
    assert d.evidence == "inspected: Connect REST status; UNKNOWN checks of the run: 1.2 poll_total_increase"
    assert other.cause == "c" and dg.honest([clean], [check("x", "GO")]) == [clean]
    nothing = dg.no_cause_found(dg.METRICS_UNAVAILABLE, [])
    assert "not a clean bill" in nothing.cause and nothing.evidence == "inspected: nothing"


def test_setup_problem_is_the_first_diagnosis_with_the_checks_reason() -> None:
    from mm2_smoke.diagnosis.rules import SMOKE_SETUP, rank, setup_diagnoses

    checks = [{"step": "pre", "name": "connections", "status": "GO", "reason": ""},
              {"step": "1.1", "name": "messages_produced", "status": "UNKNOWN", "gap": "own_setup",
               "reason": "nothing produced: authentication failed ... (connection 'kafka_source')"}]
    [d] = setup_diagnoses(checks)
    assert d.cause_id == SMOKE_SETUP and "kafka_source" in d.evidence
    other = {"symptom": "metrics_unavailable", "cause_id": "no_cause_found", "cause": "x", "evidence": "",
             "action": "", "score": 10}
    assert rank([d.to_dict(), other])[0].cause_id == SMOKE_SETUP
    checks[1] = {**checks[1], "status": "NOGO", "gap": None}  # a delivery failure: evidence about the source, not setup
    assert setup_diagnoses(checks) == []
    # Metrics that do not answer are not the smoke test's own input, even before producing.
    contract = {"step": "pre", "name": "metric_contract", "status": "UNKNOWN", "gap": "no_data", "reason": "x"}
    assert setup_diagnoses([contract]) == []


def test_a_pre_flight_that_could_not_inspect_the_connector_routes_to_the_connector_diagnosis() -> None:
    from mm2_smoke.diagnosis.rules import METRICS_UNAVAILABLE, REPLICATION_STOPPED, symptoms_from_checks

    contract = {"step": "pre", "name": "metric_contract", "status": "UNKNOWN", "gap": "no_data", "reason": "x"}
    rest = {"step": "pre", "name": "connector", "status": "UNKNOWN", "gap": "no_data", "reason": "HTTP 401"}
    assert symptoms_from_checks([contract, rest]) == [REPLICATION_STOPPED, METRICS_UNAVAILABLE]
    assert symptoms_from_checks([contract, {**rest, "status": "GO"}]) == [METRICS_UNAVAILABLE]


# --- duplicates on target -------------------------------------------------------------------------
def copy(offset: int, ts: int = 1_000, producer: str = "produce", digest: str = "d1", partition: int = 0) -> dg.Copy:
    return dg.Copy(partition, offset, ts, producer, ts - 5, digest)


def dup_facts(target, source, **kw) -> dg.DuplicateFacts:
    seqs = sorted(target) if target is not None else [3, 7]
    return dg.DuplicateFacts(NAME, TOPIC, REMOTE, seqs, target, source, **{"counter_resets": 0,
                             "connector_status": HttpAnswer(200, RUNNING), "exactly_once": "", **kw})


def test_duplicates_routes_to_its_own_diagnostic() -> None:
    checks = [check("messages_on_target", "GO", 100, "1.4"), check("duplicates_on_target", "NOGO", 7, "1.4")]
    assert dg.symptoms_from_checks(checks) == [dg.DUPLICATES_ON_TARGET]
    assert dg.route({"checks": checks}, "diagnose") == ["diagnose.duplicates"]
    assert dg.symptoms_from_checks([check("duplicates_on_target", "GO", 0, "1.4")]) == []


def test_duplicates_written_into_the_remote_topic_on_target_by_another_producer() -> None:
    target = {3: [copy(2), copy(101, ts=9_000, producer="intruder", digest="d2")],
              7: [copy(6, digest="d7"), copy(102, ts=9_001, producer="intruder", digest="d8")]}
    [d] = dg.diagnose_duplicates(dup_facts(target, {3: [copy(2)], 7: [copy(6, digest="d7")]}))
    assert d.cause_id == dg.DUPLICATES_ON_TARGET_WRITER and d.symptom == dg.DUPLICATES_ON_TARGET
    assert d.cause.startswith("remote topic on target: duplicates (data anomaly): seq 3, 7 ")
    assert "seq 3: p0@2 ts 1000 by 'produce', p0@101 ts 9000 by 'intruder' (source holds 1)" in d.evidence
    assert "second producer" in d.action and "task restart" in d.action and "retried produce" in d.action


def test_identical_copies_once_on_source_are_mm2_redelivery_with_restart_evidence() -> None:
    target = {5: [copy(4), copy(9)]}
    [d] = dg.diagnose_duplicates(dup_facts(target, {5: [copy(4)]}, counter_resets=1))
    assert d.cause_id == dg.DUPLICATES_BY_MM2 and "re-delivered" in d.cause and d.score == 85
    assert "task counters reset 1 time(s)" in d.evidence and "exactly.once.support=unset" in d.evidence
    assert "0=RUNNING on 127.0.0.1:18083" in d.evidence
    assert "exactly.once.source.support=enabled" in d.action


def test_duplicates_already_on_source_blame_the_producer_not_mm2() -> None:
    target = {4: [copy(3), copy(8)]}
    [retry] = dg.diagnose_duplicates(dup_facts(target, {4: [copy(3), copy(8)]}))
    assert retry.cause_id == dg.DUPLICATES_AT_SOURCE and "retried produce" in retry.cause
    [second] = dg.diagnose_duplicates(dup_facts(target, {4: [copy(3), copy(8, ts=5_000, producer="other")]}))
    assert second.cause_id == dg.DUPLICATES_AT_SOURCE and "producers other, produce" in second.cause


def test_duplicates_whose_origin_cannot_be_told_say_what_could_not_be_read() -> None:
    [d] = dg.diagnose_duplicates(dup_facts({3: [copy(1), copy(2)]}, None, source_error="_TRANSPORT"))
    assert d.cause_id == dg.DUPLICATES and "source topic could not be re-read: _TRANSPORT" in d.cause
    [t] = dg.diagnose_duplicates(dup_facts(None, None, target_error="timed out", exactly_once=None,
                                           counter_resets=None))
    assert t.cause_id == dg.DUPLICATES and "seq 3, 7" in t.cause and "timed out" in t.evidence
    assert "exactly.once.support could not be read" in t.evidence and "counter resets are unknown" in t.evidence


def test_duplicate_run_facts_from_the_steps_results() -> None:
    from mm2_smoke.diagnosis.gather import run_facts as duplicate_run_facts

    facts = duplicate_run_facts({"run_tag": "r#try2", "started_ms": 100_000}, {"duplicates": [3, 7]},
                                {"growth": {"poll": {"resets": 0}, "write": {"resets": 2}}})
    assert facts == {"run_tag": "r#try2", "since_ms": 40_000, "duplicate_seqs": [3, 7], "counter_resets": 2}
    assert duplicate_run_facts(None, None, None)["counter_resets"] is None


def test_a_deny_read_on_source_for_mm2_is_the_first_cause_while_its_task_runs() -> None:
    # Recorded with the source-read-denied fault: DENY READ on the test topic beside the stack's ALLOW on '*'.
    deny = [*SOURCE_ACLS, Acl("User:mm2", "TOPIC", TOPIC, "LITERAL", "READ", "DENY")]
    d = first(dg.diagnose_connector(facts(HttpAnswer(200, RUNNING), source_acls=deny)))
    assert d.cause_id == dg.ACL_ON_SOURCE and d.score == 86 and "may not READ" in d.cause
    assert "DENY READ TOPIC:LITERAL:" + TOPIC in d.evidence and "grant User:mm2 READ and DESCRIBE" in d.action
    # ACLs that exist but allow nothing on the topic: weaker evidence.
    other = [Acl("User:mm2", "TOPIC", "other.", "PREFIXED", "READ", "ALLOW")]
    assert first(dg.diagnose_connector(facts(HttpAnswer(200, RUNNING), source_acls=other))).score == 70
    # No ACL at all for the principal (a super user, allow.everyone.if.no.acl.found): no claim.
    [none] = dg.diagnose_connector(facts(HttpAnswer(200, RUNNING), source_acls=[]))
    assert none.cause_id == dg.NO_CAUSE_FOUND
    # ACLs that could not be read are listed as not inspected: never a clean bill.
    [unread] = dg.diagnose_connector(facts(HttpAnswer(200, RUNNING), source_acls=None,
                                           source_acl_error="describe ACLs of User:mm2 on source: SECURITY_DISABLED"))
    assert unread.cause_id == dg.NO_CAUSE_FOUND and "SECURITY_DISABLED" in unread.evidence


def test_mm2s_own_bootstrap_that_does_not_answer_is_the_first_cause() -> None:
    # Recorded with the mm2-source-unreachable fault: connector RUNNING with no task, its source bootstrap refused.
    no_task = HttpAnswer(200, {**RUNNING, "tasks": []})
    probe = dg.BootstrapProbe("127.0.0.1:1", {"127.0.0.1:1": "ConnectionRefusedError: [Errno 111] Connection refused"},
                              "127.0.0.1:19092")
    ok = dg.BootstrapProbe("127.0.0.1:29092", {"127.0.0.1:29092": ""}, "127.0.0.1:29092")
    d = first(dg.diagnose_connector(facts(no_task, bootstrap={"source": probe, "target": ok})))
    assert d.cause_id == dg.MM2_CLUSTER_UNREACHABLE and d.score == 88
    assert "source.cluster.bootstrap.servers=127.0.0.1:1" in d.cause and "127.0.0.1:19092" in d.cause
    assert "Connection refused" in d.evidence and "fix source.cluster.bootstrap.servers" in d.action
    # Same address as the smoke test's and down: the cluster itself does not answer (still this cause, lower).
    down = dg.BootstrapProbe("127.0.0.1:19092", {"127.0.0.1:19092": "TimeoutError: timed out"}, "127.0.0.1:19092")
    assert first(dg.diagnose_connector(facts(no_task, bootstrap={"source": down}))).score == 80
    # Addresses that answer are listed as inspected, never a cause.
    [healthy] = dg.diagnose_connector(facts(HttpAnswer(200, RUNNING), bootstrap={"target": ok}))
    assert healthy.cause_id == dg.NO_CAUSE_FOUND and "127.0.0.1:29092 answers from here" in healthy.evidence


def test_a_cluster_that_does_not_answer_is_the_first_cause_even_while_connect_says_running() -> None:
    # Recorded with the target-frozen fault (SIGSTOP): the port accepts, metadata times out, Connect says RUNNING.
    frozen = dg.BootstrapProbe("127.0.0.1:29092", {"127.0.0.1:29092": ""}, "127.0.0.1:29092")
    why = 'KafkaException: KafkaError{code=_TRANSPORT,val=-195,str="Failed to get metadata: Local: Broker transport failure"}'
    d = first(dg.diagnose_connector(facts(HttpAnswer(200, RUNNING), bootstrap={"target": frozen},
                                          silent_clusters={"target": why})))
    assert d.cause_id == dg.CLUSTER_UNRESPONSIVE and "target cluster does not answer" in d.cause
    assert "port accepts TCP connections" in d.cause and "Connect REST still says" in d.evidence
    # A silent cluster is not also blamed on MM2's address.
    assert all(x.cause_id != dg.MM2_CLUSTER_UNREACHABLE for x in dg.diagnose_connector(
        facts(HttpAnswer(200, RUNNING), bootstrap={"target": dg.BootstrapProbe("h:1", {"h:1": "refused"})},
              silent_clusters={"target": why})))


def test_a_silent_cluster_in_the_pre_flight_routes_to_the_connector_diagnostic() -> None:
    checks = [{"step": "pre", "name": "metric_contract", "status": "UNKNOWN"},
              {"step": "pre", "name": "target_cluster", "status": "UNKNOWN"}]
    assert dg.symptoms_from_checks(checks) == [dg.REPLICATION_STOPPED, dg.METRICS_UNAVAILABLE]
