from __future__ import annotations

import importlib
import inspect
import re

from mm2_smoke import step_1_2_replication as step
from mm2_smoke import triggers
from mm2_smoke.settings import SETTINGS, SmokeSettings, from_params
from mm2_smoke.triggers import ReplicationTrigger

PRODUCED = {"delivered": 100, "started_ms": 1764299990000, "finished_ms": 1764300000500,
            "e2e": {"count": 100, "complete": True}, "topic_new": True}


def _recreated(trigger: ReplicationTrigger) -> ReplicationTrigger:
    """The trigger as Airflow re-creates it from its row: the class at the path, called with the kwargs."""
    path, args = trigger.serialize()
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)(**args)


def test_trigger_serializes_to_its_class_path_and_every_argument() -> None:
    kwargs = dict(prometheus_conn_id="prometheus", settings={"metric_profile": "runbook", "poke_interval_s": 1.0},
                  **PRODUCED)
    trigger = ReplicationTrigger(**kwargs)
    path, args = trigger.serialize()
    assert args == kwargs
    assert _recreated(trigger).serialize() == (path, args)


def test_a_trigger_row_written_with_whole_produced_and_settings_dicts_still_loads_with_what_the_wait_reads() -> None:
    settings = SmokeSettings(metric_profile="strimzi", write_stall_timeout_s=7).to_dict()
    old = ReplicationTrigger(prometheus_conn_id="prometheus", settings=settings,
                             produced={**PRODUCED, "sent": 100, "first_errors": []})
    assert old.produced == PRODUCED
    assert old.settings == {k: settings[k] for k in step.SETTINGS_FIELDS}
    path, args = old.serialize()
    assert "produced" not in args and args["delivered"] == 100
    assert _recreated(old).serialize() == (path, args)


#: Settings whose other values have a shape of their own.
SPECIAL = {"flows": "A->B", "cluster_connections": '{"A": "kafka_a", "B": "kafka_b"}'}


def _every_setting_not_its_default() -> dict[str, object]:
    defaults = SmokeSettings()
    out: dict[str, object] = {}
    for s in SETTINGS:
        value = getattr(defaults, s.name)
        if s.name in SPECIAL:
            out[s.name] = SPECIAL[s.name]
        elif s.enum:
            out[s.name] = next(v for v in s.enum if v != value and v != "auto")
        elif s.kind == "string":
            out[s.name] = f"{value}x"
        elif s.maximum is not None and value + 1 <= s.maximum:
            out[s.name] = value + 1
        else:
            out[s.name] = value - 1
    return out


def test_the_settings_the_trigger_keeps_give_the_wait_the_same_queries_and_rules() -> None:
    full = from_params(_every_setting_not_its_default())
    kept = from_params(step.wait_settings(full.to_dict()))
    assert step.instant_queries(kept) == step.instant_queries(full)
    assert kept.queries.counter_series() == full.queries.counter_series()
    for name in ("ratio_min_pct", "write_stall_timeout_s", "replication_timeout_s", "poke_interval_s"):
        assert getattr(kept, name) == getattr(full, name)


def test_the_wait_reads_no_setting_the_trigger_does_not_keep() -> None:
    wait = (step.measure, step.replication_progress, step.counter_growth, step.instant_queries, step.data_time,
            step.ratio_met, triggers.ReplicationTrigger.run)
    read = {name for f in wait for name in re.findall(r"\bsettings\.([a-z_]+)", inspect.getsource(f))}
    assert read and read - {"queries"} <= set(step.SETTINGS_FIELDS)
