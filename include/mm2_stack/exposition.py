"""Prometheus' text exposition format read back, and the PromQL shapes the catalog writes evaluated on it: enough to
check a metric profile's queries against a ``/metrics`` page recorded from a real exporter (``tests/data/metrics``),
and for the stack to read MM2's latency window live off the JMX exporter (``connect.exporter_values``).

Supported: series selectors (``name{label op "value", ...}`` with ``=``, ``!=``, ``=~``, ``!~``; a missing label reads
as ""), and ``sum``/``max``/``count`` of a selector, with ``by (label)``. Anything else raises ValueError.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)(?:\s+\d+)?$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?')
_AGG = re.compile(r"^(sum|max|count)(?: by \((\w+)\))?\s*\((.*)\)$", re.S)


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), value)


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


def parse(text: str) -> list[Sample]:
    """Every sample of an exposition page (comments skipped)."""
    out = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = _SAMPLE.match(line.strip())
        if m is None:
            raise ValueError(f"not a sample line: {line!r}")
        labels = {k: _unescape(v) for k, v in _LABEL.findall(m.group("labels") or "")}
        out.append(Sample(m.group("name"), labels, float(m.group("value"))))
    return out


def select(samples: list[Sample], selector: str) -> list[Sample]:
    """The samples a series selector matches."""
    name, _, rest = selector.partition("{")
    matchers = [(k, op, _unescape(v)) for k, op, v in _MATCHER.findall(rest.removesuffix("}"))] if rest else []

    def ok(s: Sample) -> bool:
        for label, op, value in matchers:
            actual = s.labels.get(label, "")
            hit = actual == value if op in ("=", "!=") else re.fullmatch(value, actual) is not None
            if hit != (op in ("=", "=~")):
                return False
        return True

    return [s for s in samples if s.name == name.strip() and ok(s)]


def evaluate(samples: list[Sample], query: str) -> dict[str, float]:
    """``sum``/``max``/``count`` of a selector (by one label, or to one value keyed ``""``); nested once for
    ``count(count by (x) (...))``."""
    m = _AGG.match(query.strip())
    if m is None:
        raise ValueError(f"unsupported query shape: {query}")
    op, by, inner = m.groups()
    inner = inner.strip()
    groups: dict[str, list[float]] = {}
    if _AGG.match(inner):
        if by:
            raise ValueError(f"unsupported query shape: {query}")
        groups[""] = list(evaluate(samples, inner).values())
    else:
        for s in select(samples, inner):
            groups.setdefault(s.labels.get(by, "") if by else "", []).append(s.value)
    fold = {"sum": lambda v: math.fsum(v), "max": max, "count": lambda v: float(len(v))}[op]
    return {k: fold(v) for k, v in groups.items()}
