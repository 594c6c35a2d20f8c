"""Every error the smoke test raises on purpose, under one base class, with what it is about as data.

An error's words are for people; its attributes are for code. The message is a template whose ``{placeholders}``
name the inputs it is about (``fields``), so that each audience words it in its own terms without matching
strings: the bomber CLIs say ``--bootstrap-servers``, the DAG says ``bootstrap.servers (in the extra of Airflow
connection 'kafka_source')``, and a test asserts on ``exc.field``.

Pure: no Airflow, no Kafka client.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Self


class Mm2SmokeError(Exception):
    """Base of the smoke test's own errors.

    :param template: the message: a ``str.format`` template when ``fields`` or ``values`` are given (literal braces
        doubled), else the plain text.
    :param fields: placeholder -> the input it names (a Param, a librdkafka key, a spec field), in neutral terms.
    :param values: the template's other values.
    """

    def __init__(self, template: str, /, fields: Mapping[str, str] | None = None, **values: Any) -> None:
        self.template = template
        self.fields = dict(fields or {})
        self.values = values
        super().__init__(self.worded())

    @property
    def field(self) -> str | None:
        """The first input this error is about (None when it is about none)."""
        return next(iter(self.fields.values()), None)

    def worded(self, names: Mapping[str, str] | None = None) -> str:
        """The message, each field named as ``names`` says (its neutral name when absent)."""
        if not self.fields and not self.values:
            return self.template
        names = names or {}
        return self.template.format(**self.values, **{ph: names.get(f, f) for ph, f in self.fields.items()})

    def renamed(self, names: Mapping[str, str], suffix: str = "") -> Self:
        """The same error, worded for another audience (e.g. CLI flags for spec fields), plus ``suffix``."""
        other = copy.copy(self)
        other.args = (self.worded(names) + suffix,)
        return other

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class InputError(Mm2SmokeError, ValueError):
    """A value a person gave cannot be used; the message names it and says what to give instead."""


class SettingsError(InputError):
    """A smoke-test Param with an invalid value (``field`` is the Param)."""


class TopicNameError(InputError):
    """A topic prefix, alias or separator that cannot form a legal Kafka topic name."""


class MessageFormatError(InputError):
    """A run tag that cannot be encoded in the requested record size."""


class UnknownProfileError(InputError):
    """A metric naming profile that the catalog does not know."""


class ConnectionProblem(InputError):
    """An Airflow connection the smoke test needs is missing or unusable (known without connecting).

    :param conn_id: the connection.
    """

    def __init__(self, template: str, /, conn_id: str, fields: Mapping[str, str] | None = None,
                 **values: Any) -> None:
        self.conn_id = conn_id
        super().__init__(template, fields, conn_id=conn_id, **values)


class SetupError(InputError):
    """The run cannot start: its connections or Params are wrong. Nothing was produced.

    :param problems: every problem found, each naming its connection or Param and the fix.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("the run cannot start: {problems}", problems=" | ".join(self.problems))


class UnavailableError(Mm2SmokeError, RuntimeError):
    """A system the smoke test needs cannot be reached or used (brokers, Kafka's tools, the triggerer)."""


class SmokeTestNogo(Mm2SmokeError, RuntimeError):
    """The smoke test ended NOGO or UNKNOWN: the run fails so that failure callbacks alert.

    :param verdict: ``NOGO`` or ``UNKNOWN``.
    """

    def __init__(self, template: str, /, verdict: str, **values: Any) -> None:
        self.verdict = verdict
        super().__init__(template, verdict=verdict, **values)
