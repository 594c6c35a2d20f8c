"""The chain's state, classified: certain faults decide the run before producing; the rest are warnings. Answers as
Connect REST gives them on the local stack."""

from __future__ import annotations

from mm2_smoke.chain import ChainState, connector_findings, filter_findings, findings, read, topic_findings
from mm2_smoke.checks import Status
from mm2_smoke.measured import HttpAnswer
from mm2_smoke.settings import SmokeSettings
from tests.support.fake_connect import FakeConnect

NAME = "source->target.MirrorSourceConnector"
TOPIC = "test-prometheus.generated-data-01.json"
RUNNING = {"name": NAME, "connector": {"state": "RUNNING", "worker_id": "127.0.0.1:18083"},
           "tasks": [{"id": 0, "state": "RUNNING", "worker_id": "127.0.0.1:18083"}], "type": "source"}
CONFIG = {"topics": r"test\-prometheus\..*", "connector.class": "org.apache.kafka.connect.mirror.MirrorSourceConnector"}


def state(status: HttpAnswer, config: dict | None = None, **kw) -> ChainState:
    return ChainState(NAME, status, HttpAnswer(200, config or CONFIG), TOPIC, True, "source." + TOPIC, True, **kw)


def certain_faults(s: ChainState) -> list[tuple[str, str]]:
    return [(f.check, f.value) for f in findings(s) if f.certain and f.status is not Status.GO]


def test_a_healthy_chain_is_go() -> None:
    fs = findings(state(HttpAnswer(200, RUNNING)))
    assert {f.status for f in fs} == {Status.GO} and [f.check for f in fs] == ["connector", "topics_filter"]


def test_absent_paused_stopped_failed_connector_and_failed_task_are_certain() -> None:
    absent = HttpAnswer(404, {"error_code": 404, "message": f"No status found for connector {NAME}"})
    assert certain_faults(state(absent)) == [("connector", "absent")]
    for bad in ("PAUSED", "STOPPED", "FAILED"):
        body = {**RUNNING, "connector": {"state": bad}, "tasks": [{"id": 0, "state": bad}]}
        assert certain_faults(state(HttpAnswer(200, body))) == [("connector", bad), ("task", bad)]
    failed_task = {**RUNNING, "tasks": [{"id": 0, "state": "FAILED", "trace": "org.apache.kafka.common.errors."
                                        "TopicAuthorizationException: Not authorized\n\tat x"}]}
    [f] = connector_findings(state(HttpAnswer(200, failed_task)))
    assert f.certain and f.status is Status.NOGO and "TopicAuthorizationException" in f.message


def test_a_filtered_out_test_topic_is_certain() -> None:
    excluded = {**CONFIG, "topics.exclude": r".*[\-\.]internal, test-prometheus\.generated-data-01\.json"}
    assert certain_faults(state(HttpAnswer(200, RUNNING), excluded)) == [("topics_filter", "excluded")]
    other = {**CONFIG, "topics": "orders\\..*"}
    assert certain_faults(state(HttpAnswer(200, RUNNING), other)) == [("topics_filter", "not included")]
    # MirrorMaker's own default exclusions apply when the connector sets none.
    internal = ChainState(NAME, HttpAnswer(200, RUNNING), HttpAnswer(200, {"topics": ".*"}), "x.internal")
    assert [f.value for f in filter_findings(internal)] == ["excluded"]


def test_what_cannot_be_known_for_sure_is_a_warning_but_a_silent_cluster_stops_the_run() -> None:
    down = state(HttpAnswer(None, error="Connect REST unreachable (connection 'kafka_connect')"))
    [f] = connector_findings(down)
    assert not f.certain and f.status is Status.UNKNOWN and f.message.startswith("not inspected")
    assert filter_findings(down) == []
    not_connect = state(HttpAnswer(404, "<html>nginx</html>"))
    assert not connector_findings(not_connect)[0].certain
    no_task = state(HttpAnswer(200, {**RUNNING, "tasks": []}))
    assert [(f.check, f.certain) for f in connector_findings(no_task)] == [("task", False)]
    topics = ChainState(NAME, HttpAnswer(200, RUNNING), None, TOPIC, False, "source." + TOPIC, False,
                        {"target": "KafkaException: timed out", "source": "KafkaException: _AUTHENTICATION"})
    assert [(f.check, f.certain) for f in topic_findings(topics)] == [
        ("source_topic", False), ("remote_topic", False), ("target_cluster", True), ("source_cluster", False)]


def test_certain_faults_come_first() -> None:
    paused = {**RUNNING, "connector": {"state": "PAUSED"}}
    fs = findings(ChainState(NAME, HttpAnswer(200, paused), HttpAnswer(200, CONFIG), TOPIC, False, "r", True))
    assert (fs[0].check, fs[0].status) == ("connector", Status.NOGO)


def test_read_asks_the_config_only_when_the_status_answered() -> None:
    s = SmokeSettings()
    up = FakeConnect({"status": HttpAnswer(200, RUNNING), "config": HttpAnswer(200, CONFIG)})
    got = read(up, None, None, s)
    assert got.config.body == CONFIG and got.source_topic_exists is None
    assert up.asked == ["connectors/source-%3Etarget.MirrorSourceConnector/status",
                        "connectors/source-%3Etarget.MirrorSourceConnector/config"]
    down = FakeConnect({"status": HttpAnswer(None, error="refused")})
    assert read(down, None, None, s).config is None and len(down.asked) == 1


def test_a_missing_test_topic_is_certain_only_when_the_run_may_not_create_it() -> None:
    cfg = {**CONFIG, "refresh.topics.interval.seconds": "5"}
    missing = ChainState(NAME, HttpAnswer(200, RUNNING), HttpAnswer(200, cfg), TOPIC, False, "source." + TOPIC, True)
    [warn] = topic_findings(missing)
    assert (warn.status, warn.certain) == (Status.UNKNOWN, False)
    assert "step 1.1 creates it" in warn.message and "refresh.topics.interval.seconds=5" in warn.message
    [stop] = topic_findings(missing, "fail")
    assert (stop.check, stop.status, stop.certain) == ("source_topic", Status.NOGO, True)
    assert "test_topic_missing=create" in stop.message
    assert findings(missing, "fail")[0] == stop


def test_topic_assigned_reads_the_tasks_partitions_and_says_unknown_when_connect_cannot() -> None:
    from mm2_smoke.chain import topic_assigned
    s = SmokeSettings()
    topic = s.source_topic

    def tasks(*parts: str) -> FakeConnect:
        """Connect REST's ``GET /connectors/<name>/tasks`` answer, as the local stack's MM2 gives it."""
        return FakeConnect(HttpAnswer(200, [{"id": {"connector": NAME, "task": i}, "config": {
            "task.class": "org.apache.kafka.connect.mirror.MirrorSourceTask", "task.assigned.partitions": p}}
            for i, p in enumerate(parts)]))

    assert topic_assigned(tasks("other-0,other-1", f"{topic}-0,{topic}-1"), s) is True
    assert topic_assigned(tasks("other-0", f"{topic}.longer-0"), s) is False  # a topic whose name extends ours
    fake = tasks("")
    assert topic_assigned(fake, s) is False and fake.asked[0].endswith("/tasks")
    assert topic_assigned(FakeConnect(HttpAnswer(404, {"error_code": 404})), s) is None
    assert topic_assigned(FakeConnect(HttpAnswer(200, [{"id": 0, "config": {}}])), s) is None
