"""One in-memory Prometheus for the unit tests: what the code asks of a metrics store, answered from tables.

It has the three reads of :class:`~mm2_smoke.hooks.PrometheusHook` that the steps use (step 1.2's ``Prometheus``
protocol is ``query`` + ``query_samples``; step 1.3 also reads ``query_range``), duck-typed: this module imports no
plugin module but :mod:`mm2_smoke.measured` (the answers' types), so it follows the protocol wherever it lives.

Each read is configured on its own; a read that is not configured fails the test (the code asked for something the
test did not expect). Every call is recorded in ``calls``.

- ``query(promql)``: a ``max(timestamp(<selector>))`` query is answered from ``newest`` (one time for every selector,
  or a table by selector) when it is given; any other query from ``values`` (one value for every query, a table by
  PromQL, or a function of the PromQL). A float becomes ``Measured.of`` (NaN/±Inf: NO_DATA, as the hook reads it), a
  :class:`Measured` is returned as is, and nothing (absent from a table, or None) is an empty answer (NO_DATA).
- ``query_samples(selector, window_s, at_s)`` and ``query_range(promql, start_s, end_s, step_s)``: a function of the
  call's arguments returning the :class:`Ranges` (or the points of one series).
- ``down=True``: every read is UNREACHABLE, as the hook answers when Prometheus does not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mm2_smoke.measured import Gap, Measured, Ranges

#: How the store's instant answers read a selector's newest sample time (what the pre-flight's contract and step
#: 1.3's freshness ask).
TIMESTAMP_PREFIX, TIMESTAMP_SUFFIX = "max(timestamp(", "))"
NO_DATA_REASON = "no data: the query returned an empty result"
DOWN_REASON = "Prometheus unreachable (connection 'prometheus')"

Answer = float | Measured | None
Points = tuple[tuple[float, float], ...] | list[tuple[float, float]]


class FakePrometheus:
    """A metrics store answering from tables (see the module's doc).

    :param values: the instant answer to every query but the timestamp ones: one value for all, a table by PromQL,
        or a function of the PromQL; None: no instant query is expected.
    :param newest: the newest sample time of ``max(timestamp(<selector>))``: one for every selector, or a table by
        selector; None: such a query is answered from ``values`` like any other.
    :param samples: ``query_samples``' answer, a function of ``(selector, window_s, at_s)``.
    :param ranges: ``query_range``'s answer, a function of ``(promql, start_s, end_s, step_s)``; ``range_reads``
        counts the calls, this one included, when it runs.
    :param down: every read answers UNREACHABLE with ``down_reason``.
    """

    def __init__(self, *, values: float | Mapping[str, Answer] | Callable[[str], Answer] | None = None,
                 newest: float | Mapping[str, float] | None = None,
                 samples: Callable[[str, int, float], Ranges | Points] | None = None,
                 ranges: Callable[[str, float, float, float], Ranges | Points] | None = None,
                 down: bool = False, down_reason: str = DOWN_REASON) -> None:
        self.values, self.newest, self.samples, self.ranges = values, newest, samples, ranges
        self.down, self.down_reason = down, down_reason
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    # What the tests read back.
    def asked(self, method: str = "query") -> list[tuple[Any, ...]]:
        """The arguments of each call of ``method``, in order."""
        return [args for name, args in self.calls if name == method]

    @property
    def range_reads(self) -> int:
        return len(self.asked("query_range"))

    # The store's reads.
    def query(self, promql: str) -> Measured:
        self.calls.append(("query", (promql,)))
        if self.down:
            return Measured.missing(promql, Gap.UNREACHABLE, self.down_reason)
        if self.newest is not None and promql.startswith(TIMESTAMP_PREFIX) and promql.endswith(TIMESTAMP_SUFFIX):
            selector = promql.removeprefix(TIMESTAMP_PREFIX).removesuffix(TIMESTAMP_SUFFIX)
            newest = self.newest if isinstance(self.newest, int | float) else self.newest.get(selector)
            return _answer(promql, newest)
        if self.values is None:
            raise AssertionError(f"unexpected instant query {promql!r}: the test gave no instant answers")
        if isinstance(self.values, int | float):
            return _answer(promql, self.values)
        if isinstance(self.values, Mapping):
            return _answer(promql, self.values.get(promql))
        return _answer(promql, self.values(promql))

    def query_samples(self, selector: str, window_s: int, at_s: float) -> Ranges:
        self.calls.append(("query_samples", (selector, window_s, at_s)))
        if self.down:
            return Ranges(selector, gap=Gap.UNREACHABLE, reason=self.down_reason)
        if self.samples is None:
            raise AssertionError(f"unexpected raw-sample read of {selector!r}: the test gave no samples")
        return _ranges(selector, self.samples(selector, window_s, at_s))

    def query_range(self, promql: str, start_s: float, end_s: float, step_s: float) -> Ranges:
        self.calls.append(("query_range", (promql, start_s, end_s, step_s)))
        if self.down:
            return Ranges(promql, gap=Gap.UNREACHABLE, reason=self.down_reason)
        if self.ranges is None:
            raise AssertionError(f"unexpected range query {promql!r}: the test gave no ranges")
        return _ranges(promql, self.ranges(promql, start_s, end_s, step_s))


def _answer(promql: str, value: Answer) -> Measured:
    if isinstance(value, Measured):
        return value
    if value is None:
        return Measured.missing(promql, Gap.NO_DATA, NO_DATA_REASON)
    return Measured.of(promql, value)


def _ranges(source: str, answer: Ranges | Points) -> Ranges:
    return answer if isinstance(answer, Ranges) else Ranges(source, points=(tuple(answer),))
