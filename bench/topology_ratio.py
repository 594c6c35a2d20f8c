"""``make bench-topology``: the wall time of a healthy run of every flow of a topology against a one-flow run, on the
same machine, in the same session.

Two stacks side by side (their own folders ``.stack-variants/bench-<topology>`` and ports), each warmed by one run,
then ``--pairs`` runs of each in turn (A B A B ...: a drift of the machine's speed falls on both), each the DAG
once with ``airflow dags test`` (as ``make demo``: trigger to checklist, Airflow's start included) at the runbook's
100 messages at 10 msg/s per flow. Prints each run's seconds and per-flow counts, the medians, the ratio (issue 24's
goal: active-active <= 1.3x one-way) and each stack's RSS. A benchmark, not a test: it fails only when a run is not
GO (a ratio of broken runs means nothing).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "plugins"), str(REPO / "include"), str(REPO)]

from mm2_stack import stack  # noqa: E402
from mm2_stack.airflow_run import airflow_env, dags_test, ensure_db  # noqa: E402
from mm2_stack.config import REPO_ROOT, Ports, StackConfig  # noqa: E402


def say(text: str) -> None:
    print(text, flush=True)


def variant(topology: str, offset: int) -> StackConfig:
    environ = {**os.environ, "MM2_STACK_TOPOLOGY": topology,
               "MM2_STACK_DIR": str(REPO_ROOT / ".stack-variants" / f"bench-{topology}"),
               "MM2_STACK_PORT_OFFSET": str(offset)}
    config = StackConfig.from_env(environ)
    config.root.mkdir(parents=True, exist_ok=True)
    shared = REPO_ROOT / ".stack" / "jars"
    if not (config.root / "jars").exists() and shared.exists():
        (config.root / "jars").symlink_to(shared)
    return config


def rss_mib(config: StackConfig) -> float:
    total = 0.0
    for part in stack.status(config):
        try:
            line = next(x for x in Path(f"/proc/{part.pid}/status").read_text().splitlines() if x.startswith("VmRSS:"))
            total += int(line.split()[1]) / 1024
        except (OSError, StopIteration, TypeError):
            continue
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/topology_ratio.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--topology", default="active-active", choices=("active-active", "fan-in"),
                        help="the topology measured against one-way (default active-active)")
    parser.add_argument("--pairs", type=int, default=3, help="runs of each, in turn, after one warm-up each")
    parser.add_argument("--keep-stacks", action="store_true", help="leave both stacks running at the end")
    args = parser.parse_args(argv)
    base = Ports().source_broker
    configs = {"one-way": variant("one-way", 1000), args.topology: variant(args.topology, 1200)}
    envs = {}
    try:
        for name, config in configs.items():
            t0 = time.monotonic()
            stack.up(config)
            say(f"{name}: stack up in {time.monotonic() - t0:.0f} s (ports from {config.ports.source_broker}; "
                f"default {base})")
            home = config.root / "bench-airflow"
            envs[name] = airflow_env(config, home)
            ensure_db(envs[name])
        seconds: dict[str, list[float]] = {name: [] for name in configs}
        for i in range(args.pairs + 1):
            for name in configs:
                result = dags_test(envs[name])
                report = result.report or {}
                flows = ", ".join(f"{b['flow']} {b['counts']['delivered']}/{b['counts']['received']}"
                                  for b in report.get("flows") or [])
                label = "warm-up" if i == 0 else f"run {i}"
                say(f"{name} {label}: {report.get('verdict')} in {result.seconds:.1f} s ({flows})")
                if report.get("verdict") != "GO":
                    say(result.output[-3000:])
                    return 1
                if i:
                    seconds[name].append(result.seconds)
        one, other = (statistics.median(seconds[n]) for n in configs)
        pairs = [b / a for a, b in zip(*seconds.values(), strict=True)]
        say(f"median: one-way {one:.1f} s, {args.topology} {other:.1f} s; ratio {other / one:.2f}x (pairs: "
            f"{', '.join(f'{r:.2f}' for r in pairs)}; goal <= 1.3x)")
        for name, config in configs.items():
            say(f"{name}: stack RSS {rss_mib(config):.0f} MiB")
        return 0
    finally:
        if not args.keep_stacks:
            for config in configs.values():
                stack.down(config)


if __name__ == "__main__":
    sys.exit(main())
