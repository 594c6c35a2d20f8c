"""Step 1.4's count on the target (``count_run``): this run's tags by sequence number, through the one reader."""

from __future__ import annotations

from confluent_kafka import KafkaError

from mm2_smoke.measured import Gap
from mm2_smoke.message import RunTag, encode
from mm2_smoke.step_1_4_target_count import count_run
from tests.support.fake_kafka import FakeConsumer, Msg

TOPIC = "source.test-prometheus.generated-data-01.json"


def tagged(run: str, seq: int) -> bytes:
    return encode(RunTag(run, seq, 1_000, "p"), 200)


def test_counts_this_runs_tags_names_missing_and_duplicates_and_ignores_the_rest() -> None:
    values = {(TOPIC, 0, 0): tagged("run", 1), (TOPIC, 0, 1): b"not a smoke message", (TOPIC, 0, 2): tagged("run", 2),
              (TOPIC, 0, 3): tagged("other", 3), (TOPIC, 0, 4): tagged("run", 2)}
    consumer = FakeConsumer(logs={(TOPIC, 0): [0, 1, 2, 3, 4]}, high={(TOPIC, 0): 5}, times={(TOPIC, 0): 0},
                            values=values)
    count = count_run(consumer, TOPIC, "run", [1, 2, 3], since_ms=0, timeout_s=10)
    assert (count.received, count.missing, count.duplicates, count.foreign) == (2, [3], [2], 2)
    assert count.gap is None and count.note == ""
    untagged = count_run(FakeConsumer(logs={(TOPIC, 0): [0, 1]}, high={(TOPIC, 0): 2}, times={(TOPIC, 0): 0},
                                      values=values), TOPIC, None, [], since_ms=0, timeout_s=10)
    assert untagged.foreign == 2 and untagged.received == 0


def test_a_missing_remote_topic_is_evidence_and_an_unreadable_one_is_not() -> None:
    absent = count_run(FakeConsumer(logs={}, high={}), TOPIC, "run", [1, 2], since_ms=0, timeout_s=10)
    assert absent.gap is None and absent.missing == [1, 2] and "does not exist on target (absent)" in absent.note
    refused = FakeConsumer(logs={(TOPIC, 0): [0]}, high={(TOPIC, 0): 1},
                           topic_error=KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED))
    count = count_run(refused, TOPIC, "run", [1], since_ms=0, timeout_s=10)
    assert count.gap is Gap.UNREACHABLE and count.reason == f"not authorized to read {TOPIC} on target"


def test_a_read_error_is_unreachable_with_the_clients_reason() -> None:
    consumer = FakeConsumer(logs={(TOPIC, 0): [0]}, high={(TOPIC, 0): 1}, times={(TOPIC, 0): 0},
                            values={(TOPIC, 0, 0): tagged("run", 1)},
                            events=[Msg(TOPIC, 0, -1, _error=KafkaError(KafkaError._TRANSPORT, "broker gone"))])
    count = count_run(consumer, TOPIC, "run", [1], since_ms=0, timeout_s=10)
    assert count.gap is Gap.UNREACHABLE and count.reason.startswith(f"reading {TOPIC} failed: ")
    assert "broker gone" in count.reason
