"""The producer bomber's spec: its checks name the spec field, and the work each thread gets."""

from __future__ import annotations

import pytest

from mm2_smoke.bomber.client import BomberInputError
from mm2_smoke.bomber.producer import ProducerSpec
from mm2_smoke.errors import InputError
from mm2_smoke.message import MAX_RECORD_SIZE_BYTES

TOPICS = ("test-prometheus.generated-data-01.json",)


@pytest.mark.parametrize("rate", [0, -5, float("nan"), float("inf")])
def test_rate_must_be_positive_and_finite(rate: float) -> None:
    with pytest.raises(BomberInputError, match="rate_per_s .* must be above 0.*rate_per_s=None") as caught:
        ProducerSpec(TOPICS, rate_per_s=rate)
    assert caught.value.field == "rate_per_s" and isinstance(caught.value, InputError)


def test_record_size_above_the_broker_limit_is_refused() -> None:
    with pytest.raises(BomberInputError, match=r"record_size 2000000 B is above .* use record_size 1000000") as caught:
        ProducerSpec(TOPICS, record_size=2_000_000)
    assert caught.value.field == "record_size"
    ProducerSpec(TOPICS, record_size=MAX_RECORD_SIZE_BYTES)


def test_record_size_too_small_for_the_tag_is_refused() -> None:
    with pytest.raises(BomberInputError, match="record_size 50: .*at least") as caught:
        ProducerSpec(TOPICS, record_size=50)
    assert caught.value.field == "record_size"


@pytest.mark.parametrize(("kwargs", "field", "match"), [
    ({"num_threads": 0}, "num_threads", "num_threads 0"),
    ({"duration_s": 0}, "duration_s", "duration_s 0 must be above 0"),
    ({"num_messages": 0}, "num_messages", "num_messages 0"),
    ({"duration_s": None, "num_messages": None}, "duration_s", "neither duration_s nor num_messages"),
    ({"acks": "2"}, "acks", "acks '2'"),
])
def test_other_producer_settings_are_checked(kwargs: dict, field: str, match: str) -> None:
    with pytest.raises(BomberInputError, match=match) as caught:
        ProducerSpec(TOPICS, **kwargs)
    assert caught.value.field == field


def test_no_topic_is_refused() -> None:
    with pytest.raises(BomberInputError, match="no topic") as caught:
        ProducerSpec(())
    assert caught.value.field == "topics"


def test_runbook_run_plans_600_sends_at_100_ms() -> None:
    spec = ProducerSpec(TOPICS, rate_per_s=10, num_threads=1, duration_s=60)
    assert spec.thread_plan(0) == 600
    assert spec.thread_interval_s() == pytest.approx(0.1)


def test_total_rate_is_shared_by_the_threads() -> None:
    spec = ProducerSpec(TOPICS * 1, rate_per_s=40, num_threads=2, duration_s=3)
    assert spec.thread_interval_s() == pytest.approx(0.05)
    assert spec.thread_plan(0) + spec.thread_plan(1) == 120


def test_num_messages_is_per_topic_and_shared_by_the_threads() -> None:
    topics = ("a.generated-data-01.json", "a.generated-data-02.json")
    spec = ProducerSpec(topics, num_messages=25, num_threads=2, duration_s=None)
    assert [spec.thread_quota(0), spec.thread_quota(1)] == [13, 12]
    assert spec.thread_plan(0) + spec.thread_plan(1) == 25 * 2


def test_the_first_limit_reached_wins() -> None:
    spec = ProducerSpec(TOPICS, rate_per_s=10, duration_s=60, num_messages=100)
    assert spec.thread_plan(0) == 100
    assert ProducerSpec(TOPICS, rate_per_s=None, duration_s=10).thread_plan(0) is None  # unthrottled: the clock


def test_acks_all_makes_the_producer_idempotent() -> None:
    assert ProducerSpec(TOPICS).client_settings()["enable.idempotence"] is False
    assert ProducerSpec(TOPICS, acks="1").client_settings()["enable.idempotence"] is False
