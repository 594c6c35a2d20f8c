"""A variant stack beside the session's: its own folder (``.stack-variants/<name>``) and ports, the session's jar
cache shared (one per Kafka version)."""

from __future__ import annotations

import os

from mm2_stack.config import REPO_ROOT, Ports, StackConfig


def variant_config(live_stack: StackConfig, name: str, knobs: dict[str, str], port_offset: int) -> StackConfig:
    """The config of variant ``name`` with ``knobs``, its ports shifted by ``port_offset`` from the session's stack."""
    environ = {**os.environ, **knobs, "MM2_STACK_DIR": str(REPO_ROOT / ".stack-variants" / name),
               "MM2_STACK_PORT_OFFSET": str(live_stack.ports.source_broker - Ports().source_broker + port_offset)}
    config = StackConfig.from_env(environ)
    config.root.mkdir(parents=True, exist_ok=True)
    if not (config.root / "jars").exists():  # one jar cache (per Kafka version) for every stack
        (live_stack.root / "jars").mkdir(parents=True, exist_ok=True)
        (config.root / "jars").symlink_to(live_stack.root / "jars")
    return config
