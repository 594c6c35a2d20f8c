from __future__ import annotations

import importlib

from mm2_smoke.triggers import ReplicationTrigger


def test_trigger_serializes_to_its_class_path_and_every_argument() -> None:
    kwargs = dict(prometheus_conn_id="prometheus", settings={"num_messages": 100},
                  produced={"delivered": 100, "started_ms": 1764299990000, "finished_ms": 1764300000500})
    trigger = ReplicationTrigger(**kwargs)
    path, args = trigger.serialize()
    assert args == kwargs
    module, _, name = path.rpartition(".")
    clone = getattr(importlib.import_module(module), name)(**args)
    assert clone.serialize() == (path, args)
