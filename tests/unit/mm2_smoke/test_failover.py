"""Failover arithmetic: MM2's record formats (bytes serialized by Kafka's own classes), its translation rule, the
switch rehearsal, the internal topics' names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mm2_smoke.failover import (
    OffsetSync,
    Placed,
    RecordFormatError,
    decode_checkpoint,
    decode_offset_sync,
    internal_topics,
    rehearse,
    translate,
)

RECORDS = json.loads((Path(__file__).resolve().parents[2] / "data" / "failover" / "records.json").read_text())


@pytest.mark.parametrize("name", ["checkpoint", "checkpoint_utf8"])
def test_checkpoints_decode_as_mm2_wrote_them(name: str) -> None:
    r = RECORDS[name]
    c = decode_checkpoint(bytes.fromhex(r["key"]), bytes.fromhex(r["value"]))
    assert (c.group, c.topic, c.partition, c.upstream, c.downstream, c.metadata) == (
        r["group"], r["topic"], r["partition"], r["upstream"], r["downstream"], r["metadata"])


def test_offset_syncs_decode_as_mm2_wrote_them() -> None:
    r = RECORDS["offset_sync"]
    s = decode_offset_sync(bytes.fromhex(r["key"]), bytes.fromhex(r["value"]))
    assert s == OffsetSync(r["topic"], r["partition"], r["upstream"], r["downstream"])


def test_records_not_in_mm2s_format_are_refused() -> None:
    r = RECORDS["checkpoint"]
    with pytest.raises(RecordFormatError, match="version 1"):
        decode_checkpoint(bytes.fromhex(r["key"]), bytes.fromhex("0001" + r["value"][4:]))
    with pytest.raises(RecordFormatError, match="end before"):
        decode_checkpoint(bytes.fromhex(r["key"])[:-1], bytes.fromhex(r["value"]))
    with pytest.raises(RecordFormatError, match="left after"):
        decode_offset_sync(bytes.fromhex(RECORDS["offset_sync"]["key"]), bytes.fromhex(RECORDS["offset_sync"]["value"])
                           + b"\x00")


def test_translation_is_mm2s_conservative_rule() -> None:
    syncs = [OffsetSync("t", 0, 0, 0), OffsetSync("t", 0, 100, 90), OffsetSync("t", 0, 200, 185)]
    assert translate(syncs, 100) == 90  # exactly at a sync
    assert translate(syncs, 150) == 91  # past a sync: one past its downstream, never further (may re-read)
    assert translate(syncs, 500) == 186
    assert translate([OffsetSync("t", 0, 50, 40)], 10) is None  # older than every sync: not translated
    assert translate([], 10) is None


def test_a_switch_at_a_conservative_offset_rereads_and_loses_nothing() -> None:
    # 10 messages at upstream 100..109 replicated at downstream 90..99; the group consumed all 10 (committed 110);
    # the newest sync is at (100, 90): MM2 translates 110 to 91.
    messages = [Placed(i, 100 + i, 90 + i) for i in range(10)]
    r = rehearse(messages, committed=110, translated=translate([OffsetSync("t", 0, 100, 90)], 110) or -1)
    assert (r.translated, r.would_lose, r.would_reread, r.not_on_target) == (91, 0, 9, 0)


def test_a_translation_ahead_of_the_group_loses_messages() -> None:
    messages = [Placed(i, 100 + i, 90 + i) for i in range(10)]
    r = rehearse(messages, committed=105, translated=97)  # the group stopped at 105 (downstream 95)
    assert (r.would_lose, r.would_reread) == (2, 0)  # downstream 95 and 96 skipped
    exact = rehearse(messages, committed=105, translated=95)
    assert (exact.would_lose, exact.would_reread) == (0, 0)
    partial = rehearse([Placed(1, 100, None), Placed(2, 101, 91)], committed=100, translated=91)
    assert (partial.not_on_target, partial.would_lose) == (1, 0)


@pytest.mark.parametrize("row", RECORDS["topic_names"])
def test_internal_topic_names_follow_the_policy(row: dict) -> None:
    t = internal_topics("source", "target", row["separator"], row["internal_separator"], row["location"])
    assert (t.checkpoints, t.offset_syncs, t.heartbeats) == (row["checkpoints"], row["offset_syncs"],
                                                              row["heartbeats"])
