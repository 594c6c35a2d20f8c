"""Each diagnosis rule on answers recorded from the live stack (Connect REST, Kafka admin API, Prometheus)."""

from __future__ import annotations

from mm2_smoke import diagnosis as dg
from mm2_smoke.diagnosis import Acl, HttpAnswer

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


def facts(status: HttpAnswer, config: HttpAnswer = CONFIG_ANSWER, **kw) -> dg.ConnectorFacts:
    return dg.ConnectorFacts(NAME, status, config, TOPIC, **{"source_topic_exists": True,
                                                             "source_topic_messages": 500, **kw})


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


def test_healthy_connector_finds_nothing() -> None:
    assert dg.diagnose_connector(facts(HttpAnswer(200, RUNNING))) == []


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
    assert dg.diagnose_latency(latency_facts(0.0)) == []


# --- 0 messages on target -------------------------------------------------------------------------
def test_remote_topic_missing_and_create_denied() -> None:
    acls = [a for a in MM2_ACLS if a.operation != "CREATE"]
    f = dg.TargetTopicFacts("User:mm2", REMOTE, False, ["other." + TOPIC], "false", acls)
    d = first(dg.diagnose_target_topic(f))
    assert d.cause_id == dg.TOPIC_NOT_CREATED
    assert "lacks CREATE" in d.cause and "auto.create.topics.enable=false" in d.cause
    assert "other." + TOPIC in d.evidence


def test_remote_topic_present_is_not_the_cause() -> None:
    assert dg.diagnose_target_topic(dg.TargetTopicFacts("User:mm2", REMOTE, True, [], None, MM2_ACLS)) == []


# --- metrics unavailable --------------------------------------------------------------------------
def test_prometheus_down() -> None:
    f = dg.MetricsFacts(HttpAnswer(None, error="Prometheus unreachable: connection refused"), [], [], [])
    assert first(dg.diagnose_metrics(f)).cause_id == dg.METRICS


def test_scrape_target_down_and_wrong_profile() -> None:
    targets = [{"scrapeUrl": "http://127.0.0.1:19404/metrics", "health": "down", "lastError": "connection refused"}]
    f = dg.MetricsFacts(HttpAnswer(200, {}), targets, ["kafka_connect_source_task_source_record_poll_total"], [],
                        other_profile="runbook", other_profile_present=True)
    ds = dg.rank(dg.diagnose_metrics(f))
    assert ds[0].cause_id == dg.METRICS and "scrape target is down" in ds[0].cause
    wrong = dg.MetricsFacts(HttpAnswer(200, {}), [{"health": "up"}], ["x_poll_total"], [], "runbook", True)
    assert "metric_profile=runbook" in dg.diagnose_metrics(wrong)[0].evidence


# --- ranking --------------------------------------------------------------------------------------
def test_rank_keeps_the_best_per_cause_most_likely_first() -> None:
    a = dg.Diagnosis("s", dg.TASK_ERROR, "c", "e", "a", 65)
    b = dg.Diagnosis("s", dg.TASK_ERROR, "c2", "e", "a", 75)
    c = dg.Diagnosis("s", dg.ACL_ON_TARGET, "c3", "e", "a", 92)
    assert [d.score for d in dg.rank([a, b, c.to_dict()])] == [92, 75]


def test_setup_problem_is_the_first_diagnosis_with_the_checks_reason() -> None:
    from mm2_smoke.diagnosis import SMOKE_SETUP, rank, setup_diagnoses

    checks = [{"step": "pre", "name": "connections", "status": "GO", "reason": ""},
              {"step": "1.1", "name": "messages_produced", "status": "UNKNOWN",
               "reason": "nothing produced: authentication failed ... (connection 'kafka_source')"}]
    [d] = setup_diagnoses(checks)
    assert d.cause_id == SMOKE_SETUP and "kafka_source" in d.evidence
    other = {"symptom": "metrics_unavailable", "cause_id": "no_cause_found", "cause": "x", "evidence": "",
             "action": "", "score": 10}
    assert rank([d.to_dict(), other])[0].cause_id == SMOKE_SETUP
    checks[1]["status"] = "NOGO"  # a delivery failure is evidence about the source cluster, not setup
    assert setup_diagnoses(checks) == []
