"""The tasks' results as they travel between tasks (XCom, trigger kwargs) and into the report: one typed shape each.

Pure: no Airflow, no Kafka client, no other module of the package (every module may import this one). A step module
builds its result here and reads the results of the steps before it from here, never from another step module.

The shapes are :class:`typing.TypedDict` s: at run time they are the plain dicts XCom and the JSON report carry (their
keys are what scripts read: a key is never renamed or dropped here without them), and a type checker holds every
producer and consumer to them. A dataclass that carries one of them has ``to_dict``/``from_dict``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, NotRequired, TypedDict, cast


# --- values ----------------------------------------------------------------------------------------------------
class MeasuredDict(TypedDict):
    """:meth:`mm2_smoke.measured.Measured.to_dict`: a value, or why there is none (``gap``, ``reason``)."""

    source: str
    value: float | str | None  # a str for NaN/±Inf as read (JSON has no such numbers)
    gap: str | None  # a :class:`~mm2_smoke.measured.Gap` value
    reason: str
    series: int
    at_s: float | None


class GrowthDict(MeasuredDict):
    """:meth:`mm2_smoke.measured.Growth.to_dict`: a counter's growth over the run, counted across resets."""

    resets: int


class CheckDict(TypedDict):
    """:meth:`mm2_smoke.checks.Check.to_dict`: one line of evidence (the report's ``checks[]``)."""

    step: str
    name: str
    value: float | int | str | None  # a str for NaN/±Inf, and for words (a state, a trend)
    threshold: str
    status: str  # GO, NOGO or UNKNOWN
    evidence: str
    reason: str
    gap: str | None


# --- step 1.1 --------------------------------------------------------------------------------------------------
class E2eDict(TypedDict):
    """:meth:`mm2_smoke.e2e.Result.to_dict`: the one-clock end-to-end watch (step 1.1's ``e2e``)."""

    count: int
    p50: int | None
    p95: int | None
    p99: int | None
    max: int | None
    complete: bool
    ended: str
    last_arrival_s: float | None


class ProduceResultDict(TypedDict):
    """Step 1.1's XCom: :meth:`ProduceResult.to_dict` (its fields, one key each)."""

    topic: str
    requested: int
    sent: int
    delivered: int
    failed: int
    failed_seqs: list[int]
    first_errors: list[str]
    started_ms: int
    finished_ms: int
    achieved_rate: float
    tagged: bool
    variant: str
    setup_error: str
    run_tag: str
    e2e: E2eDict | None
    topic_created: str
    topic_new: bool


@dataclass
class ProduceResult:
    """What step 1.1 sent, and what the brokers acknowledged (acks=all): the step's XCom.

    :param failed_seqs: sequence numbers whose delivery report was an error (or never came).
    :param first_errors: the first delivery errors, as the client reported them.
    :param started_ms: wall clock when the first message was sent (ms since the epoch).
    :param finished_ms: wall clock when the last delivery report arrived.
    :param achieved_rate: messages sent per second over the production.
    :param tagged: the records carry the run tag (False for Kafka's perf-test: step 1.4 counts by time).
    :param variant: which producer made them (``bomber`` or ``perf-test``).
    :param setup_error: why nothing could be produced at all (connection, credentials, TLS, topic): the
        smoke test could not start, which is not evidence about the chain ('' when production ran).
    :param e2e: the one-clock end-to-end watch's result (:class:`mm2_smoke.e2e.Result`), None when none ran.
    :param topic_created: how step 1.1 created the missing test topic ('' when it existed).
    :param run_tag: the run id written in this attempt's messages (``<run id>`` on the first attempt,
        ``<run id>#try<n>`` on retry n): step 1.4 counts only these, so a retried step 1.1 is never counted twice.
    """

    topic: str
    requested: int
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    failed_seqs: list[int] = field(default_factory=list)
    first_errors: list[str] = field(default_factory=list)
    started_ms: int = 0
    finished_ms: int = 0
    achieved_rate: float = 0.0
    tagged: bool = True
    variant: str = "bomber"
    setup_error: str = ""
    run_tag: str = ""
    e2e: E2eDict | None = None
    topic_created: str = ""
    topic_new: bool = False  # the test topic was created for this run (by the pre-flight or here)

    def to_dict(self) -> ProduceResultDict:
        return cast(ProduceResultDict, asdict(self))

    @classmethod
    def from_dict(cls, d: ProduceResultDict) -> ProduceResult:
        return cls(**d)

    def delivered_seqs(self) -> list[int]:
        if not self.tagged:
            return []
        failed = set(self.failed_seqs)
        return [s for s in range(1, self.sent + 1) if s not in failed]


