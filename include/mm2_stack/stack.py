"""Bringing the whole stack up, down, and reporting its health."""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mm2_stack import connect, jars, kafka, metrics_store, proc
from mm2_stack.certs import make_certs, make_client_certs, make_pkcs12_keystore
from mm2_stack.config import (
    ALL_CLUSTERS,
    StackConfig,
    StackError,
    load_passwords,
    new_passwords,
    save_passwords,
)
from mm2_stack.envfile import write_env_file


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class PartStatus:
    part: str
    pid: int | None
    healthy: bool
    detail: str


def status(config: StackConfig) -> list[PartStatus]:
    """Each part's PID and health (a live probe of what the part serves)."""
    try:
        passwords = load_passwords(config)
    except StackError:
        passwords = {}
    probes = {
        **{c: (lambda c=c: kafka.metadata_probe(config, c, passwords)) for c in config.clusters},
        "connect": lambda: connect.ready_probe(config),
        config.metrics_store: lambda: metrics_store.target_probe(config),
    }
    result = []
    for part in config.parts:
        pid = proc.running_pid(config, part)
        if pid is None:
            result.append(PartStatus(part, None, False, "not running"))
            continue
        try:
            reason = probes[part]() if passwords else "no secrets file"
        except Exception as exc:  # noqa: BLE001 - a failed probe is an unhealthy part, with its reason
            reason = f"{type(exc).__name__}: {exc}"
        result.append(PartStatus(part, pid, reason is None, reason or "ok"))
    return result


@dataclass(frozen=True)
class UpPlan:
    """What ``up`` does to a stack.

    :param build: wipe the run folder and build every part anew (new passwords, certificates, data).
    :param start: the parts to start on their existing data and configuration, in start order.
    :param warnings: the parts that run but look unhealthy: reported, never fixed.
    """

    build: bool
    start: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def plan_up(statuses: Sequence[PartStatus], has_stack: bool, fresh: bool) -> UpPlan:
    """Decide what ``up`` does: build only when asked (``fresh``) or when there is no stack yet; else start the
    parts whose process is not running and leave every other part as it is, its state and faults included.

    :param statuses: each part's status (:func:`status`), in start order.
    :param has_stack: the run folder holds a stack (its passwords and variant).
    :param fresh: ``up --fresh``.
    """
    if fresh or not has_stack:
        return UpPlan(build=True)
    return UpPlan(build=False, start=tuple(s.part for s in statuses if s.pid is None),
                  warnings=tuple(f"{s.part} (pid {s.pid}) looks unhealthy: {s.detail}"
                                 for s in statuses if s.pid is not None and not s.healthy))


def _has_stack(config: StackConfig) -> bool:
    """True when the run folder holds a stack; False when there is none. A run folder without its passwords or
    variant (a start that failed half way) is refused: only ``--fresh`` may wipe it."""
    if not config.run_dir.exists() or not any(config.run_dir.iterdir()):
        return False
    missing = [p.name for p in (config.secrets_file, config.run_dir / VARIANT_FILE) if not p.exists()]
    if missing:
        raise StackError("config", f"{config.run_dir} holds an incomplete stack (no {' or '.join(missing)}): "
                         "rebuild it with `python -m mm2_stack up --fresh` (wipes it), or stop it (`make stack-down`) "
                         "and remove that folder")
    return True


def up(config: StackConfig, fresh: bool = False) -> dict[str, float]:
    """Bring the stack up without destroying anything that was not asked for (:func:`plan_up`).

    With no stack yet (or ``fresh``), build every part and wait until each is ready. Else start only the parts
    whose process is not running, on their existing data, passwords, certificates and configuration; every other
    part is left as it is (a frozen broker, a paused connector, a fault someone injected): parts that look
    unhealthy are reported on stderr as warnings, never fixed.

    :param fresh: stop a running stack and start a new one (new certificates, passwords, data).
    :return: timings in seconds (``jars``, ``total``...); empty when nothing was started.
    """
    has_stack = False if fresh else _has_stack(config)
    if has_stack:
        running = running_variant(config)
        if running and running != config.variant:
            raise StackError("config", f"the stack in {config.run_dir} is {running}, not the {config.variant} asked "
                             "for: stop it (`make stack-down`) or use another MM2_STACK_DIR and MM2_STACK_PORT_OFFSET, "
                             "or `python -m mm2_stack up --fresh` to replace it")
    plan = plan_up(status(config) if has_stack else [], has_stack, fresh)
    if not plan.build:
        timings = _start_parts(config, plan.start) if plan.start else {}
        configs_applied = _apply_connector_configs(config)
        warnings = (plan.warnings if not plan.start and not configs_applied
                    else plan_up(status(config), True, False).warnings)
        if not config.env_file.exists():
            write_env_file(config, load_passwords(config))
        for warning in warnings:
            _say(f"warning: {warning} (left as it is: heal it, or `python -m mm2_stack up --fresh` rebuilds the "
                 "stack)")
        if not plan.start and not warnings:
            _say("stack already up and healthy")
        elif not warnings and set(plan.start) & {*config.clusters, "connect"}:  # a cold chain, not only its store
            timings["first_record"] = _warm_up(config)
        return timings
    return _build(config)


