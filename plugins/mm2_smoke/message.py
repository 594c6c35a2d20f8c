"""The test message format, shared by the DAG's producer and consumer and by the bomber CLIs.

A test message's value is one JSON object, padded with ``x`` to the requested size::

    {"mm2smoke":1,"run":"<run id>","seq":7,"ts":1764300000123,"pid":"<producer id>","pad":"xxxx..."}

``run`` scopes the message to one smoke-test run, ``seq`` numbers it from 1 (loss and duplicates are
found by it), ``ts`` is the producer's wall clock at send time in ms (end-to-end latency is measured
against the consumer's clock: both are this host's when run on one machine, otherwise clock skew
adds to it), and ``pid`` names the producer (one per thread or task). The key is ``<run>:<seq>``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from mm2_smoke.errors import MessageFormatError

__all__ = ["FORMAT_VERSION", "MAGIC", "MAX_RECORD_SIZE_BYTES", "MessageFormatError", "RunTag", "decode", "encode",
           "parse_key"]

MAGIC = b'{"mm2smoke":1,'
FORMAT_VERSION = 1
#: Largest record value the smoke test and the bombers produce, in bytes: librdkafka's default
#: ``message.max.bytes`` is 1,000,000 and a broker's default ``message.max.bytes`` 1,048,588 (whole batch).
MAX_RECORD_SIZE_BYTES = 1_000_000
# Bytes of the envelope around the padding, beyond the variable fields.
_MIN_SIZE_SLACK = 16


@dataclass(frozen=True)
class RunTag:
    """What identifies one test message.

    :param run_id: the smoke-test run (Airflow run id, or the bomber's run id).
    :param seq: sequence number, from 1.
    :param ts_ms: producer wall clock at send time, in ms since the epoch.
    :param producer_id: which producer sent it (task or thread).
    """

    run_id: str
    seq: int
    ts_ms: int
    producer_id: str

    def key(self) -> bytes:
        """The record key: ``<run>:<seq>`` (read back by :func:`parse_key`)."""
        return f"{self.run_id}:{self.seq}".encode()


def parse_key(key: bytes | None) -> tuple[str, int] | None:
    """``(run id, seq)`` of a test message's key, or None for any other key."""
    if not key:
        return None
    run, sep, seq = key.decode("utf-8", "replace").rpartition(":")
    if not sep or not seq.isdigit():
        return None
    return run, int(seq)


def encode(tag: RunTag, size: int) -> bytes:
    """The message value of ``tag``, exactly ``size`` bytes long.

    :raises MessageFormatError: when the tag alone is longer than ``size``.
    """
    head = json.dumps(
        {"mm2smoke": FORMAT_VERSION, "run": tag.run_id, "seq": tag.seq, "ts": tag.ts_ms, "pid": tag.producer_id},
        separators=(",", ":"),
    ).encode()
    base = head[:-1] + b',"pad":""}'
    pad = size - len(base)
    if pad < 0:
        raise MessageFormatError("{field} {size} B is too small for the run tag ({tag} B): use a record size of at "
                                 "least {least} B or a shorter run id", {"field": "record size"}, size=size,
                                 tag=len(base), least=len(base) + _MIN_SIZE_SLACK)
    return head[:-1] + b',"pad":"' + b"x" * pad + b'"}'


def decode(value: bytes | None) -> RunTag | None:
    """The tag of a test message, or None for anything else (other producers, other formats)."""
    if not value or not value.startswith(MAGIC):
        return None
    try:
        doc = json.loads(value)
        return RunTag(run_id=str(doc["run"]), seq=int(doc["seq"]), ts_ms=int(doc["ts"]), producer_id=str(doc["pid"]))
    except (ValueError, KeyError, TypeError):
        return None