# --- step 1.2 --------------------------------------------------------------------------------------------------
class WaitProduced(TypedDict):
    """What of step 1.1's result step 1.2's wait reads (``step_1_2_replication.PRODUCED_FIELDS``): all the trigger
    gets of it. A :class:`ProduceResultDict` is one."""

    delivered: int
    started_ms: int
    finished_ms: int
    e2e: E2eDict | None
    topic_new: bool


class ReplicationEvent(TypedDict):
    """The trigger's one event: how the wait ended and the last reading, or ``status`` ``error`` and a message."""

    status: str  # an ``Outcome`` value, or ``error``
    decided_at_s: NotRequired[float]
    after: NotRequired[dict[str, MeasuredDict]]
    growth: NotRequired[dict[str, GrowthDict]]
    message: NotRequired[str]


class ReplicationResult(TypedDict):
    """Step 1.2's XCom (``step_1_2_replication.result``)."""

    outcome: str  # an ``Outcome`` value
    after: dict[str, MeasuredDict]  # the last reading, by measurement (``data_time``: the store's newest sample)
    before: dict[str, MeasuredDict]  # the counters before production (the pre-flight's)
    delivered: int
    growth: dict[str, GrowthDict]
    decided_at_s: float
    seconds_after_production: float
    arrivals: E2eDict | None  # step 1.1's one-clock watch
    data_after_production_s: float | None


# --- step 1.3 --------------------------------------------------------------------------------------------------
class LatencyBaseline(TypedDict):
    """Step 1.3's values (None: not measured), recorded as the run's baseline."""

    latency_avg_ms: float | None
    latency_max_ms: float | None
    lag: float | None
    offset_commit_max_ms: float | None
    lag_window: list[float]


class LatencyResult(TypedDict):
    """Step 1.3's XCom (``step_1_3_latency.latency_step``)."""

    checks: list[CheckDict]
    baseline: LatencyBaseline


# --- step 1.4 --------------------------------------------------------------------------------------------------
class CountResultDict(TypedDict):
    """Step 1.4's XCom: ``step_1_4_target_count.CountResult.to_dict``."""

    received: int
    missing: list[int]
    duplicates: list[int]
    foreign: int
    gap: str | None
    reason: str
    note: str
    untagged: bool


# --- the pre-flight --------------------------------------------------------------------------------------------
class FindingDict(TypedDict):
    """:meth:`mm2_smoke.chain.Finding.to_dict`: one thing found about the chain."""

    check: str
    status: str
    certain: bool
    message: str
    evidence: str
    value: str | None
    threshold: str


class PreflightReport(TypedDict):
    """The pre-flight's XCom ``report``, the report's ``preflight`` section (``preflight.Outcome.report``)."""

    status: str  # GO, NOGO, UNKNOWN, WARN or OFF
    findings: list[FindingDict]
    seconds: float
    metric_profile: str
    profile_detected: bool
    store_lag_s: float | None


class SetupDict(TypedDict):
    """The pre-flight's XCom ``setup`` (``preflight.Setup.to_dict``): the Params and connections as found."""

    settings: dict[str, Any] | None  # the validated settings (``SmokeSettings.to_dict()``)
    settings_error: str
    conns: str
    problems: list[str]
    tls: list[str]
    warnings: list[str]


# --- the checklist's report ------------------------------------------------------------------------------------
class ReportCounts(TypedDict):
    """The report's ``counts``."""

    produced: int | None
    delivered: int | None
    received: int | None
    missing: int | None
    duplicates: int | None
    missing_seqs: list[int]
    duplicate_seqs: list[int]
    foreign: int | None
    achieved_rate_msg_s: float | None


class E2eLatency(TypedDict):
    """The report's ``e2e_latency_ms`` (None each when no watch ran)."""

    p50: int | None
    p95: int | None
    p99: int | None
    max: int | None
    count: int | None


class ReportFiles(TypedDict):
    json: str
    markdown: str


