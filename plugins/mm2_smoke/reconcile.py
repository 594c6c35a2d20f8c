"""Cross-step reconciliation: one step's checks read again in the light of another step's evidence.

The checklist calls this after collecting every step's checks; no step module reads another step's checks. Pure.
"""

from __future__ import annotations

from mm2_smoke.checks import Check, Status
from mm2_smoke.measured import Gap
from mm2_smoke.registry import spec

#: Step 1.4's exact count, and a check of step 1.2 (the counters it reconciles are every check of that step).
ON_TARGET, POLL = spec("messages_on_target"), spec("poll_total_increase")


def confirm_by_target_count(checks: list[Check]) -> list[Check]:
    """Step 1.2 against step 1.4's exact count, when 1.4 found every delivered message on the target:

    - a check left UNKNOWN by a counter reset becomes GO (the reset lost counts, not records: positive evidence from
      the target itself);
    - a NOGO becomes UNKNOWN, "metrics disagree with the target count": the chain carried every message, so the
      metrics (a lagging store, series that do not describe this chain) are what failed, not MM2.
    """
    count = next((c for c in checks if c.name == ON_TARGET.name), None)
    if count is None or count.status is not Status.GO:
        return checks
    out = []
    for c in checks:
        if c.step == POLL.step and c.gap is Gap.COUNTER_RESET:
            c = Check(c.step, c.name, c.value, c.threshold, Status.GO,
                      f"{c.evidence}; confirmed by step 1.4: every delivered message is on the target")
        elif c.step == POLL.step and c.status is Status.NOGO:
            c = Check(c.step, c.name, c.value, c.threshold, Status.UNKNOWN, c.evidence,
                      f"metrics disagree with the target count: step 1.4 found every delivered message on the target "
                      f"while {c.reason}", Gap.METRICS_DISAGREE)
        out.append(c)
    return out
