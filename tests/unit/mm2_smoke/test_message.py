from __future__ import annotations

import pytest

from mm2_smoke.message import MessageFormatError, RunTag, decode, encode


@pytest.mark.parametrize("size", [120, 1024, 65536])
def test_encode_pads_to_exact_size_and_round_trips(size: int) -> None:
    tag = RunTag("manual__2026-11-28T04:00:00+00:00", 42, 1764302400123, "dag-producer-0")
    value = encode(tag, size)
    assert len(value) == size
    assert decode(value) == tag
    assert tag.key() == b"manual__2026-11-28T04:00:00+00:00:42"


def test_too_small_size_names_the_minimum() -> None:
    with pytest.raises(MessageFormatError, match=r"record size 50 B is too small .* at least \d+ B"):
        encode(RunTag("run", 1, 0, "p"), 50)


@pytest.mark.parametrize("value", [None, b"", b"hello", b'{"other":1}', b'{"mm2smoke":1,"run":"r"}',
                                   b'{"mm2smoke":1, broken'])
def test_foreign_or_broken_messages_decode_to_none(value) -> None:
    assert decode(value) is None
