"""Reading Prometheus answers truthfully: a value, or why there is none.

An empty vector, NaN, ±Inf, a non-JSON body, an HTTP error or an unreachable server never become a
number that could pass a threshold: they become a :class:`Sample` without a usable value and with a
reason.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Sample:
    """The answer to one instant PromQL query.

    :param query: the PromQL.
    :param value: the single value, possibly NaN or ±Inf; None when there is none.
    :param error: why the query could not be answered (HTTP, parse, connection); None when it was.
    :param series: number of series in the answer (0 = empty vector).
    """

    query: str
    value: float | None = None
    error: str | None = None
    series: int = 0

    @property
    def ok(self) -> bool:
        """True only for a finite number: the only thing a threshold may be compared with."""
        return self.error is None and self.value is not None and math.isfinite(self.value)

    @property
    def empty(self) -> bool:
        """The query was answered with no series (the metric does not exist, or has no data)."""
        return self.error is None and self.series == 0

    def reason(self) -> str:
        """Why this sample has no usable value ('' when it has one)."""
        if self.error is not None:
            return self.error
        if self.series == 0:
            return "no data: the query returned an empty result"
        if self.value is None:
            return "no value"
        if math.isnan(self.value):
            return "no data: the metric reads NaN (nothing recorded in its window)"
        if math.isinf(self.value):
            return f"no data: the metric reads {self.value}"
        return ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        # NaN/Inf are not JSON: keep them as strings.
        if self.value is not None and not math.isfinite(self.value):
            d["value"] = str(self.value)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Sample:
        value = d.get("value")
        return cls(query=d["query"], value=None if value is None else float(value), error=d.get("error"),
                   series=int(d.get("series", 0)))


def parse_instant(query: str, status_code: int, body: str | bytes) -> Sample:
    """Turn Prometheus' HTTP answer to ``/api/v1/query`` into a :class:`Sample`."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        doc = json.loads(text)
    except ValueError:
        snippet = text[:120].replace("\n", " ")
        return Sample(query, error=f"Prometheus answered HTTP {status_code} with a non-JSON body: {snippet!r}")
    if not isinstance(doc, dict):
        return Sample(query, error=f"Prometheus answered HTTP {status_code} with unexpected JSON")
    if status_code != 200 or doc.get("status") != "success":
        return Sample(query, error=f"Prometheus answered HTTP {status_code}: {doc.get('errorType', '')} "
                                   f"{doc.get('error', doc.get('status'))}".replace("  ", " "))
    data = doc.get("data") or {}
    kind = data.get("resultType")
    result = data.get("result")
    try:
        if kind == "scalar":
            return Sample(query, value=float(result[1]), series=1)
        if kind == "vector":
            if not result:
                return Sample(query, series=0)
            if len(result) > 1:
                return Sample(query, error=f"expected one series, got {len(result)}: aggregate the query",
                              series=len(result))
            return Sample(query, value=float(result[0]["value"][1]), series=1)
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        return Sample(query, error=f"Prometheus returned a value that is not a number: {exc}")
    return Sample(query, error=f"unexpected result type {kind!r}: use an instant vector or scalar query")


def parse_range(query: str, status_code: int, body: str | bytes) -> tuple[list[tuple[float, float]], str | None]:
    """Turn the answer to ``/api/v1/query_range`` of a one-series query into ``[(t, value)]`` or an error."""
    return one_series(*parse_range_series(query, status_code, body))


def one_series(series: list[list[tuple[float, float]]], error: str | None
               ) -> tuple[list[tuple[float, float]], str | None]:
    """The only series of a range answer (``[]`` when empty), or why there is not exactly one."""
    if error is not None:
        return [], error
    if len(series) > 1:
        return [], f"expected one series, got {len(series)}: aggregate the query"
    return (series[0] if series else []), None


def parse_range_series(query: str, status_code: int, body: str | bytes
                       ) -> tuple[list[list[tuple[float, float]]], str | None]:
    """Turn the answer to ``/api/v1/query_range`` into one ``[(t, value)]`` list per series, or an error.

    NaN and ±Inf points are dropped (a counter never reads them; a gauge that does has no value there).
    """
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        doc = json.loads(text)
    except ValueError:
        snippet = text[:120].replace("\n", " ")
        return [], f"Prometheus answered HTTP {status_code} with a non-JSON body: {snippet!r}"
    if status_code != 200 or not isinstance(doc, dict) or doc.get("status") != "success":
        detail = f"{doc.get('errorType', '')} {doc.get('error', doc.get('status'))}".strip() \
            if isinstance(doc, dict) else "unexpected JSON"
        return [], f"Prometheus answered HTTP {status_code}: {detail}"
    data = doc.get("data") or {}
    if data.get("resultType") != "matrix":
        return [], f"unexpected result type {data.get('resultType')!r} for a range query"
    out = []
    try:
        for series in data.get("result") or []:
            points = [(float(t), float(v)) for t, v in series["values"]]
            out.append([(t, v) for t, v in points if math.isfinite(v)])
    except (TypeError, ValueError, KeyError) as exc:
        return [], f"Prometheus returned a value that is not a number: {exc}"
    return out, None
