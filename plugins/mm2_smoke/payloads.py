"""The tasks' results as they travel between tasks (XCom, trigger kwargs) and into the report: one typed shape each.

Pure: no Airflow, no Kafka client. A step module builds its result here and reads the results of the steps before
it from here, never from another step module.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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
    e2e: dict[str, Any] | None = None
    topic_created: str = ""
    topic_new: bool = False  # the test topic was created for this run (by the pre-flight or here)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def delivered_seqs(self) -> list[int]:
        if not self.tagged:
            return []
        failed = set(self.failed_seqs)
        return [s for s in range(1, self.sent + 1) if s not in failed]
