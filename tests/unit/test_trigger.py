from __future__ import annotations

import importlib

from mm2_smoke.triggers import ReplicationTrigger


def test_trigger_serializes_to_its_class_path_and_every_argument() -> None:
    kwargs = dict(prometheus_conn_id="prometheus", queries={"poll_total": "sum(x)"},
                  before={"poll_total": {"query": "sum(x)", "value": 1.0, "error": None, "series": 1}},
                  delivered=100, production_end_s=1764300000.5, settings={"num_messages": 100},
                  production_start_s=1764299990.0)
    trigger = ReplicationTrigger(**kwargs)
    path, args = trigger.serialize()
    assert args == kwargs
    module, _, name = path.rpartition(".")
    clone = getattr(importlib.import_module(module), name)(**args)
    assert clone.serialize() == (path, args)
