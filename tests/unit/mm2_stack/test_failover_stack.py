"""The local stack's side of failover readiness: the checkpoint connector's settings and their knob, the failover
faults, and how ``up`` brings an existing stack's connectors to the configured configs without healing a fault."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from mm2_smoke.dag_layout import DAG_ID
from mm2_smoke.naming import failover_group
from mm2_stack import connect, faults
from mm2_stack.config import TOPOLOGIES, StackConfig, StackError, new_passwords

CHECKPOINT = "source->target.MirrorCheckpointConnector"
SOURCE = "source->target.MirrorSourceConnector"


def _checkpoint(config: StackConfig) -> dict[str, str]:
    return connect.connector_configs(config)[CHECKPOINT]


def test_the_checkpoint_connector_checkpoints_and_syncs_every_5_s_and_learns_groups_every_10_s() -> None:
    cfg = _checkpoint(StackConfig.from_env({}))
    assert {k: cfg[k] for k in ("emit.checkpoints.enabled", "emit.checkpoints.interval.seconds",
                                "sync.group.offsets.enabled", "sync.group.offsets.interval.seconds",
                                "refresh.groups.interval.seconds")} == {
        "emit.checkpoints.enabled": "true", "emit.checkpoints.interval.seconds": "5",
        "sync.group.offsets.enabled": "true", "sync.group.offsets.interval.seconds": "5",
        "refresh.groups.interval.seconds": "10"}
    heartbeat = connect.connector_configs(StackConfig.from_env({}))["source->target.MirrorHeartbeatConnector"]
    assert heartbeat["emit.heartbeats.interval.seconds"] == "1"  # MM2's default: heartbeats go stale within 10 s


@pytest.mark.parametrize("topology", list(TOPOLOGIES))
def test_every_flow_syncs_group_offsets(topology: str) -> None:
    configs = connect.connector_configs(StackConfig.from_env({"MM2_STACK_TOPOLOGY": topology}))
    checkpoints = [cfg for name, cfg in configs.items() if name.endswith(".MirrorCheckpointConnector")]
    assert len(checkpoints) == len(TOPOLOGIES[topology])
    assert {cfg["sync.group.offsets.enabled"] for cfg in checkpoints} == {"true"}


@pytest.mark.parametrize(("raw", "on"), [("", True), ("true", True), ("1", True), ("yes", True),
                                         ("false", False), ("0", False), ("no", False)])
def test_the_sync_knob(raw: str, on: bool) -> None:
    config = StackConfig.from_env({"MM2_STACK_SYNC_GROUP_OFFSETS": raw})
    assert config.sync_group_offsets is on
    assert _checkpoint(config)["sync.group.offsets.enabled"] == ("true" if on else "false")
    assert _checkpoint(config)["emit.checkpoints.enabled"] == "true"
    dedicated = connect.dedicated_properties(StackConfig.from_env({"MM2_STACK_SYNC_GROUP_OFFSETS": raw,
                                                                   "MM2_STACK_MM2_MODE": "dedicated"}), new_passwords())
    assert dedicated["source->target.sync.group.offsets.enabled"] == ("true" if on else "false")
    assert "sync_group_offsets" not in config.variant, "a running stack takes the knob on the next up"


def test_a_bad_sync_knob_names_the_variable() -> None:
    with pytest.raises(StackError, match=re.escape("MM2_STACK_SYNC_GROUP_OFFSETS='off' is not one of true, false")):
        StackConfig.from_env({"MM2_STACK_SYNC_GROUP_OFFSETS": "off"})


FAILOVER_FAULTS = ("checkpoint-paused", "groups-excluded", "heartbeats-paused",
                   "target-group-active")


@pytest.mark.parametrize("name", FAILOVER_FAULTS)
def test_each_failover_fault_is_in_the_catalogue(name: str) -> None:
    inject, heal, text = faults.FAULTS[name]
    assert callable(inject) and callable(heal) and inject is not heal
    assert text and "\n" not in text


def _mm2_group_filter(value: str) -> re.Pattern[str]:
    """A ``groups.exclude`` as MM2 reads it: a comma-separated list of regexes, one pattern (joined with ``|``)
    that must match a group id in full."""
    return re.compile("|".join(part.strip() for part in value.split(",")))


#: The other consumer groups the stack and the smoke test use (their code names them).
OTHER_GROUPS = ("mm2-connect", "source-mm2", "target-mm2", "c-mm2", "mm2-smoke-probe", "mm2-smoke-e2e",
                "mm2-smoke-count", "mm2-smoke-bomber", "mm2-smoke-diagnostics", "mm2-smoke-checkpoints",
                "mm2-smoke-heartbeats", "mm2-smoke-failover-rehearsal", "mm2-smoke-failover")


def test_groups_excluded_filters_out_every_failover_group_and_no_other() -> None:
    value = faults.failover_groups_exclude()
    assert value == r"mm2-smoke-failover\..*, console-consumer-.*, connect-.*, __.*"
    excluded = _mm2_group_filter(value)
    for topology, flows in TOPOLOGIES.items():
        for source, target in flows:
            group = failover_group(DAG_ID, source, target)
            assert excluded.fullmatch(group), (topology, group)
    assert excluded.fullmatch(failover_group("another_dag", "a", "b"))
    assert [g for g in OTHER_GROUPS if excluded.fullmatch(g)] == []
    # MM2's own default excludes stay.
    assert excluded.fullmatch("console-consumer-4711") and excluded.fullmatch("connect-mm2")
    assert excluded.fullmatch("__consumer_offsets")


def test_the_faults_use_the_default_flows_failover_group(tmp_path: Path) -> None:
    config = StackConfig(root=tmp_path)
    assert faults._failover_group(config) == failover_group(DAG_ID, "source", "target")


def test_connector_faults_are_refused_in_dedicated_mode(tmp_path: Path) -> None:
    config = StackConfig(root=tmp_path, mm2_mode="dedicated")
    for inject in (faults.checkpoint_paused, faults.groups_excluded, faults.heartbeats_paused):
        with pytest.raises(StackError, match="dedicated does not serve"):
            inject(config)


def _configured() -> dict[str, dict[str, str]]:
    return connect.connector_configs(StackConfig.from_env({}))


def _actions(updates: list[connect.ConfigUpdate]) -> dict[str, str]:
    return {u.name: u.action for u in updates}


def test_a_connector_as_the_stack_applied_it_gets_the_configured_config() -> None:
    configured = _configured()
    older = {**configured[CHECKPOINT], "sync.group.offsets.enabled": "false"}
    live: dict[str, dict[str, str] | None] = {**configured, CHECKPOINT: {"name": CHECKPOINT, **older}}
    updates = connect.plan_config_updates(configured, live, {**configured, CHECKPOINT: older})
    assert _actions(updates)[CHECKPOINT] == "put"
    assert {u.action for u in updates if u.name != CHECKPOINT} == {"same"}
    assert [u.keys for u in updates if u.action == "put"] == [("sync.group.offsets.enabled",)]


def test_a_connector_changed_since_the_stack_applied_it_is_left_as_it_is() -> None:
    """A fault's config (topic-excluded) is evidence: ``up`` does not heal it, nor re-create a deleted connector."""
    configured = _configured()
    faulted = {**configured[SOURCE], "topics.exclude": "x"}
    live: dict[str, dict[str, str] | None] = {**configured, SOURCE: faulted, CHECKPOINT: None}
    updates = {u.name: u for u in connect.plan_config_updates(configured, live, dict(configured))}
    assert (updates[SOURCE].action, updates[SOURCE].keys) == ("left", ("topics.exclude",))
    assert updates[CHECKPOINT].action == "left" and "missing" in updates[CHECKPOINT].describe()
    assert "left as it is" in updates[SOURCE].describe()


