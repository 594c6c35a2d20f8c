"""Prometheus answers become values only when they are finite numbers."""

from __future__ import annotations

import json
import math

from mm2_smoke.promql import Sample, parse_instant, parse_range


def vector(*values: str) -> str:
    return json.dumps({"status": "success", "data": {"resultType": "vector",
                                                     "result": [{"metric": {}, "value": [1.0, v]} for v in values]}})


def test_one_series_is_a_value() -> None:
    s = parse_instant("q", 200, vector("42.5"))
    assert s.ok and s.value == 42.5 and s.series == 1


def test_empty_vector_is_no_data() -> None:
    s = parse_instant("q", 200, vector())
    assert not s.ok and s.empty and "empty result" in s.reason()


def test_nan_and_inf_are_no_data() -> None:
    for raw, word in (("NaN", "NaN"), ("-Inf", "-inf"), ("+Inf", "inf")):
        s = parse_instant("q", 200, vector(raw))
        assert not s.ok and word in s.reason()


def test_string_value_is_an_error() -> None:
    s = parse_instant("q", 200, vector("twelve"))
    assert not s.ok and "not a number" in s.error


def test_http_500_and_non_json_are_errors_naming_the_status() -> None:
    s = parse_instant("q", 500, "<html>Internal Server Error</html>")
    assert not s.ok and "HTTP 500" in s.error and "non-JSON" in s.error
    bad = parse_instant("q", 400, json.dumps({"status": "error", "errorType": "bad_data", "error": "parse error"}))
    assert "HTTP 400" in bad.error and "parse error" in bad.error


def test_several_series_must_be_aggregated() -> None:
    s = parse_instant("q", 200, vector("1", "2"))
    assert not s.ok and "aggregate" in s.error


def test_scalar_result() -> None:
    body = json.dumps({"status": "success", "data": {"resultType": "scalar", "result": [1.0, "3"]}})
    assert parse_instant("q", 200, body).value == 3.0


def test_sample_dict_round_trip_keeps_nan() -> None:
    s = Sample("q", value=math.nan, series=1)
    d = s.to_dict()
    assert d["value"] == "nan"
    json.dumps(d)
    assert math.isnan(Sample.from_dict(d).value)


def test_range() -> None:
    body = json.dumps({"status": "success", "data": {"resultType": "matrix",
                                                     "result": [{"metric": {}, "values": [[1, "0"], [2, "3"]]}]}})
    assert parse_range("q", 200, body) == ([(1.0, 0.0), (2.0, 3.0)], None)
    assert parse_range("q", 503, "down")[1].startswith("Prometheus answered HTTP 503")
