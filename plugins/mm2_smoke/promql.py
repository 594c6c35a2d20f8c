"""Reading Prometheus answers truthfully: a value, or why there is none.

An empty vector, NaN, ±Inf, a non-JSON body, an HTTP error or an unreachable server never become a
number that could pass a threshold: they become a :class:`~mm2_smoke.measured.Measured` without a usable
value, with its gap and reason. Pure: no Airflow, no HTTP client.
"""

from __future__ import annotations

import json
import math
from typing import Any, Protocol

from mm2_smoke.measured import Gap, Measured, Ranges


class Prometheus(Protocol):
    """What the steps and the pre-flight read of a Prometheus-compatible store
    (:class:`~mm2_smoke.hooks.PrometheusHook`; the tests' fake store)."""

    def query(self, promql: str) -> Measured: ...

    def query_samples(self, selector: str, window_s: int, at_s: float) -> Ranges: ...

    def query_range(self, promql: str, start_s: float, end_s: float, step_s: float) -> Ranges: ...


def _document(status_code: int, body: str | bytes) -> tuple[dict[str, Any] | None, str]:
    """The JSON document of a successful answer, or (None, why it is not one)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        doc = json.loads(text)
    except ValueError:
        snippet = text[:120].replace("\n", " ")
        return None, f"Prometheus answered HTTP {status_code} with a non-JSON body: {snippet!r}"
    if not isinstance(doc, dict):
        return None, f"Prometheus answered HTTP {status_code} with unexpected JSON"
    if status_code != 200 or doc.get("status") != "success":
        detail = f"{doc.get('errorType', '')} {doc.get('error', doc.get('status'))}".strip()
        return None, f"Prometheus answered HTTP {status_code}: {detail}"
    return doc, ""


def parse_instant(query: str, status_code: int, body: str | bytes) -> Measured:
    """Turn Prometheus' HTTP answer to ``/api/v1/query`` of a one-series query into a :class:`Measured`.

    The value's ``at_s`` is the evaluation time Prometheus reports with it.
    """
    doc, why = _document(status_code, body)
    if doc is None:
        return Measured.missing(query, Gap.UNREACHABLE, why)
    data = doc.get("data") or {}
    kind = data.get("resultType")
    result = data.get("result")
    try:
        if kind == "scalar":
            return Measured.of(query, float(result[1]), at_s=float(result[0]))
        if kind == "vector":
            if not result:
                return Measured.missing(query, Gap.NO_DATA, "no data: the query returned an empty result")
            if len(result) > 1:
                return Measured.missing(query, Gap.AMBIGUOUS, f"expected one series, got {len(result)}: "
                                        "aggregate the query", series=len(result))
            t, v = result[0]["value"]
            return Measured.of(query, float(v), at_s=float(t))
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        return Measured.missing(query, Gap.UNREACHABLE, f"Prometheus returned a value that is not a number: {exc}")
    return Measured.missing(query, Gap.UNREACHABLE,
                            f"unexpected result type {kind!r}: use an instant vector or scalar query")


def parse_range(query: str, status_code: int, body: str | bytes) -> Ranges:
    """Turn a matrix answer (``/api/v1/query_range``, or an instant query of a range selector) into each series' points.

    NaN and ±Inf points are dropped (a counter never reads them; a gauge that does has no value there).
    An answer with no series is a NO_DATA gap.
    """
    doc, why = _document(status_code, body)
    if doc is None:
        return Ranges(query, gap=Gap.UNREACHABLE, reason=why)
    data = doc.get("data") or {}
    if data.get("resultType") != "matrix":
        return Ranges(query, gap=Gap.UNREACHABLE, reason=f"unexpected result type {data.get('resultType')!r} for a "
                      "range query")
    out = []
    try:
        for series in data.get("result") or []:
            points = [(float(t), float(v)) for t, v in series["values"]]
            out.append(tuple((t, v) for t, v in points if math.isfinite(v)))
    except (TypeError, ValueError, KeyError) as exc:
        return Ranges(query, gap=Gap.UNREACHABLE, reason=f"Prometheus returned a value that is not a number: {exc}")
    if not out:
        return Ranges(query, gap=Gap.NO_DATA, reason="no data: no series in the window")
    return Ranges(query, series=len(out), points=tuple(out),
                  at_s=max((p[-1][0] for p in out if p), default=None))