def test_a_stack_built_before_the_record_is_taken_as_built_with_the_former_checkpoint_settings() -> None:
    configured = _configured()
    former = {k: v for k, v in configured[CHECKPOINT].items()
              if k not in ("emit.checkpoints.enabled", "sync.group.offsets.interval.seconds")}
    former["sync.group.offsets.enabled"] = "false"
    assert connect.unrecorded_config(configured[CHECKPOINT]) == former
    assert connect.unrecorded_config(configured[SOURCE]) == configured[SOURCE]
    live: dict[str, dict[str, str] | None] = {**configured, CHECKPOINT: former}
    assert _actions(connect.plan_config_updates(configured, live, None))[CHECKPOINT] == "put"
    # ...but not one a fault changed since (groups-excluded on such a stack).
    disabled = {**former, "emit.checkpoints.enabled": "false"}
    assert _actions(connect.plan_config_updates(configured, {**configured, CHECKPOINT: disabled},
                                                None))[CHECKPOINT] == "left"


class FakeConnect:
    """Connect REST as far as ``apply_connector_configs`` and ``put_connector`` use it."""

    def __init__(self, live: dict[str, dict[str, str]]) -> None:
        self.live = live
        self.puts: list[str] = []

    def __call__(self, config: StackConfig, method: str, path: str, body: Any = None,
                 timeout_s: float = 10) -> tuple[int, Any]:
        name = path.split("/")[2].replace("%3E", ">")
        if method == "PUT" and path.endswith("/config"):
            self.puts.append(name)
            self.live[name] = dict(body)
            return 200, {}
        if method == "GET" and path.endswith("/config"):
            return (200, {"name": name, **self.live[name]}) if name in self.live else (404, {})
        if method == "GET" and path.endswith("/status"):
            return 200, {"connector": {"state": "RUNNING"}, "tasks": [{"id": 0, "state": "RUNNING"}]}
        raise AssertionError(f"unexpected {method} {path}")