# --- failover readiness ----------------------------------------------------------------------------------------
class FailoverResult(TypedDict):
    """The failover readiness task's XCom for one flow (``readiness.Readiness.to_dict`` plus ``group``, ``seconds``
    and ``reread_max``); None instead when the check is off for the flow or the flow produced nothing."""

    flow: str
    verdict: str  # READY, NOT READY or UNKNOWN (``readiness.READY``...)
    checkpoint_age_s: float | None
    translated: dict[str, int] | None  # partition (a str: JSON) -> the translated offset on the target
    would_lose: int | None
    would_reread: int | None
    heartbeat_age_s: float | None
    synced_on_target: bool | None
    diagnoses: list[dict[str, Any]]  # ``Diagnosis.to_dict()`` (with the ``flow``), most likely first
    reasons: list[str]
    group: str  # the smoke test's own consumer group ('' when the check could not run)
    seconds: float | None
    reread_max: int | None  # the most messages a switch may re-read and be READY (None: the check could not run)
    waited_s: NotRequired[float]  # how long the check waited for MM2's checkpoint
    config_from: NotRequired[str]  # where the checkpoint connector's config was read (``Connect REST`` or why not)


class FailoverFlow(TypedDict):
    """One flow in the report's ``failover.flows[]``: exactly these keys (:data:`FAILOVER_FLOW_KEYS`)."""

    flow: str
    verdict: str
    checkpoint_age_s: float | None
    translated: dict[str, int] | None
    would_lose: int | None
    would_reread: int | None
    heartbeat_age_s: float | None
    synced_on_target: bool | None
    diagnoses: list[dict[str, Any]]


#: The keys of a flow in the report's ``failover.flows[]``, in order.
FAILOVER_FLOW_KEYS: tuple[str, ...] = tuple(FailoverFlow.__annotations__)


class FailoverReport(TypedDict):
    """The report's ``failover`` (only when at least one flow has a readiness result): the run's readiness (NOT READY
    when a flow is, READY only when every flow listed is) and each flow that has a result, in flow order."""

    verdict: str
    flows: list[FailoverFlow]


class FailoverBaselineFlow(TypedDict):
    """One flow's readiness in the GO Asset event's ``failover`` (``checklist.baseline_event``)."""

    flow: str
    verdict: str
    would_reread: int | None
    checkpoint_age_s: float | None
    heartbeat_age_s: float | None


class FailoverBaseline(TypedDict):
    """The GO Asset event's ``failover``: the run's readiness and each flow's baseline values of it."""

    verdict: str
    flows: list[FailoverBaselineFlow]


class FlowReport(TypedDict):
    """One flow's block of the report (``flow_report.flow_block``): the flow (``"A->B"``), its verdict, counts,
    remote topic, checks and diagnoses, and what its checklist rows read."""

    flow: str
    verdict: str
    counts: ReportCounts
    remote_topic: str
    checks: list[CheckDict]
    diagnoses: list[dict[str, Any]]
    baseline: dict[str, Any]
    e2e_latency_ms: E2eLatency
    preflight: PreflightReport | None
    notes: list[str]
    failover: NotRequired[FailoverResult]  # the flow's failover readiness, as its task pushed it (when it did)


class SmokeReport(TypedDict):
    """The run's report (``report.build_report``): the ``checklist`` task's XCom, the JSON file, the alert's source;
    the ``nogo`` task's XCom ``report`` adds the ranked diagnoses."""

    dag_id: str
    run_id: str
    verdict: str
    started_at: str
    finished_at: str
    checks: list[CheckDict]
    failed_checks: list[CheckDict]
    preflight: PreflightReport | None
    counts: ReportCounts
    baseline: dict[str, Any]  # step 1.3's values and the registry's baseline fields (``CheckSpec.baseline``)
    e2e_latency_ms: E2eLatency
    replication_outcome: str | None
    replication_decided_s_after_production: float | None
    settings: dict[str, Any]  # ``SmokeSettings.to_dict()``
    notes: list[str]
    tls: list[str]
    report_files: NotRequired[ReportFiles]  # where the checklist task wrote it
    diagnoses: NotRequired[list[dict[str, Any]]]  # the nogo task's (``Diagnosis.to_dict()``), most likely first
    diagnosis_seconds: NotRequired[float]
    flows: NotRequired[list[FlowReport]]  # one block per flow checked (``flow_report.combine``)
    failover: NotRequired[FailoverReport]  # failover readiness, when a flow has a result (``flow_report.combine``)