def _apply_connector_configs(config: StackConfig) -> bool:
    """Give a running MM2 the connectors' configured configs where the stack's own stand (never a fault's:
    :func:`connect.apply_connector_configs`); say what was updated or left. True when anything was said."""
    if proc.running_pid(config, "connect") is None:
        return False
    try:
        lines = connect.apply_connector_configs(config)
    except (StackError, OSError) as exc:  # Connect REST not answering: the part's warning says so
        lines = [f"warning: the connectors' configs were not checked: {str(exc).splitlines()[0]}"]
    for line in lines:
        _say(line)
    return bool(lines)


def _start_parts(config: StackConfig, parts: Sequence[str]) -> dict[str, float]:
    """Start ``parts`` (not running) on their existing data and configuration, and wait until the stack looks
    healthy, for up to ``ready_timeout_s`` per part. A part that exits fails with its log tail; one that runs but does
    not get healthy (another part's fault may be the cause) is left for the warnings.

    :return: seconds until each part was started and waited for, and ``total``.
    """
    t0 = time.monotonic()
    busy = [port for part in parts for port in busy_ports(config, part_ports(config, part))]
    if busy:
        raise StackError("ports", f"port(s) {', '.join(map(str, busy))} of the stopped part(s) {', '.join(parts)} are "
                         "in use by another process (another stack?): stop it, or give this stack other ports with "
                         "MM2_STACK_PORT_OFFSET")
    if shutil.which("java") is None and any(p in config.clusters or p == "connect" for p in parts):
        raise StackError("java", "`java` is not on PATH: install a JDK 17+ (Debian: apt-get install openjdk-17-jre-headless)")
    jars.ensure_jars(config)
    passwords = load_passwords(config)
    kafka.log_config(config)  # the controller's own logging settings (capped logs), not the stack's state
    timeout = config.ready_timeout_s
    timings: dict[str, float] = {}
    _say(f"starting the stopped part(s) {', '.join(parts)} on their existing data...")
    for part in parts:
        if part in config.clusters:
            kafka.start(config, part)
            _settle(config, part, lambda c=part: kafka.metadata_probe(config, c, passwords), timeout,
                    "broker metadata over SASL_SSL")
        elif part == "connect":
            connect.start(config, passwords)
            _settle(config, part, lambda: connect.ready_probe(config), timeout, "MM2 connectors and tasks RUNNING")
        else:
            metrics_store.start(config)
            _settle(config, part, lambda: metrics_store.target_probe(config) or metrics_store.contract_probe(config),
                    timeout, f"the smoke test's metric contract (profile {config.profile})")
        timings[part] = time.monotonic() - t0
    timings["total"] = time.monotonic() - t0
    _say(f"started {', '.join(parts)} in {timings['total']:.1f} s")
    return timings


def _settle(config: StackConfig, part: str, check: Callable[[], str | None], timeout_s: float, what: str) -> None:
    """Wait as :func:`proc.wait_until` does, but a part that still runs at the timeout is no error (it is reported
    as unhealthy afterwards); one that exited is."""
    try:
        proc.wait_until(config, part, check, timeout_s, what)
    except StackError:
        if proc.running_pid(config, part) is None:
            raise


def _warm_up(config: StackConfig) -> float:
    """Up means replicating: a first record through each flow of the chain, and its cold path (JVMs just started,
    the remote topic's first metadata: seconds, where a warm chain takes milliseconds) out of MM2's 60 s latency
    window before a smoke run reads that window as its own (not in a topology that loops records: the window never
    clears there). Returns the default flow's record's seconds through the chain."""
    from mm2_stack.probe import loop_finding, warm_up

    t0 = time.monotonic()
    seconds = warm_up(config, config.ready_timeout_s).seconds
    loop = loop_finding(config)
    if loop:
        _say(f"a first record crossed each flow ({', '.join(f.name for f in config.flows)}); the default flow's in "
             f"{seconds:.2f} s. MM2's latency window is not waited for: {loop}")
    elif len(config.flows) > 1:
        _say(f"a first record crossed each flow ({', '.join(f.name for f in config.flows)}); the default flow's in "
             f"{seconds:.2f} s; MM2's latency window clear after {time.monotonic() - t0:.1f} s")
    else:
        _say(f"a first record crossed the chain in {seconds:.2f} s; MM2's latency window clear after "
             f"{time.monotonic() - t0:.1f} s")
    return seconds


