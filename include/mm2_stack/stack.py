"""Bringing the whole stack up, down, and reporting its health."""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass

from mm2_stack import connect, jars, kafka, proc, prometheus
from mm2_stack.certs import make_certs
from mm2_stack.config import StackConfig, StackError, load_passwords, new_passwords, save_passwords
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
        "source": lambda: kafka.metadata_probe(config, "source", passwords),
        "target": lambda: kafka.metadata_probe(config, "target", passwords),
        "connect": lambda: connect.connectors_probe(config),
        "prometheus": lambda: prometheus.target_probe(config),
    }
    result = []
    for part in proc.PARTS:
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


def up(config: StackConfig, fresh: bool = False) -> dict[str, float]:
    """Start the whole stack and wait until every part is ready; a no-op when it is healthy already.

    :param fresh: stop a running stack and start a new one (new certificates, passwords, data).
    :return: timings in seconds (``jars``, ``total``...); empty when the stack was already up.
    """
    if not fresh and all(s.healthy for s in status(config)):
        _say("stack already up and healthy")
        return {}
    down(config)
    t0 = time.monotonic()
    timings: dict[str, float] = {}
    timeout = config.ready_timeout_s

    busy = busy_ports(config)
    if busy:
        raise StackError("ports", f"port(s) {', '.join(map(str, busy))} on 127.0.0.1 are in use by another process "
                         "(another stack?): stop it, or give this stack other ports with MM2_STACK_PORT_OFFSET")
    prometheus.ensure_installed()
    if shutil.which("java") is None:
        raise StackError("java", "`java` is not on PATH: install a JDK 17+ (Debian: apt-get install openjdk-17-jre-headless)")
    config.root.mkdir(parents=True, exist_ok=True)
    jars.ensure_jars(config)
    timings["jars"] = time.monotonic() - t0

    shutil.rmtree(config.run_dir, ignore_errors=True)
    config.run_dir.mkdir(parents=True)
    passwords = new_passwords()
    save_passwords(config, passwords)
    make_certs(config)
    kafka.log4j2_config(config)

    _say("formatting and starting the source and target clusters...")
    formatters = {c: kafka.prepare(config, c, passwords) for c in kafka.CLUSTERS}
    for cluster, formatter in formatters.items():
        kafka.finish_format(config, cluster, formatter)
    for cluster in kafka.CLUSTERS:
        kafka.start(config, cluster)
    # Prometheus does not depend on Kafka: start it now so it is ready when the exporter is.
    prometheus.start(config)
    for cluster in kafka.CLUSTERS:
        proc.wait_until(config, cluster, lambda c=cluster: kafka.metadata_probe(config, c, passwords), timeout,
                        "broker metadata over SASL_SSL")
    timings["brokers"] = time.monotonic() - t0
    kafka.setup_security_and_topics(config, passwords)

    _say("starting Kafka Connect with MirrorMaker 2...")
    connect.start(config, passwords)
    proc.wait_until(config, "connect", lambda: connect.rest_probe(config), timeout, "the Connect REST API")
    connect.create_connectors(config)
    proc.wait_until(config, "connect", lambda: connect.connectors_probe(config), timeout,
                    "MM2 connectors and tasks RUNNING")
    timings["connect"] = time.monotonic() - t0
    proc.wait_until(config, "prometheus", lambda: prometheus.target_probe(config), timeout,
                    "the JMX exporter scrape target up")
    proc.wait_until(config, "prometheus", lambda: prometheus.metrics_probe(config), timeout,
                    "MM2's poll_total series in Prometheus")
    write_env_file(config, passwords)
    timings["total"] = time.monotonic() - t0
    _say(f"stack up in {timings['total']:.1f} s (jars {timings['jars']:.1f} s); connections in {config.env_file}")
    return timings


def busy_ports(config: StackConfig) -> list[int]:
    """The stack's ports that something else already listens on."""
    import socket

    busy = []
    for port in sorted(vars(config.ports).values()):
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
