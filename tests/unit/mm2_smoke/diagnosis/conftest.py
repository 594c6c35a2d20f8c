"""What the diagnosis tests share: answers recorded from the live stack (Connect REST, Kafka admin API) and two
helpers. Imported by name (``from tests.unit.mm2_smoke.diagnosis.conftest import ...``); no fixtures."""

from __future__ import annotations

from mm2_smoke.diagnosis.base import Acl, Diagnosis, rank
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


def first(diagnoses: list[Diagnosis]) -> Diagnosis:
    return rank(diagnoses)[0]


def check(name: str, status: str, value=None, step: str = "1.2") -> dict:
    return {"step": step, "name": name, "status": status, "value": value}
