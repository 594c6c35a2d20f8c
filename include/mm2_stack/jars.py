"""Fetching the stack's jars from Maven Central into a cache folder that later runs reuse."""

from __future__ import annotations

import shutil
import subprocess
import sys

from mm2_stack.config import JMX_EXPORTER_JAR, KAFKA_VERSION, PACKAGE_DIR, StackConfig, StackError

REQUIRED = (
    f"kafka_2.13-{KAFKA_VERSION}.jar",
    f"kafka-tools-{KAFKA_VERSION}.jar",
    f"connect-runtime-{KAFKA_VERSION}.jar",
    f"connect-mirror-{KAFKA_VERSION}.jar",
    f"connect-mirror-client-{KAFKA_VERSION}.jar",
    "log4j-slf4j-impl-2.24.3.jar",
    JMX_EXPORTER_JAR,
)


def missing_jars(config: StackConfig) -> list[str]:
    return [name for name in REQUIRED if not (config.jars_dir / name).is_file()]


def ensure_jars(config: StackConfig) -> bool:
    """Download the jars with Maven unless every required jar is cached already.

    :return: True if Maven ran (a cold cache), False if the cache was complete.
    """
    if not missing_jars(config):
        return False
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError("jars", "Maven (`mvn`) is not on PATH: install it (Debian: apt-get install maven)")
    staging = config.root / "jars.partial"
    shutil.rmtree(staging, ignore_errors=True)
    print(f"fetching Kafka {KAFKA_VERSION} and JMX exporter jars with Maven...", file=sys.stderr, flush=True)
    proc = subprocess.run(
        [mvn, "-q", "-B", "-f", str(PACKAGE_DIR / "pom.xml"), "dependency:copy-dependencies",
         f"-DoutputDirectory={staging}"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
        raise StackError("jars", "Maven could not fetch the stack's jars (is Maven Central reachable?)", tail)
    # Swap in atomically so a failed download never leaves a half-filled cache behind.
    shutil.rmtree(config.jars_dir, ignore_errors=True)
    staging.rename(config.jars_dir)
    still = missing_jars(config)
    if still:
        raise StackError("jars", f"Maven ran but these jars are missing: {', '.join(still)}")
    return True
