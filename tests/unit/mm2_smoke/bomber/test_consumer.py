"""The consumer bomber's spec: its checks name the spec field; the partitions dealt to the reading threads."""

from __future__ import annotations

import pytest

from mm2_smoke.bomber.client import BomberInputError
from mm2_smoke.bomber.consumer import ConsumerSpec, share_partitions

TOPICS = ("test-prometheus.generated-data-01.json",)


@pytest.mark.parametrize(("kwargs", "field", "match"), [
    ({"num_consumers": 0}, "num_consumers", "num_consumers 0"),
    ({"auto_offset_reset": "smallest"}, "auto_offset_reset", "auto_offset_reset 'smallest'"),
    ({"expect_per_topic": 0}, "expect_per_topic", "expect_per_topic 0"),
    ({"until_end": True, "auto_offset_reset": "latest"}, "until_end", "nothing to read"),
    ({"duration_s": None}, "until_end", "nothing would stop the consumer"),
])
def test_consumer_settings_are_checked(kwargs: dict, field: str, match: str) -> None:
    with pytest.raises(BomberInputError, match=match) as caught:
        ConsumerSpec(TOPICS, **kwargs)
    assert caught.value.field == field


def test_partitions_are_dealt_round_robin() -> None:
    shares = share_partitions({"b": [0], "a": [0, 1, 2]}, 2)
    assert shares == [[("a", 0), ("a", 2)], [("a", 1), ("b", 0)]]
    assert share_partitions({"a": [0]}, 3)[1:] == [[], []]


def test_the_reader_never_commits() -> None:
    settings = ConsumerSpec(TOPICS, auto_offset_reset="latest").client_settings()
    assert settings["enable.auto.commit"] is False and settings["auto.offset.reset"] == "latest"