def _build(config: StackConfig) -> dict[str, float]:
    """Fetch the jars, stop whatever runs, wipe the run folder and build every part anew; wait until each is ready.
    The jars come first: a Kafka version whose jars cannot be fetched leaves a running stack as it is."""
    t0 = time.monotonic()
    config.root.mkdir(parents=True, exist_ok=True)
    jars.ensure_jars(config)
    timings: dict[str, float] = {"jars": time.monotonic() - t0}
    down(config)
    timeout = config.ready_timeout_s

    busy = busy_ports(config)
    if busy:
        raise StackError("ports", f"port(s) {', '.join(map(str, busy))} on 127.0.0.1 are in use by another process "
                         "(another stack?): stop it, or give this stack other ports with MM2_STACK_PORT_OFFSET")
    metrics_store.ensure_installed(config)
    if shutil.which("java") is None:
        raise StackError("java", "`java` is not on PATH: install a JDK 17+ (Debian: apt-get install openjdk-17-jre-headless)")

    shutil.rmtree(config.run_dir, ignore_errors=True)
    config.run_dir.mkdir(parents=True)
    (config.run_dir / VARIANT_FILE).write_text(json.dumps(config.variant, sort_keys=True))
    passwords = new_passwords()
    save_passwords(config, passwords)
    make_certs(config)
    if config.client_auth == "mtls":
        make_client_certs(config, passwords)
    if config.connect_auth == "basic":
        make_pkcs12_keystore(config, passwords["rest-keystore"])
    kafka.log_config(config)

    names = ", ".join(config.clusters[:-1]) + f" and {config.clusters[-1]}"
    flows = "" if len(config.flows) == 1 else f"; {config.topology}: {', '.join(f.name for f in config.flows)}"
    _say(f"formatting and starting the {names} clusters (Kafka {config.kafka_version}{flows})...")
    formatters = {c: kafka.prepare(config, c, passwords) for c in config.clusters}
    for cluster, formatter in formatters.items():
        kafka.finish_format(config, cluster, formatter)
    for cluster in config.clusters:
        kafka.start(config, cluster)
    # The metrics store does not depend on Kafka: start it now so it is ready when the exporter is.
    metrics_store.start(config)
    for cluster in config.clusters:
        proc.wait_until(config, cluster, lambda c=cluster: kafka.metadata_probe(config, c, passwords), timeout,
                        "broker metadata over SASL_SSL")
    timings["brokers"] = time.monotonic() - t0
    kafka.setup_security_and_topics(config, passwords)

    if config.mm2_mode == "dedicated":
        _say("starting MirrorMaker 2 in dedicated mode...")
        connect.start(config, passwords)
        proc.wait_until(config, "connect", lambda: connect.exporter_probe(config), timeout,
                        "MirrorMaker 2's source task metrics on its JMX exporter")
    else:
        _say("starting Kafka Connect with MirrorMaker 2...")
        connect.start(config, passwords)
        proc.wait_until(config, "connect", lambda: connect.rest_probe(config), timeout, "the Connect REST API")
        connect.create_connectors(config)
        proc.wait_until(config, "connect", lambda: connect.connectors_probe(config), timeout,
                        "MM2 connectors and tasks RUNNING")
    timings["connect"] = time.monotonic() - t0
    store = config.metrics_store
    proc.wait_until(config, store, lambda: metrics_store.target_probe(config), timeout,
                    "the JMX exporter scrape target up")
    proc.wait_until(config, store, lambda: metrics_store.contract_probe(config), timeout,
                    f"the smoke test's metric contract (profile {config.profile}): every series fresh")
    timings["first_record"] = _warm_up(config)
    write_env_file(config, passwords)
    timings["total"] = time.monotonic() - t0
    _say(f"stack up in {timings['total']:.1f} s (jars {timings['jars']:.1f} s); connections in {config.env_file}")
    return timings


VARIANT_FILE = "variant.json"


#: Variant keys a record may lack, and what a record without them was built as (the default stack).
VARIANT_DEFAULTS = {"topology": "one-way", "replication_policy": "default"}


def running_variant(config: StackConfig) -> dict[str, str] | None:
    """The variant the stack in ``config.run_dir`` was started as (None when it records none)."""
    try:
        return {**VARIANT_DEFAULTS, **json.loads((config.run_dir / VARIANT_FILE).read_text())}
    except (FileNotFoundError, ValueError):
        return None


def part_ports(config: StackConfig, part: str) -> list[int]:
    """The ports ``part`` listens on."""
    p = config.ports
    if part in ALL_CLUSTERS:
        return [config.broker_port(part), config.controller_port(part)]
    return [p.connect_rest, p.jmx_exporter] if part == "connect" else [p.prometheus]


def busy_ports(config: StackConfig, ports: Sequence[int] | None = None) -> list[int]:
    """The ports of the stack's parts (or ``ports``) that something else already listens on."""
    import socket

    busy = []
    if ports is None:
        ports = [port for part in config.parts for port in part_ports(config, part)]
    for port in sorted(ports):
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                busy.append(port)
    return busy


def down(config: StackConfig) -> list[str]:
    """Stop every part the stack started, by PID, in reverse start order.

    :return: the parts that were running and are now stopped.
    """
    stopped = []
    errors = []
    for part in reversed(proc.PARTS):
        try:
            if proc.stop(config, part):
                stopped.append(part)
        except StackError as exc:
            errors.append(str(exc))
    if errors:
        raise StackError("down", "; ".join(errors))
    return stopped
