"""Command line of the local MM2 stack: ``python -m mm2_stack {up,down,status,env,probe}``."""

from __future__ import annotations

import argparse
import sys

from mm2_stack import proc
from mm2_stack.config import StackConfig, StackError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mm2_stack",
        description="The local real MM2 chain on 127.0.0.1: source and target Kafka (KRaft, SASL_SSL, ACLs), "
        "MirrorMaker 2 on Kafka Connect with the JMX exporter, and Prometheus. "
        "State, logs and connections live in $MM2_STACK_DIR (default .stack/).",
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up", help="build the stack if there is none; else start only the parts that are not "
                          "running, on their existing data (unhealthy running parts are warned about, never fixed)")
    p_up.add_argument("--fresh", action="store_true", help="stop the stack, wipe its data, passwords and certificates, "
                      "and build it anew")
    sub.add_parser("down", help="stop every process of the stack (by PID)")
    sub.add_parser("status", help="print each part's PID and health; exit 1 if any part is unhealthy")
    sub.add_parser("env", help="print the path of the dotenv file with the Airflow connections")
    p_probe = sub.add_parser("probe", help="send one message through each flow of the chain and read it back on "
                             "the flow's target")
    p_probe.add_argument("--flow", help="probe only this flow (e.g. target->source)")
    from mm2_stack.faults import FAULTS

    fault_help = "; ".join(f"{n}: {t}" for n, (_i, _h, t) in FAULTS.items())
    p_fault = sub.add_parser("fault", help="inject a fault into the running chain (" + fault_help + ")")
    p_fault.add_argument("name", choices=list(FAULTS))
    p_heal = sub.add_parser("heal", help="remove a fault and wait until the chain is healthy again")
    p_heal.add_argument("name", choices=list(FAULTS))
    p_metrics = sub.add_parser("metrics", help="switch the running worker's JMX exporter to other rules, live (it "
                               "reloads them): runbook, strimzi, kafka-new, or the path of a rules file")
    p_metrics.add_argument("rules", help="runbook | strimzi | kafka-new | PATH")
    p_logs = sub.add_parser("logs", help="print the tail of a part's log")
    p_logs.add_argument("part", choices=proc.PARTS)
    p_logs.add_argument("-n", type=int, default=50, help="number of lines (default 50)")
    p_airflow = sub.add_parser("airflow", help="a distributed Airflow beside the stack (CeleryExecutor, PostgreSQL, "
                               "Redis, two workers; mm2_stack.airflow_celery): up | down | status")
    p_airflow.add_argument("action", choices=("up", "down", "status"))
    p_airflow.add_argument("--fresh", action="store_true", help="up: stop it and wipe its database, queue and homes")
    args = parser.parse_args(argv)

    from mm2_stack import stack

    try:
        config = StackConfig.from_env()
        if args.cmd == "up":
            stack.up(config, fresh=args.fresh)
            _print_status(stack.status(config))
        elif args.cmd == "down":
            stopped = stack.down(config)
            print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
        elif args.cmd == "status":
            return 0 if _print_status(stack.status(config)) else 1
        elif args.cmd == "env":
            if not config.env_file.exists():
                raise StackError("config", f"{config.env_file} does not exist yet: run `make stack-up`")
            print(config.env_file)
        elif args.cmd == "probe":
            from mm2_stack.probe import send_probe

            flows = [f for f in config.flows if args.flow in (None, f.name)]
            if not flows:
                raise StackError("config", f"--flow {args.flow}: not a flow of this stack (MM2_STACK_TOPOLOGY="
                                 f"{config.topology}: {', '.join(f.name for f in config.flows)})")
            for flow in flows:
                r = send_probe(config, flow=flow)
                where = f"{r.flow}: " if len(config.flows) > 1 else ""
                print(f"probe OK: {where}{r.source_topic} -> {r.remote_topic} in {r.seconds * 1000:.0f} ms "
                      f"(key {r.key.decode()}, {len(r.headers)} header(s) preserved)")
        elif args.cmd == "fault":
            from mm2_stack import faults

            faults.inject(config, args.name)
            print(f"fault injected: {args.name} ({FAULTS[args.name][2]}); undo with `heal {args.name}`")
        elif args.cmd == "heal":
            from mm2_stack import faults

            seconds = faults.heal(config, args.name)
            print(f"healed: {args.name} in {seconds:.1f} s (chain healthy, MM2 latency window clear)")
        elif args.cmd == "metrics":
            from pathlib import Path

            from mm2_stack.config import METRICS_RULES, PACKAGE_DIR
            from mm2_stack.connect import use_rules

            rules = (PACKAGE_DIR.parent / "prometheus" / METRICS_RULES[args.rules] if args.rules in METRICS_RULES
                     else Path(args.rules))
            if not rules.is_file():
                raise StackError("config", f"{args.rules}: not one of {', '.join(METRICS_RULES)} nor a rules file")
            use_rules(config, rules)
            print(f"the worker's exporter now reads {rules} (its next scrape exports with them)")
        elif args.cmd == "logs":
            print(proc.log_tail(config, args.part, args.n))
        elif args.cmd == "airflow":
            from mm2_stack import airflow_celery

            return airflow_celery.main(config, args.action, args.fresh, _print_status)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


def _print_status(statuses) -> bool:
    for s in statuses:
        mark = "UP  " if s.healthy else "DOWN"
        pid = s.pid if s.pid is not None else "-"
        print(f"{mark} {s.part:<15} pid={pid!s:<8} {s.detail}")
    return all(s.healthy for s in statuses)


if __name__ == "__main__":
    sys.exit(main())
