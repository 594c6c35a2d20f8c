"""Fetching the stack's jars from Maven Central into a cache folder per Kafka version that later runs reuse."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from mm2_stack.config import JMX_EXPORTER_JAR, KAFKA_VERSION, PACKAGE_DIR, StackConfig, StackError

POM = PACKAGE_DIR / "pom.xml"
#: The slf4j 1.7 binding of Log4j2 the stack adds on Kafka 4 (Kafka's slf4j-api is 1.7.36, with no binding: without
#: one its logging goes silent), at the version of Kafka's own Log4j2.
LOG4J2_BINDING = "log4j-slf4j-impl"


def required(config: StackConfig) -> tuple[str, ...]:
    """The jars whose presence says the cache of ``config``'s Kafka version is complete (``*``: any version)."""
    v = config.kafka_version
    names = [f"kafka_2.13-{v}.jar", f"kafka-tools-{v}.jar", f"connect-runtime-{v}.jar", f"connect-mirror-{v}.jar",
             f"connect-mirror-client-{v}.jar", f"connect-basic-auth-extension-{v}.jar", JMX_EXPORTER_JAR]
    if config.line.log4j2:
        names.append(f"{LOG4J2_BINDING}-*.jar")
    return tuple(names)


def missing_jars(config: StackConfig) -> list[str]:
    return [name for name in required(config) if not any(config.jars_dir.glob(name))]


def log4j2_of_tree(tree: str) -> str:
    """The log4j-core version in the output of ``mvn dependency:tree`` ('' when there is none)."""
    found = re.findall(r"org\.apache\.logging\.log4j:log4j-core:jar:([^:\s]+):", tree)
    return found[0] if found else ""


def unserved_artifacts(maven_output: str) -> list[str]:
    """The artifacts Maven's output says the repository does not have (``group:artifact:type:version``)."""
    found = set(re.findall(r"Could not find artifact (\S+)", maven_output))
    found |= set(re.findall(r"(\S+) was not found in ", maven_output))
    for line in maven_output.splitlines():
        listed = re.search(r"artifacts could not be resolved: ((?:[\w.-]+(?::[\w.-]+){3}(?:, )?)+)", line)
        if listed and ("Could not find" in line or "was not found" in line):
            found |= set(listed.group(1).split(", "))
    return sorted(found)


def maven_args(config: StackConfig, log4j2: str = "") -> list[str]:
    """The properties of ``pom.xml``: the Kafka version, and on Kafka 4 the Log4j2 of the binding it adds
    (``log4j2``; without it the pom adds none: Kafka 3, or reading Kafka's own Log4j2)."""
    args = [f"-Dkafka.version={config.kafka_version}"]
    if log4j2:
        args.append(f"-Dlog4j.version={log4j2}")
    return args


def _maven(config: StackConfig, mvn: str, goal: list[str], log4j2: str = "") -> None:
    # -U: a release Maven found missing before is asked for again (it runs only when the cache is incomplete).
    proc = subprocess.run([mvn, "-q", "-B", "-U", "-f", str(POM), *goal, *maven_args(config, log4j2)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        out = proc.stdout + proc.stderr
        tail = "\n".join(out.splitlines()[-20:])
        unserved = unserved_artifacts(out)
        if unserved:
            raise StackError("jars", f"Maven Central does not serve {', '.join(unserved)} to this machine: Kafka "
                             f"{config.kafka_version} cannot run here; use {KAFKA_VERSION} (default) or another "
                             "patch", tail)
        raise StackError("jars", f"Maven could not fetch the jars of Kafka {config.kafka_version} (is Maven Central "
                         "reachable, is the version published?)", tail)


def kafka_log4j2(config: StackConfig, mvn: str) -> str:
    """The Log4j2 that Kafka ``config.kafka_version`` ships: the log4j-core its kafka-server's pom names (it changes
    with the patch: 4.1.1 has 2.24.3, 4.1.2 2.25.3), read by Maven from the poms of that version."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "tree.txt"
        _maven(config, mvn, ["dependency:tree", "-Dincludes=org.apache.logging.log4j:log4j-core",
                             f"-DoutputFile={out}"])
        version = log4j2_of_tree(out.read_text() if out.is_file() else "")
    if not version:
        raise StackError("jars", f"Kafka {config.kafka_version}'s poms name no log4j-core: which Log4j2 it logs "
                         "through is unknown (see KAFKA_LINES in config.py)")
    return version


def ensure_jars(config: StackConfig) -> bool:
    """Download the jars with Maven unless every required jar is cached already.

    :return: True if Maven ran (a cold cache), False if the cache was complete.
    """
    if not missing_jars(config):
        return False
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError("jars", "Maven (`mvn`) is not on PATH: install it (Debian: apt-get install maven)")
    staging = config.jars_dir.with_name(config.jars_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    print(f"fetching Kafka {config.kafka_version} and JMX exporter jars with Maven...", file=sys.stderr, flush=True)
    log4j2 = kafka_log4j2(config, mvn) if config.line.log4j2 else ""
    _maven(config, mvn, ["dependency:copy-dependencies", f"-DoutputDirectory={staging}"], log4j2)
    # Swap in atomically so a failed download never leaves a half-filled cache behind.
    shutil.rmtree(config.jars_dir, ignore_errors=True)
    config.jars_dir.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(config.jars_dir)
    still = missing_jars(config)
    if still:
        raise StackError("jars", f"Maven ran but these jars are missing: {', '.join(still)}")
    return True
