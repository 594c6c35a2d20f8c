"""One shape for "a measured value, or the reason there is none", used by every step.

A value that could not be measured is never a number that could pass a threshold: it is a :class:`Measured`
without a usable value, with a :class:`Gap` (why, for code) and a ``reason`` (why, for people). Checks built
from it are UNKNOWN and carry the same gap, so that later logic (e.g. step 1.4 confirming a step 1.2 shortfall
after a counter reset) decides on the gap, never on the words.

Pure: no Airflow, no Kafka client.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum
from typing import Any, Self, cast

from mm2_smoke.payloads import GrowthDict, MeasuredDict


class Gap(StrEnum):
    """Why a value is missing."""

    #: The source answered, but without a usable value: an empty result, NaN, ±Inf, no sample in the window.
    NO_DATA = "no_data"
    #: The source could not be asked, or its answer could not be read (transport, HTTP error, not its API).
    UNREACHABLE = "unreachable"
    #: More than one series answered where one was expected: the query must aggregate.
    AMBIGUOUS = "ambiguous"
    #: A counter reset (MM2 task restart) in the window may have lost counts: a shortfall is not evidence of loss.
    COUNTER_RESET = "counter_reset"
    #: An earlier step gave nothing to measure (e.g. step 1.1 delivered no message).
    NOT_MEASURED = "not_measured"
    #: The newest sample is older than the period the value must describe (a store that lags, a series no longer
    #: scraped): not evidence yet.
    STALE = "stale"
    #: The metrics say one thing and the target's exact count another: the metrics are not trusted.
    METRICS_DISAGREE = "metrics_disagree"
    #: The smoke test's own input or connection is wrong (credentials, host, TLS, record size): nothing about the
    #: chain was measured.
    OWN_SETUP = "own_setup"


@dataclass(frozen=True)
class Measured:
    """A measured value, or why there is none.

    :param source: the PromQL, probe or step that produced it (the evidence a report shows).
    :param value: the value; None when there is none. A float may be NaN or ±Inf as read (never usable).
    :param gap: why there is no usable value; None when there is one.
    :param reason: the gap in words, naming what to check ('' when there is a value).
    :param series: how many series (or items) the answer held; 0 for an empty answer.
    :param at_s: time of the newest sample behind the value (seconds since the epoch), when known.
    """

    source: str = ""
    value: float | None = None
    gap: Gap | None = None
    reason: str = ""
    series: int = 0
    at_s: float | None = None

    @classmethod
    def of(cls, source: str, value: float, series: int = 1, at_s: float | None = None) -> Self:
        """A value as read (a NaN or ±Inf becomes a NO_DATA gap with its reason)."""
        if isinstance(value, float) and not math.isfinite(value):
            what = "NaN (nothing recorded in its window)" if math.isnan(value) else str(value)
            return cls(source, value, Gap.NO_DATA, f"no data: the metric reads {what}", series, at_s)
        return cls(source, value, None, "", series, at_s)

    @classmethod
    def missing(cls, source: str, gap: Gap, reason: str, series: int = 0) -> Self:
        """No value, and why."""
        return cls(source, None, gap, reason, series)

    @property
    def ok(self) -> bool:
        """True only for a finite number: the only thing a threshold may be compared with."""
        return self.gap is None and self.value is not None and math.isfinite(self.value)

    @property
    def number(self) -> float | None:
        """The value when it is :attr:`ok` (a finite number), else None: what a threshold or a clock may use."""
        return float(self.value) if self.ok and self.value is not None else None

    @property
    def empty(self) -> bool:
        """The source answered with nothing at all (e.g. a per-topic counter before its topic's first record)."""
        return self.gap is Gap.NO_DATA and self.series == 0

    @property
    def unreachable(self) -> bool:
        return self.gap is Gap.UNREACHABLE

    def with_reason(self, extra: str) -> Self:
        """The same gap with ``extra`` appended to its reason."""
        return replace(self, reason=f"{self.reason} ({extra})")

    def to_dict(self) -> MeasuredDict:
        d = asdict(self)
        # NaN/Inf are not JSON: keep them as strings.
        if self.value is not None and not math.isfinite(self.value):
            d["value"] = str(self.value)
        return cast(MeasuredDict, d)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Self:
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in d.items() if k in known}
        if data.get("value") is not None:
            data["value"] = float(data["value"])
        if data.get("gap") is not None:
            data["gap"] = Gap(data["gap"])
        return cls(**data)


@dataclass(frozen=True)
class Growth(Measured):
    """How much a counter grew over a window, counted across resets; or why it cannot be known.

    :param resets: resets seen in the window (a restarted MM2 task starts its counters from 0).
    """

    resets: int = 0

    def to_dict(self) -> GrowthDict:
        return cast(GrowthDict, super().to_dict())


@dataclass(frozen=True)
class Ranges(Measured):
    """The answer to a range query: the points of each series (NaN and ±Inf dropped), or why there are none.

    :param points: one ``[(t, value), ...]`` list per series, oldest first.
    """

    points: tuple[tuple[tuple[float, float], ...], ...] = ()

    def one(self) -> Ranges:
        """This answer with exactly one series' points (none when empty), or an AMBIGUOUS gap."""
        if self.gap is None and len(self.points) > 1:
            return replace(self, gap=Gap.AMBIGUOUS, points=(),
                           reason=f"expected one series, got {len(self.points)}: aggregate the query")
        return self

    @property
    def values(self) -> list[float]:
        """The values of the first series, oldest first ([] when there is none)."""
        return [v for _t, v in self.points[0]] if self.points else []


@dataclass(frozen=True)
class HttpAnswer:
    """One answer of an HTTP API, as the hooks return it: its status and decoded body, or why nothing answered.

    :param status: the HTTP status; None when the service could not be reached.
    :param body: the decoded JSON (or the text, when it is not JSON).
    :param error: why nothing answered (None when something did), naming the connection and what to check.
    """

    status: int | None
    body: Any = None
    error: str | None = None
