"""A task instance for unit tests of code that pulls XComs: its XComs a table, every pull recorded."""

from __future__ import annotations

from typing import Any


class XcomTable:
    """XComs as a table: (task id, key, map index) -> value; every pull recorded in ``pulled``."""

    def __init__(self, xcoms: dict[tuple[str, str, int | None], Any]) -> None:
        self.xcoms, self.pulled = xcoms, []

    def xcom_pull(self, task_ids: str, key: str = "return_value", map_indexes: int | None = None) -> Any:
        self.pulled.append((task_ids, key, map_indexes))
        return self.xcoms.get((task_ids, key, map_indexes))
