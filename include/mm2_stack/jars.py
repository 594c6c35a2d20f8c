"""Fetching the stack's jars from Maven Central into a cache folder per Kafka version that later runs reuse."""

from __future__ import annotations

import shutil
import subprocess
import sys

from mm2_stack.config import JMX_EXPORTER_JAR, PACKAGE_DIR, StackConfig, StackError

#: The Log4j2 of each Kafka 4 line (Kafka's own; its slf4j 1.7 binding is added). Kafka 3 logs through reload4j.
LOG4J_VERSIONS = {"4.1": "2.24.3", "4.3": "2.25.4"}


def required(config: StackConfig) -> tuple[str, ...]:
    """The jars whose presence says the cache of ``config``'s Kafka version is complete."""
    v = config.kafka_version
    names = [f"kafka_2.13-{v}.jar", f"kafka-tools-{v}.jar", f"connect-runtime-{v}.jar", f"connect-mirror-{v}.jar",
             f"connect-mirror-client-{v}.jar", f"connect-basic-auth-extension-{v}.jar", JMX_EXPORTER_JAR]
    if config.kafka_line in LOG4J_VERSIONS:
        names.append(f"log4j-slf4j-impl-{LOG4J_VERSIONS[config.kafka_line]}.jar")
    return tuple(names)


def missing_jars(config: StackConfig) -> list[str]:
    return [name for name in required(config) if not (config.jars_dir / name).is_file()]


def maven_args(config: StackConfig) -> list[str]:
    """The properties that choose the Kafka version (and its logging) in ``pom.xml``."""
    args = [f"-Dkafka.version={config.kafka_version}"]
    if config.kafka_line in LOG4J_VERSIONS:
        args.append(f"-Dlog4j.version={LOG4J_VERSIONS[config.kafka_line]}")
    else:
        args.append("-Dkafka3")
    return args


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
    proc = subprocess.run(
        [mvn, "-q", "-B", "-f", str(PACKAGE_DIR / "pom.xml"), "dependency:copy-dependencies",
         f"-DoutputDirectory={staging}", *maven_args(config)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
        raise StackError("jars", f"Maven could not fetch the jars of Kafka {config.kafka_version} (is Maven Central "
                         "reachable, is the version published?)", tail)
    # Swap in atomically so a failed download never leaves a half-filled cache behind.
    shutil.rmtree(config.jars_dir, ignore_errors=True)
    config.jars_dir.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(config.jars_dir)
    still = missing_jars(config)
    if still:
        raise StackError("jars", f"Maven ran but these jars are missing: {', '.join(still)}")
    return True