def test_up_puts_only_the_stacks_own_older_configs_and_records_them(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    config = StackConfig(root=tmp_path)
    configured = connect.connector_configs(config)
    fake = FakeConnect({**configured, CHECKPOINT: connect.unrecorded_config(configured[CHECKPOINT]),
                        SOURCE: {**configured[SOURCE], "topics.exclude": "x"}})
    monkeypatch.setattr(connect, "rest", fake)
    lines = connect.apply_connector_configs(config)
    assert fake.puts == [CHECKPOINT]
    assert fake.live[CHECKPOINT] == configured[CHECKPOINT]
    assert len(lines) == 2 and any(CHECKPOINT in line and "applied" in line for line in lines)
    assert any(SOURCE in line and "left as it is" in line for line in lines)
    recorded = json.loads(connect.applied_file(config).read_text())
    assert set(recorded) == set(configured) - {SOURCE}, "a fault's config is never recorded as the stack's own"
    assert connect.applied_file(config).stat().st_mode & 0o777 == 0o600

    # A fault's PUT is not recorded; its heal is, and the next up finds everything as configured.
    faults._put_config(config, CHECKPOINT, {**configured[CHECKPOINT], "emit.checkpoints.enabled": "false"})
    assert json.loads(connect.applied_file(config).read_text())[CHECKPOINT] == configured[CHECKPOINT]
    assert any(CHECKPOINT in line and "left as it is" in line for line in connect.apply_connector_configs(config))
    connect.restore_connector(config, CHECKPOINT)
    connect.restore_connector(config, SOURCE)
    fake.puts.clear()
    assert connect.apply_connector_configs(config) == [] and fake.puts == []


def _member(tmp_path: Path) -> tuple[Path, Any]:
    """``target-group-active``'s member process on a spec of its own, its cluster unreachable (no stack)."""
    import os
    import subprocess
    import sys

    spec = tmp_path / "member.json"
    spec.write_text(json.dumps({"client": {"bootstrap.servers": "127.0.0.1:1", "log_level": 0},
                                "group": "g", "topic": "t", "root": str(tmp_path)}))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(connect.__file__).parents[1]),
                                                         str(Path(__file__).parents[3] / "plugins")])}
    member = subprocess.Popen([sys.executable, "-m", "mm2_stack.faults", str(spec)], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return spec, member


def test_the_group_member_leaves_on_sigterm(tmp_path: Path) -> None:
    import signal

    _spec, member = _member(tmp_path)
    first = member.stdout.readline()  # printed once its signal handlers are in place
    assert first.startswith("member of g on target, subscribed to t"), first
    member.send_signal(signal.SIGTERM)
    out, _ = member.communicate(timeout=20)
    assert member.returncode == 0 and "left g" in out, out


def test_the_group_member_ends_when_its_spec_is_gone(tmp_path: Path) -> None:
    """The run folder wiped (``up --fresh``): no member outlives its stack."""
    spec, member = _member(tmp_path)
    assert member.stdout.readline().startswith("member of g")
    spec.unlink()
    out, _ = member.communicate(timeout=20)
    assert member.returncode == 0 and "left g" in out, out
