"""A value or the reason there is none: never a number that could pass a threshold without being one."""

from __future__ import annotations

import json
import math

from mm2_smoke.measured import Gap, Growth, Measured, Ranges


def test_a_finite_value_is_ok_and_nan_or_inf_is_no_data() -> None:
    assert Measured.of("q", 3.0, at_s=12.0).ok
    for bad in (math.nan, math.inf, -math.inf):
        m = Measured.of("q", bad)
        assert not m.ok and m.gap is Gap.NO_DATA and not m.empty and m.series == 1


def test_missing_values_say_why_and_empty_is_an_answer_with_nothing() -> None:
    empty = Measured.missing("q", Gap.NO_DATA, "no data: the query returned an empty result")
    assert empty.empty and not empty.unreachable and not empty.ok
    down = Measured.missing("q", Gap.UNREACHABLE, "Prometheus unreachable")
    assert down.unreachable and not down.empty and down.with_reason("check it").reason == (
        "Prometheus unreachable (check it)")


def test_growth_and_measured_round_trip_through_json() -> None:
    g = Growth("sel", 104.0, series=2, at_s=99.0, resets=1)
    back = Growth.from_dict(json.loads(json.dumps(g.to_dict())))
    assert back == g
    nan = Measured.from_dict(json.loads(json.dumps(Measured.of("q", math.nan).to_dict())))
    assert math.isnan(nan.value) and nan.gap is Gap.NO_DATA
    # A result stored by an older version (unknown keys) still reads.
    assert Measured.from_dict({"source": "q", "value": 1, "extra": True}).value == 1.0


def test_ranges_pick_one_series_or_say_they_are_ambiguous() -> None:
    one = Ranges("q", series=1, points=(((1.0, 2.0), (2.0, 3.0)),))
    assert one.one() is one and one.values == [2.0, 3.0]
    two = Ranges("q", series=2, points=(((1.0, 2.0),), ((1.0, 5.0),)))
    assert two.one().gap is Gap.AMBIGUOUS and two.one().values == []


def test_number_is_the_value_only_when_it_is_usable() -> None:
    assert Measured.of("q", 3, at_s=1.0).number == 3.0
    assert Measured.of("q", 0.0).number == 0.0
    for unusable in (Measured.of("q", math.nan), Measured.of("q", math.inf),
                     Measured.missing("q", Gap.UNREACHABLE, "down"), Measured("q", 5.0, Gap.STALE, "old")):
        assert unusable.number is None
