"""Runbook step 1.1, variant B: Kafka's own producer benchmark (``kafka-producer-perf-test``).

Runs ``org.apache.kafka.tools.ProducerPerformance`` with ``java -cp <Kafka's jars>`` and parses its
final summary line::

    100 records sent, 10.0 records/sec (0.01 MB/sec), 4.21 ms avg latency, 35.00 ms max latency,
    3 ms 50th, 6 ms 95th, 35 ms 99th, 35 ms 99.9th.

Where Kafka's jars are: the ``classpath`` argument, else the ``KAFKA_TOOLS_CLASSPATH`` environment
variable (a Java classpath such as ``/opt/kafka/libs/*``; the local stack writes it to its
``airflow.env``), else ``$KAFKA_HOME/libs/*``. Java is ``$JAVA_HOME/bin/java`` or ``java`` on ``PATH``.

The connection comes as librdkafka settings (the Airflow ``kafka`` connection's extra) and is translated
to the Java client's. The SASL password goes into a temporary properties file (mode 0600, deleted
afterwards) passed with ``--producer.config``, never on the command line where ``ps`` would show it.
"""

from __future__ import annotations

import logging
import re
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mm2_smoke.errors import InputError, UnavailableError
from mm2_smoke.java_tools import (
    TOOLS_LOG4J2,
    KafkaToolsUnavailable,
    find_java,
    java_client_properties,
    tools_classpath,
    write_properties,
)
from mm2_smoke.message import MAX_RECORD_SIZE_BYTES

log = logging.getLogger(__name__)

MAIN_CLASS = "org.apache.kafka.tools.ProducerPerformance"
#: Exception lines of the tool's output kept in a result.
MAX_ERRORS_KEPT = 5
_TAIL_LINES = 15

_NUM = r"(NaN|-?[\d.,]+)"
SUMMARY_LINE = re.compile(
    rf"(?P<sent>\d+) records sent, {_NUM} records/sec \({_NUM} MB/sec\), {_NUM} ms avg latency, "
    rf"{_NUM} ms max latency, (?P<p50>\d+) ms 50th, (?P<p95>\d+) ms 95th, (?P<p99>\d+) ms 99th, "
    r"(?P<p999>\d+) ms 99\.9th"
)
_EXCEPTION_LINE = re.compile(r"^(?:Caused by: )?[a-z][\w.$]*\.[A-Z]\w*(?:Exception|Error)\b.*$", re.MULTILINE)


class PerfTestError(UnavailableError):
    """Kafka's producer benchmark could not run, or printed no summary; the message says why and what to do."""


class PerfToolsMissingError(PerfTestError, KafkaToolsUnavailable):
    """Java or Kafka's tools (``kafka-tools-*.jar``) are not available here."""


@dataclass(frozen=True)
class PerfSummary:
    """The numbers of ProducerPerformance's final line.

    :param records_sent: records acknowledged by the brokers (failed sends are not counted by the tool).
    :param records_per_sec: throughput in records per second.
    :param mb_per_sec: throughput in MB (2^20 bytes) per second.
    :param avg_latency_ms: average send-to-acknowledgement latency in ms (NaN when nothing was sent).
    :param max_latency_ms: maximum latency in ms.
    """

    records_sent: int
    records_per_sec: float
    mb_per_sec: float
    avg_latency_ms: float
    max_latency_ms: float
    p50_ms: int
    p95_ms: int
    p99_ms: int
    p999_ms: int


