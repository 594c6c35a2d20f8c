"""What `up` does to a stack that exists: start what is not running, leave the rest (pure: `plan_up`); a fresh `up`
fetches its jars before it stops anything."""

from __future__ import annotations

import pytest

from mm2_stack.stack import PartStatus, UpPlan, plan_up

PARTS = ("source", "target", "connect", "prometheus")


def _statuses(**overrides: PartStatus) -> list[PartStatus]:
    healthy = {p: PartStatus(p, 100 + i, True, "ok") for i, p in enumerate(PARTS)}
    return [overrides.get(p, healthy[p]) for p in PARTS]


def test_no_stack_yet_is_built() -> None:
    assert plan_up([], has_stack=False, fresh=False) == UpPlan(build=True)


def test_fresh_builds_even_a_healthy_stack() -> None:
    assert plan_up(_statuses(), has_stack=True, fresh=True) == UpPlan(build=True)


def test_a_healthy_stack_is_left_alone() -> None:
    assert plan_up(_statuses(), has_stack=True, fresh=False) == UpPlan(build=False)


def test_only_the_parts_not_running_are_started_in_start_order() -> None:
    plan = plan_up(_statuses(target=PartStatus("target", None, False, "not running"),
                             prometheus=PartStatus("prometheus", None, False, "not running")), True, False)
    assert plan == UpPlan(build=False, start=("target", "prometheus"))


@pytest.mark.parametrize("part, detail", [
    ("source", "KafkaException: KafkaError{code=_TRANSPORT}"),  # a frozen broker (SIGSTOP)
    ("connect", "source->target.MirrorSourceConnector is PAUSED"),  # a fault someone injected
    ("prometheus", "http://127.0.0.1:1/metrics is down"),
])
def test_a_running_unhealthy_part_is_a_warning_never_a_rebuild_nor_a_restart(part: str, detail: str) -> None:
    plan = plan_up(_statuses(**{part: PartStatus(part, 4242, False, detail)}), True, False)
    assert not plan.build and plan.start == ()
    assert plan.warnings == (f"{part} (pid 4242) looks unhealthy: {detail}",)


def test_stopped_and_unhealthy_parts_together() -> None:
    plan = plan_up(_statuses(source=PartStatus("source", None, False, "not running"),
                             connect=PartStatus("connect", 7, False, "HTTP 500")), True, False)
    assert plan == UpPlan(build=False, start=("source",), warnings=("connect (pid 7) looks unhealthy: HTTP 500",))


def test_a_fresh_up_whose_jars_cannot_be_fetched_leaves_the_running_stack(tmp_path, monkeypatch) -> None:
    from mm2_stack import stack
    from mm2_stack.config import StackConfig, StackError

    def no_jars(config: StackConfig) -> bool:
        raise StackError("jars", "not served")

    stopped: list[str] = []
    monkeypatch.setattr(stack.jars, "ensure_jars", no_jars)
    monkeypatch.setattr(stack, "down", lambda config: stopped.append("down") or [])
    with pytest.raises(StackError, match="not served"):
        stack.up(StackConfig(root=tmp_path, kafka_version="4.4.0"), fresh=True)
    assert stopped == []
