"""The jar cache per Kafka version: what makes it complete, the Log4j2 read from Kafka's own poms, Maven's errors.

Maven is a fake here (a script on PATH that records its arguments and writes what the real one would); the real
fetch runs in the integration tests' stack.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from mm2_stack import jars
from mm2_stack.config import JMX_EXPORTER_JAR, KAFKA_VERSION, StackConfig, StackError

#: ``mvn dependency:tree -Dincludes=org.apache.logging.log4j:log4j-core`` on Kafka 4.3.1, as Maven writes it.
TREE_4_3_1 = """io.github.mm2smoke:mm2-smoke-stack:pom:1
\\- org.apache.kafka:kafka_2.13:jar:4.3.1:compile
   \\- org.apache.kafka:kafka-server:jar:4.3.1:runtime
      \\- org.apache.logging.log4j:log4j-core:jar:2.25.4:runtime
"""
#: Maven's error when the repository has no such artifact (as it reads for Kafka 4.4.0's MirrorMaker here).
NOT_FOUND = ("[ERROR] Failed to execute goal on project mm2-smoke-stack: Could not resolve dependencies for project "
             "io.github.mm2smoke:mm2-smoke-stack:pom:1: The following artifacts could not be resolved: "
             "org.apache.kafka:connect-mirror:jar:4.4.0, org.apache.kafka:connect-mirror-client:jar:4.4.0: "
             "Could not find artifact org.apache.kafka:connect-mirror:jar:4.4.0 in central "
             "(https://repo.maven.apache.org/maven2) -> [Help 1]")
CACHED_NOT_FOUND = ("[ERROR] Failed to execute goal on project mm2-smoke-stack: Could not resolve dependencies for "
                    "project io.github.mm2smoke:mm2-smoke-stack:pom:1: The following artifacts could not be resolved: "
                    "org.apache.kafka:connect-mirror:jar:4.3.2: org.apache.kafka:connect-mirror:jar:4.3.2 was not "
                    "found in https://repo.maven.apache.org/maven2 during a previous attempt.")
UNREACHABLE = ("[ERROR] Failed to execute goal on project mm2-smoke-stack: Could not resolve dependencies for project "
               "io.github.mm2smoke:mm2-smoke-stack:pom:1: The following artifacts could not be resolved: "
               "org.apache.kafka:connect-mirror:jar:4.3.1: Could not transfer artifact "
               "org.apache.kafka:connect-mirror:jar:4.3.1 from/to central: Connection refused")


def _config(tmp_path: Path, version: str) -> StackConfig:
    return StackConfig(root=tmp_path / "stack", kafka_version=version)


def _fill(config: StackConfig, *extra: str) -> None:
    config.jars_dir.mkdir(parents=True, exist_ok=True)
    for name in (*(n for n in jars.required(config) if "*" not in n), *extra):
        (config.jars_dir / name).write_bytes(b"")


@pytest.mark.parametrize("version", ["4.1.1", "4.2.0", "4.3.1", "4.4.0"])
def test_kafka_4_needs_a_log4j2_binding_of_any_version(tmp_path: Path, version: str) -> None:
    config = _config(tmp_path, version)
    assert f"connect-mirror-{version}.jar" in jars.required(config) and JMX_EXPORTER_JAR in jars.required(config)
    _fill(config)
    assert jars.missing_jars(config) == ["log4j-slf4j-impl-*.jar"]
    (config.jars_dir / "log4j-slf4j-impl-2.25.4.jar").write_bytes(b"")
    assert jars.missing_jars(config) == []


def test_kafka_3_brings_its_own_logging(tmp_path: Path) -> None:
    config = _config(tmp_path, "3.9.1")
    assert not any("log4j" in name for name in jars.required(config))
    _fill(config)
    assert jars.missing_jars(config) == []
    assert jars.maven_args(config) == ["-Dkafka.version=3.9.1"]


def test_the_log4j2_binding_takes_the_version_read_from_kafka() -> None:
    assert jars.log4j2_of_tree(TREE_4_3_1) == "2.25.4"
    assert jars.log4j2_of_tree("io.github.mm2smoke:mm2-smoke-stack:pom:1\n") == ""
    config = StackConfig(root=Path("/tmp"), kafka_version="4.3.1")
    assert jars.maven_args(config, "2.25.4") == ["-Dkafka.version=4.3.1", "-Dlog4j.version=2.25.4"]


def test_unserved_artifacts_are_read_from_mavens_errors() -> None:
    assert jars.unserved_artifacts(NOT_FOUND) == ["org.apache.kafka:connect-mirror-client:jar:4.4.0",
                                                  "org.apache.kafka:connect-mirror:jar:4.4.0"]
    assert jars.unserved_artifacts(CACHED_NOT_FOUND) == ["org.apache.kafka:connect-mirror:jar:4.3.2"]
    assert jars.unserved_artifacts(UNREACHABLE) == []  # a network failure is not a missing artifact


FAKE_MVN = """#!{python}
import json, os, pathlib, sys
args = sys.argv[1:]
with open(os.environ["FAKE_MVN_CALLS"], "a") as fh:
    fh.write(json.dumps(args) + "\\n")
