"""The replication sensor's control flow: poke in the worker for a while, then defer (no Prometheus needed:
``poke`` is replaced, the rest is the sensor's own code)."""

from __future__ import annotations

import time

import pytest
from airflow.sdk import PokeReturnValue
from airflow.sdk.exceptions import TaskDeferred

from mm2_smoke.sensors import ReplicationSensor
from mm2_smoke.triggers import ReplicationTrigger

PRODUCED = {"delivered": 100, "started_ms": 1_764_300_000_000, "finished_ms": 1_764_300_010_000}


def _sensor(answers: list[bool], defer_after_s: float) -> tuple[ReplicationSensor, list[float]]:
    sensor = ReplicationSensor(task_id="wait", prometheus_conn_id="prometheus", before={}, produced=PRODUCED,
                               settings={"poke_interval_s": 0.2, "defer_after_s": defer_after_s})
    pokes: list[float] = []

    def poke(context):
        pokes.append(time.monotonic())
        done = answers.pop(0) if answers else False
        return PokeReturnValue(is_done=done, xcom_value={"outcome": "met"} if done else None)

    sensor.poke = poke  # type: ignore[method-assign]
    return sensor, pokes


def test_a_wait_that_ends_within_the_window_is_answered_in_the_worker_without_deferring() -> None:
    sensor, pokes = _sensor([False, False, True], defer_after_s=5)
    assert sensor.execute({}) == {"outcome": "met"}
    assert len(pokes) == 3
    assert pokes[2] - pokes[0] >= 0.4  # slept poke_interval_s between pokes


def test_a_longer_wait_defers_to_the_trigger_after_the_window() -> None:
    sensor, pokes = _sensor([], defer_after_s=1)
    t0 = time.monotonic()
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    assert time.monotonic() - t0 < 1.5  # never past the window by a whole poke interval
    assert 4 <= len(pokes) <= 6
    assert isinstance(deferred.value.trigger, ReplicationTrigger)
    assert deferred.value.method_name == "execute_complete"


def test_zero_window_defers_at_once_and_leaves_the_first_check_to_the_trigger() -> None:
    sensor, pokes = _sensor([True], defer_after_s=0)  # a check would be met: still deferred, the trigger decides
    with pytest.raises(TaskDeferred):
        sensor.execute({})
    assert pokes == []


def test_a_negative_window_is_refused_naming_the_setting() -> None:
    sensor, _ = _sensor([], defer_after_s=-1)
    with pytest.raises(ValueError, match="defer_after_s"):
        sensor.execute({})


def test_the_trigger_gets_what_the_wait_reads_of_step_1_1_including_a_run_created_topic() -> None:
    produced = {**PRODUCED, "e2e": {"received": 100}, "topic_new": True, "delivery_report": "not for the trigger"}
    sensor = ReplicationSensor(task_id="wait", prometheus_conn_id="prometheus", before={}, produced=produced,
                               settings={"defer_after_s": 0})
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    sent = deferred.value.trigger.produced
    assert sent == {k: produced[k] for k in ("delivered", "started_ms", "finished_ms", "e2e", "topic_new")}