@dataclass(frozen=True)
class PerfTestResult:
    """One run of Kafka's producer benchmark.

    :param requested: ``--num-records``.
    :param throughput: ``--throughput`` in records per second (-1: unthrottled).
    :param wall_s: seconds the whole tool took, JVM start included.
    :param started_ms: wall clock when the tool was started (ms since the epoch): records are timestamped after.
    :param finished_ms: wall clock when it exited.
    :param first_errors: the first exception lines the tool printed (failed sends, authentication...).
    :param error_lines: how many exception lines it printed.
    """

    topic: str
    requested: int
    record_size: int
    throughput: float
    summary: PerfSummary
    wall_s: float
    started_ms: int = 0
    finished_ms: int = 0
    first_errors: list[str] = field(default_factory=list)
    error_lines: int = 0

    @property
    def failed(self) -> int:
        """Records not acknowledged (requested minus the tool's "records sent")."""
        return max(0, self.requested - self.summary.records_sent)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.error_lines == 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(failed=self.failed, ok=self.ok)
        return d

    def to_produce_result(self) -> Any:
        """The step 1.1 result in the DAG's shape (:class:`mm2_smoke.step_1_1_produce.ProduceResult`).

        The tool's records are not tagged and it does not say which failed: ``failed_seqs`` stays empty, and
        step 1.4 has to count records by time (from ``started_ms``), not by run tag.
        """
        from mm2_smoke.payloads import ProduceResult

        return ProduceResult(topic=self.topic, requested=self.requested, sent=self.requested,
                             delivered=self.summary.records_sent, failed=self.failed,
                             first_errors=list(self.first_errors), started_ms=self.started_ms,
                             finished_ms=self.finished_ms, achieved_rate=self.summary.records_per_sec,
                             tagged=False, variant="perf-test")


def _number(text: str) -> float:
    return float("nan") if text == "NaN" else float(text.replace(",", "."))


def parse_summary(output: str) -> PerfSummary:
    """The last final summary line in the tool's output (interim lines, without percentiles, are skipped).

    Accepts a decimal comma (a JVM in a French locale prints ``10,0 records/sec``).

    :raises PerfTestError: when the output has no final summary line.
    """
    matches = list(SUMMARY_LINE.finditer(output))
    if not matches:
        raise PerfTestError("ProducerPerformance printed no final summary line ('N records sent, ... ms 99.9th')")
    m = matches[-1]
    g = m.groups()
    return PerfSummary(records_sent=int(m["sent"]), records_per_sec=_number(g[1]), mb_per_sec=_number(g[2]),
                       avg_latency_ms=_number(g[3]), max_latency_ms=_number(g[4]), p50_ms=int(m["p50"]),
                       p95_ms=int(m["p95"]), p99_ms=int(m["p99"]), p999_ms=int(m["p999"]))


def exception_lines(output: str) -> list[str]:
    """The exception lines (``org.apache...SomeException: reason``) of the tool's output, in order."""
    return [m.group(0).strip() for m in _EXCEPTION_LINE.finditer(output)]


def build_command(java: str, classpath: str, topic: str, num_records: int, record_size: int, throughput: float,
                  config_file: Path, bootstrap_servers: str, acks: str = "all",
                  log_config: Path | None = None) -> list[str]:
    """The ``java ... ProducerPerformance`` command line; secrets stay in ``config_file``.

    The JVM's locale is English so that the numbers use a decimal point; ``log_config`` (a Log4j2 file,
    e.g. :data:`TOOLS_LOG4J2`) keeps the client's logs off stdout, as ``kafka-producer-perf-test.sh`` does.
    """
    rate = "-1" if throughput < 0 else f"{throughput:g}"
    logging_opt = [f"-Dlog4j2.configurationFile={log_config}"] if log_config else []
    return [java, "-Duser.language=en", "-Duser.country=US", *logging_opt, "-cp", classpath, MAIN_CLASS,
            "--topic", topic, "--num-records", str(num_records), "--record-size", str(record_size),
            "--throughput", rate, "--producer.config", str(config_file),
            "--producer-props", f"bootstrap.servers={bootstrap_servers}", f"acks={acks}"]


def _validate(topic: str, num_records: int, record_size: int, throughput: float, timeout_s: float) -> None:
    """:raises InputError: naming the argument of :func:`run_perf_test` that cannot be used."""
    if not topic:
        raise InputError("{field} is empty: give the topic to produce to", {"field": "topic"})
    if num_records < 1:
        raise InputError("{field}={value} must be 1 or more", {"field": "num_records"}, value=num_records)
    if not 1 <= record_size <= MAX_RECORD_SIZE_BYTES:
        raise InputError("{field}={value} B must be between 1 and {limit}", {"field": "record_size"},
                         value=record_size, limit=MAX_RECORD_SIZE_BYTES)
    if not (throughput > 0 or throughput == -1):
        raise InputError("{field}={value} must be above 0 (records per second), or -1 for unthrottled",
                         {"field": "throughput"}, value=throughput)
    if not timeout_s > 0:
        raise InputError("{field}={value} must be above 0", {"field": "timeout_s"}, value=timeout_s)


