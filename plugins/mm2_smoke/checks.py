"""Checks and verdicts: one line of evidence per check, three verdicts, never two. Pure: no I/O, no Airflow.

GO needs positive evidence; NOGO is evidence of a fault; UNKNOWN is "could not measure". Every check records
its step, name, measured value, threshold, status and the query or probe that produced it; an UNKNOWN check
also carries the :class:`~mm2_smoke.measured.Gap` that made it so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import cast

from mm2_smoke.measured import Gap, Measured
from mm2_smoke.payloads import CheckDict


class Status(StrEnum):
    GO = "GO"
    NOGO = "NOGO"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class Check:
    """One line of evidence.

    :param step: runbook step (``pre``, ``1.1`` .. ``1.4``).
    :param name: what was checked (stable identifier, e.g. ``poll_total_increase``).
    :param value: measured value (None when nothing could be measured).
    :param threshold: the GO condition, in words (``> 99 %``).
    :param status: GO, NOGO or UNKNOWN.
    :param evidence: the PromQL or probe that produced the value.
    :param reason: why it is not GO (empty for GO).
    :param gap: why nothing could be measured, for an UNKNOWN check (None otherwise).
    """

    step: str
    name: str
    value: float | int | str | None
    threshold: str
    status: Status
    evidence: str
    reason: str = ""
    gap: Gap | None = None

    def to_dict(self) -> CheckDict:
        d = asdict(self)
        d["status"] = self.status.value
        d["gap"] = self.gap.value if self.gap is not None else None
        if isinstance(self.value, float) and not math.isfinite(self.value):
            d["value"] = str(self.value)
        return cast(CheckDict, d)

    @classmethod
    def from_dict(cls, d: CheckDict) -> Check:
        gap = d.get("gap")
        return cls(d["step"], d["name"], d["value"], d["threshold"], Status(d["status"]), d["evidence"],
                   d.get("reason", ""), Gap(gap) if gap else None)


def overall(checks: Iterable[Check]) -> Status:
    """NOGO if any check is NOGO, else UNKNOWN if any is UNKNOWN (or there are none), else GO."""
    return combined(c.status for c in checks)


def combined(statuses: Iterable[Status]) -> Status:
    """NOGO if any status is NOGO, else UNKNOWN if any is UNKNOWN (or there are none), else GO."""
    statuses = list(statuses)
    if Status.NOGO in statuses:
        return Status.NOGO
    if not statuses or Status.UNKNOWN in statuses:
        return Status.UNKNOWN
    return Status.GO


def unknown(step: str, name: str, threshold: str, evidence: str, reason: str, gap: Gap = Gap.NO_DATA,
            value: float | int | str | None = None) -> Check:
    """An UNKNOWN check: nothing (usable) could be measured, and why."""
    return Check(step, name, value, threshold, Status.UNKNOWN, evidence, reason, gap)


def unknown_from(step: str, name: str, threshold: str, measured: Measured) -> Check:
    """The UNKNOWN check of a value that could not be measured (its gap, reason and source)."""
    return unknown(step, name, threshold, measured.source, measured.reason, measured.gap or Gap.NO_DATA)


def below(step: str, name: str, measured: Measured, limit: float, unit: str = "") -> Check:
    """GO when the measured value is below ``limit``; NOGO at or above; UNKNOWN without a value."""
    threshold = f"< {limit:g}{unit}"
    value = measured.number
    if value is None:
        return unknown_from(step, name, threshold, measured)
    if value < limit:
        return Check(step, name, value, threshold, Status.GO, measured.source)
    return Check(step, name, value, threshold, Status.NOGO, measured.source,
                 f"{value:g}{unit} is not below {limit:g}{unit}")
