"""An in-memory Kafka Connect REST API for the unit tests: ``get_json(path)`` as the hooks answer it
(:class:`~mm2_smoke.measured.HttpAnswer`), every path asked recorded in ``asked``."""

from __future__ import annotations

from collections.abc import Mapping

from mm2_smoke.measured import HttpAnswer


class FakeConnect:
    """Connect REST answering from a table by the path's last segment (``status``, ``config``, ``tasks``), or with one
    answer for every path (a worker that does not answer: ``HttpAnswer(None, error=...)``). A path the table does not
    hold fails the test.
    """

    def __init__(self, answers: Mapping[str, HttpAnswer] | HttpAnswer) -> None:
        self.answers, self.asked = answers, []

    def get_json(self, path: str) -> HttpAnswer:
        self.asked.append(path)
        if isinstance(self.answers, HttpAnswer):
            return self.answers
        last = path.rsplit("/", 1)[1]
        if last not in self.answers:
            raise AssertionError(f"unexpected Connect REST call {path!r}: the test answers {sorted(self.answers)}")
        return self.answers[last]
