"""Prometheus answers become values only when they are finite numbers."""

from __future__ import annotations

import json
import math

from mm2_smoke.measured import Gap, Measured
from mm2_smoke.promql import parse_instant, parse_range


def vector(*values: str) -> str:
    return json.dumps({"status": "success", "data": {"resultType": "vector",
                                                     "result": [{"metric": {}, "value": [1.0, v]} for v in values]}})


def test_one_series_is_a_value() -> None:
    s = parse_instant("q", 200, vector("42.5"))
    assert s.ok and s.value == 42.5 and s.series == 1


def test_empty_vector_is_no_data() -> None:
    s = parse_instant("q", 200, vector())
    assert not s.ok and s.empty and s.gap is Gap.NO_DATA and "empty result" in s.reason


def test_nan_and_inf_are_no_data() -> None:
    for raw, word in (("NaN", "NaN"), ("-Inf", "-inf"), ("+Inf", "inf")):
        s = parse_instant("q", 200, vector(raw))
        assert not s.ok and not s.empty and s.gap is Gap.NO_DATA and word in s.reason


def test_string_value_is_an_error() -> None:
    s = parse_instant("q", 200, vector("twelve"))
    assert not s.ok and s.unreachable and "not a number" in s.reason


def test_http_500_and_non_json_are_errors_naming_the_status() -> None:
    s = parse_instant("q", 500, "<html>Internal Server Error</html>")
    assert not s.ok and s.unreachable and "HTTP 500" in s.reason and "non-JSON" in s.reason
    bad = parse_instant("q", 400, json.dumps({"status": "error", "errorType": "bad_data", "error": "parse error"}))
    assert "HTTP 400" in bad.reason and "parse error" in bad.reason


def test_several_series_must_be_aggregated() -> None:
    s = parse_instant("q", 200, vector("1", "2"))
    assert not s.ok and s.gap is Gap.AMBIGUOUS and s.series == 2 and "aggregate" in s.reason


def test_scalar_result() -> None:
    body = json.dumps({"status": "success", "data": {"resultType": "scalar", "result": [1.0, "3"]}})
    assert parse_instant("q", 200, body).value == 3.0


def test_sample_dict_round_trip_keeps_nan_and_the_gap() -> None:
    s = Measured.of("q", math.nan)
    d = s.to_dict()
    assert d["value"] == "nan" and d["gap"] == "no_data"
    json.dumps(d)
    back = Measured.from_dict(d)
    assert math.isnan(back.value) and back.gap is Gap.NO_DATA and not back.ok


def test_range() -> None:
    body = json.dumps({"status": "success", "data": {"resultType": "matrix",
                                                     "result": [{"metric": {}, "values": [[1, "0"], [2, "3"]]}]}})
    r = parse_range("q", 200, body)
    assert r.gap is None and r.points == (((1.0, 0.0), (2.0, 3.0)),) and r.values == [0.0, 3.0] and r.at_s == 2.0
    down = parse_range("q", 503, "down")
    assert down.unreachable and down.reason.startswith("Prometheus answered HTTP 503")


def test_range_reads_every_series_and_drops_nan() -> None:
    body = json.dumps({"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"task": "0"}, "values": [[1, "5"], [2, "NaN"], [3, "7"]]},
        {"metric": {"task": "1"}, "values": [[1, "1"]]}]}})
    r = parse_range("q", 200, body)
    assert r.gap is None and r.points == (((1.0, 5.0), (3.0, 7.0)), ((1.0, 1.0),)) and r.series == 2
    assert r.one().gap is Gap.AMBIGUOUS and r.one().values == []
    assert parse_range("q", 500, "oops").reason.startswith("Prometheus answered HTTP 500 with a non-JSON")
    assert "string" in parse_range("q", 200, json.dumps(
        {"status": "success", "data": {"resultType": "string", "result": [1, "x"]}})).reason


def test_empty_range_is_no_data() -> None:
    empty = parse_range("q", 200, json.dumps({"status": "success", "data": {"resultType": "matrix", "result": []}}))
    assert empty.gap is Gap.NO_DATA and empty.points == () and empty.one().values == []