def _redacted_tail(text: str, secrets: list[str], lines: int = _TAIL_LINES) -> str:
    tail = "\n".join(text.strip().splitlines()[-lines:])
    for s in secrets:
        if s:
            tail = tail.replace(s, "***")
    return tail


def run_perf_test(client_config: dict[str, Any], topic: str, num_records: int, record_size: int = 1024,
                  throughput: float = -1, classpath: str | None = None, timeout_s: float = 300.0,
                  acks: str = "all", java: str | None = None) -> PerfTestResult:
    """Run Kafka's producer benchmark (runbook variant B) and return its summary.

    :param client_config: librdkafka settings of the source cluster (the ``kafka_source`` connection's extra):
        ``bootstrap.servers``, ``security.protocol``, ``sasl.mechanism``, ``sasl.username``, ``sasl.password``,
        ``ssl.ca.location``.
    :param topic: the topic to produce to (it must exist when the brokers do not auto-create topics).
    :param num_records: records to send (``--num-records``).
    :param record_size: bytes per record (``--record-size``, default 1024).
    :param throughput: records per second (``--throughput``); -1 (default) is unthrottled.
    :param classpath: Kafka's jars (default ``$KAFKA_TOOLS_CLASSPATH``, else ``$KAFKA_HOME/libs/*``).
    :param timeout_s: the tool is killed after this many seconds (default 300).
    :param acks: ``acks`` of the producer (default ``all``, as the runbook).
    :param java: the java executable (default ``$JAVA_HOME/bin/java`` or ``java`` on PATH).
    :return: the parsed summary; records the brokers did not acknowledge show as ``failed`` with the first
        exception lines in ``first_errors`` (not raised: they are the step's evidence).
    :raises PerfToolsMissingError: when Java or Kafka's tools are missing.
    :raises PerfTestError: when the tool fails, times out or prints no summary (with its output's tail).
    :raises InputError: on a bad argument or connection setting (its field names it).
    """
    _validate(topic, num_records, record_size, throughput, timeout_s)
    props = java_client_properties(client_config)
    try:
        java_bin = find_java(java)
        cp = tools_classpath(classpath)
    except KafkaToolsUnavailable as exc:
        raise PerfToolsMissingError(str(exc)) from None
    secrets = [str(client_config.get("sasl.password") or "")]
    with tempfile.TemporaryDirectory(prefix="mm2-smoke-perf-") as tmp:  # mode 0700, deleted with its files
        config_file = Path(tmp) / "producer.properties"
        write_properties(config_file, {k: v for k, v in props.items() if k != "bootstrap.servers"})
        log_config = Path(tmp) / "log4j2.properties"
        log_config.write_text(TOOLS_LOG4J2)
        cmd = build_command(java_bin, cp, topic, num_records, record_size, throughput, config_file,
                            props["bootstrap.servers"], acks, log_config)
        log.info("running %s --topic %s --num-records %d --record-size %d --throughput %s", MAIN_CLASS, topic,
                 num_records, record_size, cmd[cmd.index("--throughput") + 1])
        t0 = time.monotonic()
        started_ms = int(time.time() * 1000)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            out = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
            raise PerfTestError(f"ProducerPerformance did not finish within {timeout_s:g} s (killed); raise timeout_s "
                                f"or lower num_records; last output:\n{_redacted_tail(out, secrets)}") from None
        wall = time.monotonic() - t0
    output = proc.stdout + "\n" + proc.stderr
    try:
        summary = parse_summary(proc.stdout)
    except PerfTestError:
        raise PerfTestError(f"ProducerPerformance exited with code {proc.returncode} without a summary line; last "
                            f"output:\n{_redacted_tail(output, secrets)}") from None
    errors = exception_lines(output)
    distinct = list(dict.fromkeys(_redacted_tail(e, secrets, 1) for e in errors))
    return PerfTestResult(topic=topic, requested=num_records, record_size=record_size, throughput=throughput,
                          summary=summary, wall_s=round(wall, 3), started_ms=started_ms,
                          finished_ms=started_ms + int(wall * 1000), first_errors=distinct[:MAX_ERRORS_KEPT],
                          error_lines=len(errors))
