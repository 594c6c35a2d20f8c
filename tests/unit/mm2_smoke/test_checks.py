"""Checks and the overall verdict: GO only from positive evidence."""

from __future__ import annotations

import math

import pytest

from mm2_smoke.checks import Check, Status, below, overall, unknown_from
from mm2_smoke.measured import Gap, Measured


def test_overall_needs_positive_evidence() -> None:
    go = Check("1", "a", 1, "", Status.GO, "")
    unk = Check("1", "b", None, "", Status.UNKNOWN, "")
    nogo = Check("1", "c", 0, "", Status.NOGO, "")
    assert overall([go]) is Status.GO
    assert overall([]) is Status.UNKNOWN
    assert overall([go, unk]) is Status.UNKNOWN
    assert overall([go, unk, nogo]) is Status.NOGO


@pytest.mark.parametrize(("value", "status"), [(9.99, Status.GO), (10.0, Status.NOGO), (math.nan, Status.UNKNOWN),
                                               (math.inf, Status.UNKNOWN)])
def test_below_is_strict_and_never_passes_without_a_finite_value(value: float, status: Status) -> None:
    assert below("1.3", "x", Measured.of("q", value), 10, " ms").status is status


def test_unknown_checks_carry_the_gap_and_round_trip_through_json() -> None:
    c = unknown_from("1.2", "x", "> 1", Measured.missing("q", Gap.UNREACHABLE, "Prometheus unreachable"))
    assert c.status is Status.UNKNOWN and c.gap is Gap.UNREACHABLE and c.evidence == "q"
    d = c.to_dict()
    assert d["gap"] == "unreachable" and d["status"] == "UNKNOWN"
    assert Check.from_dict(d) == c
    go = Check("1.1", "y", 3, "3", Status.GO, "ev")
    assert Check.from_dict(go.to_dict()) == go
