"""docker-compose.yaml (the Docker demo) parses, points at files that exist, and agrees with the local stack.

No Docker engine is needed: Debian's `docker-compose config` parses and resolves the file without one (variables at
their defaults, anchors merged, env files read, host paths absolute), and the tests read what it resolved. The MM2
connector configs, the worker's properties and the topic setup's environment are generated from the local stack's
definition (mm2_stack.compose): a staleness test compares them. The rest pins what the compose file writes itself
(addresses, ports, images, versions) to where it is defined.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from mm2_smoke.dashboards import dashboards
from mm2_smoke.naming import TopicNaming
from mm2_stack import compose
from mm2_stack.config import JMX_EXPORTER_JAR, KAFKA_VERSION, KAFKA_VERSION_PATTERN, StackConfig
from mm2_stack.connect import CONNECTOR_KINDS, EXPORTER_RULES, connector_path
from mm2_stack.envfile import airflow_env
from mm2_stack.kafka import broker_properties
from mm2_stack.metrics_store import config_text

REPO = Path(__file__).resolve().parents[3]
COMPOSE_FILE = REPO / "docker-compose.yaml"
DOCKER_DIR = REPO / "include" / "docker"
AIRFLOW_DOCKERFILE = DOCKER_DIR / "airflow" / "Dockerfile"
CONNECT_DOCKERFILE = DOCKER_DIR / "connect" / "Dockerfile"
NAMING = TopicNaming()
PASSWORDS = {"admin": "a", "smoke": "s", "mm2": "m"}
CONNECTIONS = {"AIRFLOW_CONN_KAFKA_SOURCE": "kafka", "AIRFLOW_CONN_KAFKA_TARGET": "kafka",
               "AIRFLOW_CONN_PROMETHEUS": "http", "AIRFLOW_CONN_KAFKA_CONNECT": "http"}
# The header's "<label>  [http://]localhost:<port>" lines, and the service that must publish each port.
HEADER_SERVICES = {"Airflow UI": "airflow-apiserver", "Grafana": "grafana", "Prometheus": "prometheus",
                   "Connect REST": "connect", "Kafka source": "kafka-source", "Kafka target": "kafka-target",
                   "Flower": "flower"}
BROKERS = {"source": "kafka-source", "target": "kafka-target"}


def _docker_compose() -> str:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is missing: `make deps` installs it (Debian package docker-compose; it "
                    "parses compose files without a Docker engine). CI installs it.")
    return binary


# --------------------------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def services(tmp_path_factory) -> dict[str, dict[str, Any]]:
    """The services as `docker-compose config` resolves them with no variable set (an empty env file, so that a
    developer's .env cannot change what is checked)."""
    empty = tmp_path_factory.mktemp("compose") / "empty.env"
    empty.write_text("")
    done = subprocess.run([_docker_compose(), "--env-file", str(empty), "-f", str(COMPOSE_FILE), "config"],
                          cwd=REPO, capture_output=True, text=True, timeout=120, env={"PATH": os.environ["PATH"]})
    assert done.returncode == 0, f"docker-compose config failed:\n{done.stdout}{done.stderr}"
    return yaml.safe_load(done.stdout)["services"]


def local_config() -> StackConfig:
    """The local stack's settings with their defaults (not the environment of this test run)."""
    return StackConfig(root=Path("/nonexistent"), topics_regex=NAMING.topics_regex)


def env(service: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in (service.get("environment") or {}).items()}


def bind_mounts(service: dict[str, Any]) -> list[tuple[Path, PurePosixPath]]:
    """(host path, container path) of every bind mount."""
    specs = (spec.split(":") for spec in service.get("volumes", []))
    return [(Path(host), PurePosixPath(target)) for host, target, *_ in specs if host.startswith("/")]


def named_volumes(service: dict[str, Any]) -> dict[str, PurePosixPath]:
    specs = (spec.split(":") for spec in service.get("volumes", []))
    return {name: PurePosixPath(target) for name, target, *_ in specs if not name.startswith("/")}


def host_path(service: dict[str, Any], container_path: str) -> Path:
    """The host file or folder a container path of ``service`` reads, through its bind mounts."""
    path = PurePosixPath(container_path)
    best = None
    for host, target in bind_mounts(service):
        if path == target or target in path.parents:
            if best is None or len(target.parts) > len(best[1].parts):
                best = (host, target)
    assert best is not None, f"{container_path} is not inside any bind mount of the service"
    host, target = best
    return host.joinpath(*path.parts[len(target.parts):])


def published(service: dict[str, Any]) -> dict[int, int]:
    """Published ports: host port -> container port (``127.0.0.1:<host>:<container>/tcp``)."""
    return {int(host): int(container.split("/")[0])
            for _, host, container in (str(spec).split(":") for spec in service.get("ports", []))}


def listeners(value: str) -> dict[str, tuple[str, int]]:
    """Kafka listeners: name -> (host, port)."""
    out = {}
    for item in value.split(","):
        name, rest = item.split("://")
        host, port = rest.rsplit(":", 1)
        out[name] = (host, int(port))
    return out


def kafka_props(environment: dict[str, str]) -> dict[str, str]:
    """The server properties the apache/kafka image makes of KAFKA_* variables (_ -> ., __ -> _, ___ -> -)."""
    not_props = {"KAFKA_HEAP_OPTS", "KAFKA_OPTS", "KAFKA_JMX_OPTS", "KAFKA_LOG4J_OPTS", "KAFKA_VERSION",
                 "KAFKA_JVM_PERFORMANCE_OPTS", "KAFKA_GC_LOG_OPTS", "KAFKA_JMX_HOSTNAME"}
    props = {}
    for key, value in environment.items():
        if key.startswith("KAFKA_") and key not in not_props:
            name = re.sub(r"_{1,3}", lambda m: {1: ".", 2: "_", 3: "-"}[len(m.group())], key[6:].lower())
            props[name] = value
    return props


def dockerfile_froms(path: Path) -> list[str]:
    """Base images of a Dockerfile (FROM lines that are not an earlier stage)."""
    stages, images = set(), []
    for line in path.read_text().splitlines():
        m = re.match(r"\s*FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.IGNORECASE)
        if m:
            if m.group(1) not in stages:
                images.append(m.group(1))
            if m.group(2):
                stages.add(m.group(2))
    return images


def dockerfile_arg(path: Path, name: str) -> str:
    m = re.search(rf"^ARG {name}=(\S+)$", path.read_text(), re.MULTILINE)
    assert m, f"{path.name} has no ARG {name}=..."
    return m.group(1)


def image_tag(image: str) -> str:
    name = image.rsplit("/", 1)[-1]
    assert ":" in name, f"image {image!r} has no tag: pin one"
    return name.split(":", 1)[1]


def dockerfile_of(service: dict[str, Any]) -> Path:
    build = service["build"]
    return (Path(build["context"]) / build.get("dockerfile", "Dockerfile")).resolve()


def datasource_uids(node: Any) -> set[str]:
    """Every datasource uid a Grafana dashboard (or a part of it) names."""
    if isinstance(node, dict):
        own = {node["datasource"].get("uid")} if isinstance(node.get("datasource"), dict) else set()
        return own.union(*(datasource_uids(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(datasource_uids(v) for v in node))
    return set()


def airflow_services(services) -> dict[str, dict[str, Any]]:
    found = {n: s for n, s in services.items() if "build" in s and dockerfile_of(s) == AIRFLOW_DOCKERFILE}
    assert {"airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
            "airflow-triggerer", "airflow-worker", "flower"} <= set(found)
    return found


def javaagent(services) -> tuple[str, int, str]:
    """(agent jar, port, rules file) of the Connect worker's KAFKA_OPTS."""
    m = re.search(r"-javaagent:(\S+?)=(?:[\w.]+:)?(\d+):(\S+)", env(services["connect"])["KAFKA_OPTS"])
    assert m, "KAFKA_OPTS of `connect` has no -javaagent:<jar>=<port>:<rules>"
    return m.group(1), int(m.group(2)), m.group(3)


def prometheus_config_path(services) -> Path:
    args = services["prometheus"]["command"]
    config = next(a.split("=", 1)[1] for a in args if a.startswith("--config.file="))
    return host_path(services["prometheus"], config)


def prometheus_port(services) -> int:
    args = services["prometheus"].get("command", [])
    listen = next((a.split("=", 1)[1] for a in args if a.startswith("--web.listen-address=")), ":9090")
    return int(listen.rsplit(":", 1)[1])


def protocol_of(services, cluster: str) -> str:
    """Security protocol of a broker's in-network listener (the one named PLAINTEXT)."""
    mapping = env(services[BROKERS[cluster]])["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
    return dict(i.split(":") for i in mapping.split(","))["PLAINTEXT"]


def connectors_dir(services) -> Path:
    one_shot = services["mm2-connectors"]
    return host_path(one_shot, env(one_shot)["CONNECTORS_DIR"])


# ---------------------------------------------------------------------------------- the file as a whole
def test_docker_compose_config_parses() -> None:
    done = subprocess.run([_docker_compose(), "-f", str(COMPOSE_FILE), "config", "-q"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"docker-compose config failed:\n{done.stdout}{done.stderr}"
    # Where Compose v2 is there too (not on this project's CI), the file must suit it as well.
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        done = subprocess.run([docker, "compose", "-f", str(COMPOSE_FILE), "config", "-q"], cwd=REPO,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"docker compose config failed:\n{done.stdout}{done.stderr}"


def test_bind_mounts_and_build_files_exist(services) -> None:
    for name, service in services.items():
        for host, _ in bind_mounts(service):
            assert host.exists(), f"{name} mounts {host.relative_to(REPO)}, which does not exist"
            assert REPO in host.parents, f"{name} mounts {host}, outside the repository"
        if "build" in service:
            assert dockerfile_of(service).is_file(), f"{name}: no Dockerfile at {dockerfile_of(service)}"


def test_every_image_is_pinned(services) -> None:
    images = []
    for name, service in services.items():
        assert "image" in service, f"{name} has no image"
        images.append((name, service["image"]))
        if "build" in service:
            images += [(f"{name} (FROM in {dockerfile_of(service).name})", i) for i in dockerfile_froms(dockerfile_of(service))]
    for where, image in images:
        tag = image_tag(image)
        assert tag and tag != "latest" and "$" not in tag, f"{where}: image {image!r} is not pinned"


def test_kafka_image_is_one_kafka_version_the_local_stack_runs(services) -> None:
    """The pom's default is the stack's; the demo's images are all one Kafka version, of a line the stack runs
    (its tag is pinned on its own: which apache/kafka tags exist is not checked here)."""
    pom = ET.parse(REPO / "include" / "mm2_stack" / "pom.xml").getroot()
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    assert pom.find("m:properties/m:kafka.version", ns).text == KAFKA_VERSION
    kafka_images = [s["image"] for s in services.values() if s["image"].startswith("apache/kafka:")]
    kafka_images += [i for i in dockerfile_froms(CONNECT_DOCKERFILE) if i.startswith("apache/kafka:")]
    assert len(kafka_images) >= 4, kafka_images  # two brokers, the setup one-shot, the Connect image's base
    tags = {image_tag(i) for i in kafka_images} | {image_tag(services["connect"]["image"])}
    assert len(tags) == 1, f"the demo's Kafka images are not one version: {sorted(tags)}"
    assert re.fullmatch(KAFKA_VERSION_PATTERN.strip("^$"), tags.pop())


def test_airflow_image_matches_requirements() -> None:
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", (REPO / "requirements.txt").read_text(), re.MULTILINE))
    constraints = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", (REPO / "constraints.txt").read_text(), re.MULTILINE))
    (base,) = dockerfile_froms(AIRFLOW_DOCKERFILE)
    m = re.fullmatch(r"apache/airflow:(\d+\.\d+\.\d+)-python(\d+\.\d+)", base)
    assert m, f"the Airflow Dockerfile's base {base!r} is not apache/airflow:<version>-python<X.Y>"
    assert m.group(1) == pins["apache-airflow"] == constraints["apache-airflow-core"]
    # constraints.txt was resolved on Python 3.11 (its header; pyproject's target).
    assert m.group(2) == "3.11"
    text = AIRFLOW_DOCKERFILE.read_text()
    assert "-r /opt/mm2-smoke/requirements.txt -c /opt/mm2-smoke/constraints.txt" in text
    # The build context is the repository root: .dockerignore keeps all but the copied files out.
    ignore = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    assert ignore[0] == "*"
    copied = re.search(r"^COPY (.+) /opt/mm2-smoke/$", text, re.MULTILINE).group(1).split()
    assert copied == ["requirements.txt", "constraints.txt"]
    assert {f"!{c}" for c in copied} == set(ignore[1:])


def test_published_ports_are_the_headers(services) -> None:
    header = []
    for line in COMPOSE_FILE.read_text().splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    said: dict[str, int] = {}
    for line in header:
        m = re.match(r"#\s+(\w[\w ]*?)\s{2,}(?:http://)?localhost:(\d+)\b", line)
        if m:
            said[m.group(1)] = int(m.group(2))
    assert set(said) == set(HEADER_SERVICES), f"header lines with a localhost port: {said}"
    assert any("docker compose up -d" in line for line in header)
    every_published = {port for s in services.values() for port in published(s)}
    assert every_published == set(said.values()), "a published port is missing from the header, or the reverse"
    for label, port in said.items():
        assert port in published(services[HEADER_SERVICES[label]]), f"{label}: {HEADER_SERVICES[label]} does not publish {port}"
    for spec in (p for s in services.values() for p in s.get("ports", [])):
        assert str(spec).startswith("127.0.0.1:"), f"{spec}: publish on the host's loopback only"
    # Each published port reaches what listens in the container.
    assert published(services["airflow-apiserver"])[said["Airflow UI"]] == 8080
    assert published(services["grafana"])[said["Grafana"]] == 3000
    assert published(services["flower"])[said["Flower"]] == 5555  # flower's default port
    assert published(services["prometheus"])[said["Prometheus"]] == prometheus_port(services)
    assert published(services["connect"])[said["Connect REST"]] == urlsplit(compose.REST.listener).port
    for cluster, name in BROKERS.items():
        e = env(services[name])
        host_port = said[f"Kafka {cluster}"]
        # The HOST listener advertises the published port, so that host clients are sent back to it.
        assert listeners(e["KAFKA_ADVERTISED_LISTENERS"])["HOST"] == ("localhost", host_port)
        assert published(services[name])[host_port] == listeners(e["KAFKA_LISTENERS"])["HOST"][1]


def test_start_order(services) -> None:
    one_shots = {n for n, s in services.items() if s.get("restart") == "no"}
    assert one_shots == {"airflow-init", "kafka-setup", "mm2-connectors"}
    for name, service in services.items():
        deps = service.get("depends_on", {})
        assert isinstance(deps, dict), f"{name}: use depends_on with conditions"
        for dep, spec in deps.items():
            assert dep in services, f"{name} depends on unknown {dep}"
            condition = spec["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep} to be healthy: it has no healthcheck"
            elif condition == "service_completed_successfully":
                assert dep in one_shots, f"{name} waits for {dep} to complete: it is not a one-shot"
            else:
                pytest.fail(f"{name} -> {dep}: condition {condition!r} does not wait for readiness")
    for name, service in services.items():
        if name not in one_shots:
            assert "healthcheck" in service, f"{name} has no healthcheck"
    # No cycle (compose would refuse to start).
    order: list[str] = []
    pending = dict(services)
    while pending:
        ready = [n for n, s in pending.items() if set(s.get("depends_on", {})) <= set(order)]
        assert ready, f"dependency cycle among {sorted(pending)}"
        order += ready
        for n in ready:
            del pending[n]

    def deps(name: str) -> dict[str, str]:
        return {d: spec["condition"] for d, spec in services[name].get("depends_on", {}).items()}

    for name in airflow_services(services):
        if name != "airflow-init":
            assert deps(name)["airflow-init"] == "service_completed_successfully", name
        assert deps(name)["postgres"] == "service_healthy", name
        if name != "airflow-init":
            assert deps(name)["redis"] == "service_healthy", name
    assert deps("connect") == {"kafka-source": "service_healthy", "kafka-target": "service_healthy"}
    assert deps("kafka-setup") == {"kafka-source": "service_healthy", "kafka-target": "service_healthy"}
    assert deps("mm2-connectors") == {"connect": "service_healthy", "kafka-setup": "service_completed_successfully"}
    assert deps("airflow-scheduler")["mm2-connectors"] == "service_completed_successfully"
    assert deps("grafana")["prometheus"] == "service_healthy"


def test_no_password_in_the_file() -> None:
    # The file as written (not resolved): a password must be a ${VAR:-default}, never a literal.
    for name, service in yaml.safe_load(COMPOSE_FILE.read_text())["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET|FERNET", key) and not key.endswith(("_CMD", "_FILE")):
                assert re.fullmatch(r"\$\{\w+:-[^}]*\}", str(value)), (
                    f"{name}: {key} must come from the environment (${{VAR:-default}}), not be written here")
            if key.startswith("AIRFLOW_CONN_"):
                assert "sasl.password" not in str(value) and "password" not in json.loads(value)


def test_shell_scripts_parse() -> None:
    scripts = sorted(DOCKER_DIR.rglob("*.sh"))
    assert len(scripts) == 3, scripts
    for script in scripts:
        shell = "bash" if script.read_text().startswith("#!/usr/bin/env bash") else "sh"
        done = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True)
        assert done.returncode == 0, f"{script.name}: {done.stderr}"


# ------------------------------------------------------------------------------------------- the chain
def test_committed_compose_files_are_the_generated_ones(services) -> None:
    generated = compose.files()
    for path, text in generated.items():
        assert (REPO / path).read_text() == text, f"{path} is stale: run `make generate`"
    # The one-shot PUTs every JSON file of its folder: none but the generated ones may be there.
    folder = connectors_dir(services)
    assert folder == REPO / compose.CONNECTORS_DIR
    assert {p.relative_to(REPO) for p in folder.glob("*.json")} == {compose.connector_file(k) for k in CONNECTOR_KINDS}


def test_compose_runs_the_generated_files_with_its_own_addresses(services) -> None:
    connect = services["connect"]
    assert connect["command"][0] == "/opt/kafka/bin/connect-distributed.sh"
    assert host_path(connect, connect["command"][-1]) == REPO / compose.WORKER_PROPERTIES
    setup_env = dict(line.split("=", 1) for line in (REPO / compose.SETUP_ENV).read_text().splitlines()
                     if line and not line.startswith("#"))
    assert setup_env.items() <= env(services["kafka-setup"]).items(), "kafka-setup does not read setup.env"
    assert not re.fullmatch(NAMING.topics_regex, setup_env["WARMUP_TOPIC"]), "the warm-up topic must not be mirrored"
    # The generator's addresses are the compose services': each broker's in-network listener, its protocol,
    # and the Connect worker's REST endpoint.
    for side, name in BROKERS.items():
        e = env(services[name])
        host, port = listeners(e["KAFKA_ADVERTISED_LISTENERS"])["PLAINTEXT"]
        assert compose.BOOTSTRAP[side] == f"{host}:{port}" and host == name
        for config in compose.connectors(NAMING).values():
            assert config[f"{side}.cluster.security.protocol"] == protocol_of(services, side)
    assert compose.REST.host in services
    assert urlsplit(compose.REST.listener).port == compose.REST.port


def test_brokers_have_the_local_stacks_settings(services) -> None:
    not_compared = {"controller.quorum.bootstrap.servers", "listeners", "advertised.listeners",
                    "listener.security.protocol.map",
                    "inter.broker.listener.name", "sasl.enabled.mechanisms", "sasl.mechanism.inter.broker.protocol",
                    "listener.name.sasl_ssl.plain.sasl.jaas.config", "ssl.keystore.type", "ssl.keystore.location",
                    "ssl.truststore.type", "ssl.truststore.location", "authorizer.class.name", "super.users",
                    "allow.everyone.if.no.acl.found", "log.dirs"}
    cluster_ids = set()
    for cluster, name in BROKERS.items():
        e = env(services[name])
        props = kafka_props(e)
        local = broker_properties(local_config(), cluster, PASSWORDS)
        assert not_compared <= set(local), "broker_properties changed: update this test"
        for key, value in local.items():
            if key not in not_compared:
                assert props.get(key) == value, f"{name}: {key}={props.get(key)!r}, the local stack has {value!r}"
        lst = listeners(props["listeners"])
        advertised = listeners(props["advertised.listeners"])
        assert advertised["PLAINTEXT"] == (name, lst["PLAINTEXT"][1])
        assert props["controller.quorum.voters"] == f"1@{name}:{lst['CONTROLLER'][1]}"
        assert props["log.dirs"] in {str(v) for v in named_volumes(services[name]).values()}
        cid = e["CLUSTER_ID"]
        assert len(cid) == 22 and len(base64.urlsafe_b64decode(cid + "==")) == 16 and not cid.startswith("-")
        cluster_ids.add(cid)
    assert len(cluster_ids) == 2, "the two clusters need different cluster ids"


def test_jmx_exporter_agent_rules_and_scrape_target(services) -> None:
    jar, port, rules = javaagent(services)
    # The jar is the one the Connect image downloads, the version the local stack runs.
    version = dockerfile_arg(CONNECT_DOCKERFILE, "JMX_EXPORTER_VERSION")
    assert JMX_EXPORTER_JAR == f"jmx_prometheus_javaagent-{version}.jar"
    pom = (REPO / "include" / "mm2_stack" / "pom.xml").read_text()
    assert f"<artifactId>jmx_prometheus_javaagent</artifactId><version>{version}</version>" in pom
    assert re.fullmatch(r"[0-9a-f]{64}", dockerfile_arg(CONNECT_DOCKERFILE, "JMX_EXPORTER_SHA256"))
    assert re.search(rf"^COPY --from=\S+ \S+ {re.escape(jar)}$", CONNECT_DOCKERFILE.read_text(), re.MULTILINE), (
        f"the Connect image does not put the agent at {jar}")
    assert host_path(services["connect"], rules) == EXPORTER_RULES.resolve()
    # Prometheus scrapes that port on the connect service; the healthcheck asks it too.
    config = yaml.safe_load(prometheus_config_path(services).read_text())
    targets = [t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]]
    assert targets == [f"{compose.REST.host}:{port}"]
    healthcheck = " ".join(services["connect"]["healthcheck"]["test"])
    assert f"{port}/metrics" in healthcheck and f"{compose.REST.port}/connectors" in healthcheck


def test_prometheus_scrapes_like_the_local_stack(services) -> None:
    """Same intervals, job and labels (the MM2 flow's aliases) as the local stack's Prometheus, but `cluster`."""
    docker = yaml.safe_load(prometheus_config_path(services).read_text())
    local = json.loads(config_text(local_config()))
    assert docker["global"] == local["global"]
    ((docker_job, docker_sc),), ((local_job, local_sc),) = (
        [(job["job_name"], sc) for job in c["scrape_configs"] for sc in job["static_configs"]] for c in (docker, local))
    assert docker_job == local_job
    assert {**docker_sc["labels"], "cluster": None} == {**local_sc["labels"], "cluster": None}


def test_prometheus_rules_resolve_and_promtool_accepts_the_config(services, tmp_path) -> None:
    path = prometheus_config_path(services)
    config = yaml.safe_load(path.read_text())
    rules_dir = REPO / "include" / "prometheus" / "rules"
    expected = sorted(rules_dir.glob("*.yml"))
    assert expected
    found: list[Path] = []
    host_globs = []
    for pattern in config["rule_files"]:
        assert pattern.startswith("/"), f"rule_files: {pattern!r} should be absolute"
        host_glob = host_path(services["prometheus"], pattern)
        host_globs.append(str(host_glob))
        found += sorted(host_glob.parent.glob(host_glob.name))
    assert found == expected, f"rule_files load {found}, expected every file of {rules_dir}"
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: `make deps` installs Debian's prometheus (it ships promtool)"
    local = tmp_path / "prometheus.yml"
    local.write_text(yaml.safe_dump({**config, "rule_files": host_globs}))
    done = subprocess.run([promtool, "check", "config", str(local)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_grafana_provisions_the_datasource_the_dashboards_expect(services) -> None:
    grafana = services["grafana"]
    ds_files = sorted(host_path(grafana, "/etc/grafana/provisioning/datasources").glob("*.yml"))
    datasources = [d for f in ds_files for d in yaml.safe_load(f.read_text())["datasources"]]
    assert len(datasources) == 1
    (ds,) = datasources
    url = urlsplit(ds["url"])
    assert (url.hostname, url.port) == ("prometheus", prometheus_port(services))
    assert ds["isDefault"] is True
    providers = [p for f in sorted(host_path(grafana, "/etc/grafana/provisioning/dashboards").glob("*.yml"))
                 for p in yaml.safe_load(f.read_text())["providers"]]
    assert len(providers) == 1
    folder = host_path(grafana, providers[0]["options"]["path"])
    assert folder == (REPO / "include" / "grafana" / "dashboards").resolve()
    names = set(dashboards("runbook"))
    assert names == {"mm2-replication", "mm2-detailed-metrics"}
    for name in names:
        doc = json.loads((folder / f"{name}.json").read_text())
        variables = {v["name"]: v for v in doc["templating"]["list"] if v["type"] == "datasource"}
        assert variables, f"{name}: no datasource variable"
        for variable in variables.values():
            # A datasource variable without a current value opens on the default datasource of its type.
            assert variable["query"] == ds["type"], f"{name}: variable wants {variable['query']}, provisioned {ds['type']}"
        uids = datasource_uids(doc)
        fixed = {u for u in uids if not str(u).startswith("$")}
        assert fixed <= {ds["uid"]}, f"{name} names datasource uids {fixed}, provisioned {ds['uid']}"
        assert {u[2:-1] for u in uids - fixed} <= set(variables), f"{name}: panels use an unknown variable"
    home = env(grafana)["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert host_path(grafana, home).is_file()


# ------------------------------------------------------------------------------------------------ Airflow
def test_airflow_services_mount_the_project_and_import_it(services) -> None:
    for name, service in airflow_services(services).items():
        mounts = {host: target for host, target in bind_mounts(service)}
        for folder in ("dags", "plugins", "include"):
            assert REPO / folder in mounts, f"{name} does not mount {folder}/"
        assert mounts[REPO / "dags"] == PurePosixPath("/opt/airflow/dags"), "Airflow's dags_folder"
        assert mounts[REPO / "plugins"] == PurePosixPath("/opt/airflow/plugins"), "Airflow's plugins_folder"
        e = env(service)
        pythonpath = e["PYTHONPATH"].split(":")
        assert str(mounts[REPO / "include"]) in pythonpath, f"{name}: include/ is not importable"
        assert str(mounts[REPO / "plugins"]) in pythonpath, f"{name}: plugins/ is not on PYTHONPATH"
        report_dir = PurePosixPath(e["MM2_SMOKE_REPORT_DIR"])
        assert report_dir in named_volumes(service).values(), f"{name}: reports are not on a volume"
        assert e["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("http://airflow-apiserver:8080/")
        assert "KAFKA_TOOLS_CLASSPATH" not in e, "no Kafka jars in the Airflow image (see the header)"


def test_airflow_is_the_official_composes_celery_setup(services) -> None:
    """Airflow's own docker-compose shape: the CeleryExecutor on Redis 7, Postgres 16 for the metadata and Celery's
    results, a worker running `celery worker` that Celery's ping checks, the triggerer and the dag-processor as their
    own services, flower only under its profile; every Airflow service on one executor, broker and database."""
    assert image_tag(services["postgres"]["image"]).split(".")[0] == "16"
    assert services["redis"]["image"].startswith("redis:") and image_tag(services["redis"]["image"]).startswith("7")
    assert "ports" not in services["redis"] and "ports" not in services["postgres"], "broker and DB stay inside"
    assert "redis-cli" in services["redis"]["healthcheck"]["test"]
    pg = env(services["postgres"])
    for name, service in airflow_services(services).items():
        e = env(service)
        assert e["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        broker = urlsplit(e["AIRFLOW__CELERY__BROKER_URL"])
        assert (broker.scheme, broker.hostname, broker.port or 6379) == ("redis", "redis", 6379), name
        for key, scheme in (("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql+psycopg2"),
                            ("AIRFLOW__CELERY__RESULT_BACKEND", "db+postgresql")):
            url = urlsplit(e[key])
            assert (url.scheme, url.hostname, url.port or 5432) == (scheme, "postgres", 5432), f"{name}: {key}"
            assert (url.username, url.password, url.path) == (pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"],
                                                             "/" + pg["POSTGRES_DB"]), f"{name}: {key}"
    commands = {name: " ".join(c) if isinstance(c := service.get("command"), list) else c
                for name, service in airflow_services(services).items()}
    for name, command in (("airflow-apiserver", "api-server"), ("airflow-scheduler", "scheduler"),
                          ("airflow-dag-processor", "dag-processor"), ("airflow-triggerer", "triggerer"),
                          ("airflow-worker", "celery worker"), ("flower", "celery flower")):
        assert commands[name] == command, name
    worker = services["airflow-worker"]
    assert "inspect ping" in " ".join(worker["healthcheck"]["test"])
    assert env(worker)["DUMB_INIT_SETSID"] == "0", "a worker's warm shutdown (Airflow's image)"
    assert named_volumes(worker)["airflow-reports"] == PurePosixPath(env(worker)["MM2_SMOKE_REPORT_DIR"]), (
        "the worker writes the reports to the shared volume")
    assert worker["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy", "tasks call the api-server"
    assert services["flower"].get("profiles") == ["flower"]
    assert [n for n, s in services.items() if s.get("profiles")] == ["flower"], "only flower sits behind a profile"


def test_airflow_connections_are_the_local_stacks_and_reach_the_services(services, monkeypatch) -> None:
    from airflow.sdk import BaseHook

    local = {k: json.loads(v)["conn_type"] for k, v in airflow_env(local_config(), PASSWORDS).items()
             if k.startswith("AIRFLOW_CONN_")}
    assert local == CONNECTIONS, "the local stack's connections changed: update docker-compose.yaml and this test"
    envs = {name: env(s) for name, s in airflow_services(services).items()}
    first = next(iter(envs.values()))
    for name, e in envs.items():
        for var in CONNECTIONS:
            assert var in e, f"{name} lacks {var}"
            assert e[var] == first[var], f"{name}: {var} differs from the other Airflow services"
    for var in CONNECTIONS:
        monkeypatch.setenv(var, first[var])
    conn = {var: BaseHook.get_connection(var.removeprefix("AIRFLOW_CONN_").lower()) for var in CONNECTIONS}
    for var, conn_type in CONNECTIONS.items():
        assert conn[var].conn_type == conn_type, var
    for cluster in ("source", "target"):
        extra = conn[f"AIRFLOW_CONN_KAFKA_{cluster.upper()}"].extra_dejson
        assert extra["bootstrap.servers"] == compose.BOOTSTRAP[cluster]
        assert extra.get("security.protocol", "PLAINTEXT") == protocol_of(services, cluster)
    prom, connect = conn["AIRFLOW_CONN_PROMETHEUS"], conn["AIRFLOW_CONN_KAFKA_CONNECT"]
    assert (prom.host, prom.port, prom.schema) == ("prometheus", prometheus_port(services), "http")
    assert (connect.host, connect.port, connect.schema) == (compose.REST.host, compose.REST.port, "http")


def test_airflow_secrets_come_from_the_init_script(services, tmp_path) -> None:
    init = services["airflow-init"]
    script = host_path(init, init["entrypoint"][-1])
    assert script == DOCKER_DIR / "airflow" / "init.sh"
    e = env(init)
    secrets_mount = named_volumes(init)["airflow-secrets"]
    # The stub `airflow` records what the script asks of it.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "airflow").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/airflow-calls\n')
    (bin_dir / "airflow").chmod(0o755)
    secrets_dir = tmp_path / "secrets"
    run_env = {"PATH": f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin", "SECRETS_DIR": str(secrets_dir),
               "AIRFLOW_ADMIN_USER": e["AIRFLOW_ADMIN_USER"], "AIRFLOW_ADMIN_PASSWORD": "first"}

    def run() -> None:
        done = subprocess.run(["bash", str(script)], env=run_env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr

    run()
    jwt, fernet = (secrets_dir / "jwt_secret").read_text(), (secrets_dir / "fernet_key").read_text()
    api_key = (secrets_dir / "api_secret_key").read_text()
    for secret in (jwt, api_key):
        assert len(secret) >= 32 and secret.strip() == secret, "no newline in a secret file (Airflow's _CMD output)"
    assert jwt != api_key
    from cryptography.fernet import Fernet

    Fernet(fernet.encode())  # a valid key, no newline
    assert json.loads((secrets_dir / "simple_auth_manager_passwords.json").read_text()) == {"admin": "first"}
    assert all((p.stat().st_mode & 0o077) == 0 for p in secrets_dir.iterdir()), "secrets readable by others"
    assert (tmp_path / "airflow-calls").read_text().split("\n")[0] == "db migrate"
    run_env["AIRFLOW_ADMIN_PASSWORD"] = "second"
    run()
    assert (secrets_dir / "jwt_secret").read_text() == jwt and (secrets_dir / "fernet_key").read_text() == fernet
    assert (secrets_dir / "api_secret_key").read_text() == api_key
    assert json.loads((secrets_dir / "simple_auth_manager_passwords.json").read_text()) == {"admin": "second"}
    # The services read those files where the init script writes them, and Airflow takes them as they are.
    common = env(services["airflow-scheduler"])
    files = {"AIRFLOW__API_AUTH__JWT_SECRET_CMD": "jwt_secret", "AIRFLOW__API__SECRET_KEY_CMD": "api_secret_key",
             "AIRFLOW__CORE__FERNET_KEY_CMD": "fernet_key"}
    for var, file in files.items():
        assert common[var] == f"cat {secrets_mount / file}", var
    assert common["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] == str(
        secrets_mount / "simple_auth_manager_passwords.json")
    assert common["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == f"{e['AIRFLOW_ADMIN_USER']}:admin"
    for name, service in airflow_services(services).items():
        assert named_volumes(service).get("airflow-secrets") == secrets_mount, f"{name} lacks the secrets volume"
    code = ("from airflow.configuration import conf; import json; "
            "print(json.dumps([conf.get('api_auth', 'jwt_secret'), conf.get('api', 'secret_key'), "
            "conf.get('core', 'fernet_key')]))")
    check_env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "home")}
    for var, file in files.items():
        check_env[var] = f"cat {secrets_dir / file}"
    done = subprocess.run([sys.executable, "-c", code], env=check_env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [jwt, api_key, fernet]


# ----------------------------------------------------------------------- the connector one-shot's script
class _FakeConnect(BaseHTTPRequestHandler):
    """Connect's REST API as the script sees it: one 409 (rebalance) per connector, then 201/200; the source
    connector first reports no task, then one."""

    puts: list[tuple[str, dict]] = []
    known: set[str] = set()
    conflicts: set[str] = set()
    status_calls: dict[str, int] = {}
    put_status = 0  # 0: normal; else answer every PUT with this status

    def _send(self, status: int, body: Any) -> None:
        raw = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/connectors":
            return self._send(200, sorted(self.known))
        m = re.fullmatch(r"/connectors/([^/]+)/status", self.path)
        if not m:
            return self._send(404, {"error_code": 404})
        name = unquote(m.group(1))
        n = self.status_calls[name] = self.status_calls.get(name, 0) + 1
        tasks = [] if name == NAMING.connector_name("MirrorSourceConnector") and n < 2 else [
            {"id": 0, "state": "RUNNING", "worker_id": "connect:8083"}]
        self._send(200, {"name": name, "connector": {"state": "RUNNING", "worker_id": "connect:8083"},
                         "tasks": tasks, "type": "source"})

    def do_PUT(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.put_status:
            return self._send(self.put_status, {"error_code": self.put_status, "message": "bad config"})
        if self.path not in self.conflicts:
            self.conflicts.add(self.path)
            return self._send(409, {"error_code": 409, "message": "rebalance in progress"})
        self.puts.append((self.path, body))
        created = self.path not in self.known
        self.known.add(self.path)
        self._send(201 if created else 200, {"name": body.get("name"), "config": body})

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def fake_connect():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _FakeConnect)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    _FakeConnect.puts, _FakeConnect.known, _FakeConnect.conflicts = [], set(), set()
    _FakeConnect.status_calls, _FakeConnect.put_status = {}, 0


def _need_curl() -> None:
    """The one-shot script runs in the curlimages/curl image; here it needs the host's curl (`make deps` installs it:
    a missing curl fails the test rather than skipping it)."""
    assert shutil.which("curl"), "curl is not installed: run `make deps` (Debian package curl)"


def test_connector_script_puts_each_config_idempotently_and_waits(services, fake_connect) -> None:
    _need_curl()
    one_shot = services["mm2-connectors"]
    script = host_path(one_shot, one_shot["entrypoint"][-1])
    run_env = {"PATH": os.environ["PATH"], "CONNECT_URL": fake_connect, "CONNECTORS_DIR": str(connectors_dir(services)),
               "TIMEOUT_S": "30"}

    def run() -> subprocess.CompletedProcess:
        return subprocess.run(["sh", str(script)], env=run_env, capture_output=True, text=True, timeout=90)

    done = run()
    assert done.returncode == 0, done.stdout + done.stderr
    configs = compose.connectors(NAMING).values()
    assert dict(_FakeConnect.puts) == {connector_path(c["name"]) + "/config": c for c in configs}, (
        "PUT paths must be the URL-encoded names, bodies the JSON files")
    assert _FakeConnect.status_calls[NAMING.connector_name("MirrorSourceConnector")] >= 2, "did not wait for a task"
    for config in configs:
        assert f"{config['name']} is RUNNING" in done.stdout
    done = run()  # again: updates, no error
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(_FakeConnect.puts) == 2 * len(configs) and "updated" in done.stdout
    _FakeConnect.put_status = 400
    done = run()
    assert done.returncode == 1 and "HTTP 400" in done.stderr and "bad config" in done.stderr


def test_connector_script_fails_when_connect_does_not_answer(services) -> None:
    _need_curl()
    one_shot = services["mm2-connectors"]
    script = host_path(one_shot, one_shot["entrypoint"][-1])
    done = subprocess.run(["sh", str(script)], capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ["PATH"], "CONNECT_URL": "http://127.0.0.1:9", "TIMEOUT_S": "3",
                               "CONNECTORS_DIR": str(connectors_dir(services))})
    assert done.returncode == 1 and "did not answer within 3s" in done.stderr