if os.environ.get("FAKE_MVN_ERROR"):
    print(os.environ["FAKE_MVN_ERROR"])
    sys.exit(1)
props = dict(a[2:].split("=", 1) for a in args if a.startswith("-D") and "=" in a)
if "dependency:tree" in args:
    pathlib.Path(props["outputFile"]).write_text(os.environ["FAKE_MVN_TREE"])
else:
    out = pathlib.Path(props["outputDirectory"])
    out.mkdir(parents=True)
    v = props["kafka.version"]
    names = [f"kafka_2.13-{{v}}.jar", f"kafka-tools-{{v}}.jar", f"connect-runtime-{{v}}.jar", f"connect-mirror-{{v}}.jar",
             f"connect-mirror-client-{{v}}.jar", f"connect-basic-auth-extension-{{v}}.jar", "{exporter}"]
    if "log4j.version" in props:
        names += [f"log4j-core-{{props['log4j.version']}}.jar", f"log4j-slf4j-impl-{{props['log4j.version']}}.jar"]
    for name in names:
        (out / name).write_bytes(b"")
"""


@pytest.fixture
def fake_mvn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``mvn`` on PATH; returns the file where it records each call's arguments (one JSON list a line)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    mvn = bin_dir / "mvn"
    mvn.write_text(FAKE_MVN.format(python=sys.executable, exporter=JMX_EXPORTER_JAR))
    mvn.chmod(mvn.stat().st_mode | stat.S_IXUSR)
    calls = tmp_path / "calls.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_MVN_CALLS", str(calls))
    monkeypatch.setenv("FAKE_MVN_TREE", TREE_4_3_1)
    monkeypatch.delenv("FAKE_MVN_ERROR", raising=False)
    return calls


def _calls(path: Path) -> list[list[str]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def test_kafka_4_reads_its_log4j2_then_fetches_the_binding_of_that_version(tmp_path: Path, fake_mvn: Path) -> None:
    config = _config(tmp_path, "4.3.1")
    assert jars.ensure_jars(config) is True
    tree, copy = _calls(fake_mvn)
    assert "dependency:tree" in tree and "-Dkafka.version=4.3.1" in tree
    assert not any(a.startswith("-Dlog4j.version") for a in tree), "the tree must show Kafka's own Log4j2"
    assert "dependency:copy-dependencies" in copy and "-Dlog4j.version=2.25.4" in copy
    assert (config.jars_dir / "log4j-slf4j-impl-2.25.4.jar").is_file()
    assert not config.jars_dir.with_name("4.3.1.partial").exists()
    assert jars.ensure_jars(config) is False and len(_calls(fake_mvn)) == 2  # a complete cache: Maven not run


def test_kafka_3_fetches_in_one_run_without_log4j2(tmp_path: Path, fake_mvn: Path) -> None:
    config = _config(tmp_path, "3.9.1")
    assert jars.ensure_jars(config) is True
    (copy,) = _calls(fake_mvn)
    assert "dependency:copy-dependencies" in copy and not any("log4j" in a for a in copy)


def test_a_version_whose_jars_are_not_served_names_them_and_the_default(tmp_path: Path, fake_mvn: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_MVN_ERROR", NOT_FOUND)
    config = _config(tmp_path, "4.4.0")
    with pytest.raises(StackError) as err:
        jars.ensure_jars(config)
    assert err.value.part == "jars"
    assert (f"does not serve org.apache.kafka:connect-mirror-client:jar:4.4.0, org.apache.kafka:connect-mirror:jar:"
            f"4.4.0 to this machine: Kafka 4.4.0 cannot run here; use {KAFKA_VERSION} (default)") in str(err.value)
    assert not config.jars_dir.exists()


def test_an_unreachable_repository_is_said_so(tmp_path: Path, fake_mvn: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_MVN_ERROR", UNREACHABLE)
    with pytest.raises(StackError, match="is Maven Central reachable"):
        jars.ensure_jars(_config(tmp_path, "3.9.1"))


def test_kafka_4_whose_poms_name_no_log4j2_is_refused(tmp_path: Path, fake_mvn: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_MVN_TREE", "io.github.mm2smoke:mm2-smoke-stack:pom:1\n")
    with pytest.raises(StackError, match="poms name no log4j-core"):
        jars.ensure_jars(_config(tmp_path, "4.4.0"))
