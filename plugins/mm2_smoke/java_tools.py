"""Running Kafka's own Java tools (ProducerPerformance, ConfigCommand, ...) from a librdkafka-style config.

Unlike the rest of the package, which talks to Kafka through librdkafka (confluent-kafka), this module starts a JVM
with Kafka's jars: the runbook's variant B (:mod:`mm2_smoke.perf_test`), the quota diagnostic, the local stack's
faults.

Where Kafka's jars are: the ``classpath`` argument, else the ``KAFKA_TOOLS_CLASSPATH`` environment variable
(a Java classpath such as ``/opt/kafka/libs/*``; the local stack writes it to its ``airflow.env``), else
``$KAFKA_HOME/libs/*``. Java is ``$JAVA_HOME/bin/java`` or ``java`` on ``PATH``. Secrets go through a
temporary 0600 properties file, never the command line (which ``ps`` shows).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mm2_smoke.connections import SASL_LOGIN_MODULES
from mm2_smoke.errors import InputError, UnavailableError

#: The environment variable holding the classpath of Kafka's jars.
TOOLS_CLASSPATH_ENV = "KAFKA_TOOLS_CLASSPATH"
#: Kafka's tools logging (its ``config/tools-log4j2.yaml``): warnings and errors to stderr, stdout left to the
#: tool's own output.
TOOLS_LOG4J2 = (
    "status = warn\n"
    "appender.err.type = Console\n"
    "appender.err.name = STDERR\n"
    "appender.err.target = SYSTEM_ERR\n"
    "appender.err.layout.type = PatternLayout\n"
    "appender.err.layout.pattern = [%d] %p %m (%c)%n\n"
    "rootLogger.level = WARN\n"
    "rootLogger.appenderRef.err.ref = STDERR\n"
)


class KafkaToolsUnavailable(UnavailableError):
    """Java or Kafka's tools are not available here; the message says how to provide them."""


def _jaas_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def java_client_properties(client_config: dict[str, Any]) -> dict[str, str]:
    """The Java client settings of librdkafka settings (the Airflow ``kafka`` connection's extra).

    Translates ``sasl.username``/``sasl.password`` into ``sasl.jaas.config``, ``ssl.ca.location`` into a PEM trust
    store, and a client certificate (``ssl.certificate.location``, ``ssl.key.location``, ``ssl.key.password``) into an
    in-line PEM key store; passes ``bootstrap.servers``, ``security.protocol`` and ``sasl.mechanism`` as they are.

    :param client_config: librdkafka settings.
    :raises InputError: when ``bootstrap.servers`` is missing, or a SASL setting lacks its user or password (the
        field is the librdkafka key).
    """
    if not client_config.get("bootstrap.servers"):
        raise InputError("config['{field}'] must be provided", {"field": "bootstrap.servers"})
    props = {"bootstrap.servers": str(client_config["bootstrap.servers"]),
             "security.protocol": str(client_config.get("security.protocol", "PLAINTEXT")).upper()}
    if props["security.protocol"].startswith("SASL_"):
        mechanism = str(client_config.get("sasl.mechanism") or client_config.get("sasl.mechanisms") or "GSSAPI")
        mechanism = mechanism.upper()
        if mechanism not in SASL_LOGIN_MODULES:
            raise InputError("{field} {value!r} is not supported here: use one of {known}", {"field": "sasl.mechanism"},
                             value=mechanism, known=", ".join(SASL_LOGIN_MODULES))
        user, password = client_config.get("sasl.username"), client_config.get("sasl.password")
        if not user or not password:
            raise InputError("config['{field}'] and config['{password}'] must be provided with {protocol}",
                             {"field": "sasl.username", "password": "sasl.password"},
                             protocol=props["security.protocol"])
        props["sasl.mechanism"] = mechanism
        props["sasl.jaas.config"] = (f"{SASL_LOGIN_MODULES[mechanism]} required username={_jaas_quote(str(user))} "
                                     f"password={_jaas_quote(str(password))};")
    ca = client_config.get("ssl.ca.location")
    if ca and props["security.protocol"].endswith("SSL"):
        props["ssl.truststore.type"] = "PEM"
        props["ssl.truststore.location"] = str(ca)
    cert, key = client_config.get("ssl.certificate.location"), client_config.get("ssl.key.location")
    if (cert or key) and props["security.protocol"].endswith("SSL"):
        props.update(java_keystore(str(cert or ""), str(key or ""), client_config.get("ssl.key.password")))
    return props


def java_keystore(cert: str, key: str, key_password: Any = None) -> dict[str, str]:
    """A client certificate (mTLS) as the Java client's in-line PEM key store: the certificate chain and the key's
    text (an encrypted PKCS#8 key with ``ssl.key.password``). They go into a 0600 properties file, never a command
    line.

    :raises InputError: when one of the two is missing or cannot be read (the field is the librdkafka key).
    """
    texts = {}
    for field, path in (("ssl.certificate.location", cert), ("ssl.key.location", key)):
        if not path:
            raise InputError("config['{field}'] must be provided with a client certificate", {"field": field})
        try:
            texts[field] = Path(path).read_text()
        except OSError as exc:
            raise InputError("config['{field}'] {path}: {why}", {"field": field}, path=path,
                             why=exc.strerror or str(exc)) from None
    props = {"ssl.keystore.type": "PEM", "ssl.keystore.certificate.chain": texts["ssl.certificate.location"],
             "ssl.keystore.key": texts["ssl.key.location"]}
    if key_password:
        props["ssl.key.password"] = str(key_password)
    return props


def _escape_property(value: str) -> str:
    """A value as ``java.util.Properties`` reads it back."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def write_properties(path: Path, props: dict[str, str]) -> None:
    """Write ``props`` as a Java properties file readable by its owner only (mode 0600).

    :param path: the file to write.
    :param props: the properties (values escaped as ``java.util.Properties`` reads them back).
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.writelines(f"{k}={_escape_property(v)}\n" for k, v in props.items())
    os.chmod(path, 0o600)


def find_java(java: str | None = None) -> str:
    """The ``java`` executable: ``java`` if given, else ``$JAVA_HOME/bin/java``, else ``java`` on PATH.

    :param java: the executable to use (default: as above).

    :raises KafkaToolsUnavailable: when there is none.
    """
    candidates = [java] if java else []
    if not java and os.environ.get("JAVA_HOME"):
        candidates.append(str(Path(os.environ["JAVA_HOME"]) / "bin" / "java"))
    if not java:
        candidates.append("java")
    for c in candidates:
        found = shutil.which(c)
        if found:
            return found
    raise KafkaToolsUnavailable(f"`{java or 'java'}` not found: install Java 17+ (Debian: apt-get install "
                                "openjdk-17-jre-headless) or set JAVA_HOME")


def tools_classpath(classpath: str | None = None) -> str:
    """The classpath of Kafka's tools: ``classpath``, else ``$KAFKA_TOOLS_CLASSPATH``, else ``$KAFKA_HOME/libs/*``.

    :param classpath: a Java classpath (default: as above).

    :raises KafkaToolsUnavailable: when none is set, or it holds no ``kafka-tools-*.jar``.
    """
    source = "the classpath argument"
    if not classpath and os.environ.get(TOOLS_CLASSPATH_ENV):
        classpath, source = os.environ[TOOLS_CLASSPATH_ENV], f"${TOOLS_CLASSPATH_ENV}"
    if not classpath and os.environ.get("KAFKA_HOME"):
        classpath, source = str(Path(os.environ["KAFKA_HOME"]) / "libs" / "*"), "$KAFKA_HOME/libs/*"
    if not classpath:
        raise KafkaToolsUnavailable(
            f"Kafka's tools are not available: set {TOOLS_CLASSPATH_ENV} to the classpath of Kafka's jars "
            "(e.g. '/opt/kafka/libs/*'; the local stack writes it to .stack/airflow.env) or KAFKA_HOME")
    jars: list[str] = []
    for entry in classpath.split(os.pathsep):
        jars += glob.glob(entry + ".jar") if entry.endswith("*") else [entry]
    if not any(Path(j).name.startswith("kafka-tools-") and Path(j).is_file() for j in jars):
        raise KafkaToolsUnavailable(
            f"no kafka-tools-*.jar in {source} ({classpath!r}): point {TOOLS_CLASSPATH_ENV} at Kafka's libs "
            "folder, e.g. '/opt/kafka/libs/*'")
    return classpath


@contextmanager
def properties_file(props: dict[str, str]) -> Iterator[Path]:
    """A temporary properties file (mode 0600, in a private folder) holding ``props``; removed on exit.

    :param props: the properties.
    """
    with tempfile.TemporaryDirectory(prefix="mm2-smoke-") as tmp:
        path = Path(tmp) / "client.properties"
        write_properties(path, props)
        yield path


def run_tool(main_class: str, args: list[str], classpath: str | None = None, timeout_s: float = 60) -> str:
    """Run a Kafka tool class (logs to stderr); its stdout.

    :param main_class: the tool's class, e.g. ``kafka.admin.ConfigCommand``.
    :param args: its arguments.
    :param classpath: Kafka's jars (default: :func:`tools_classpath`'s).
    :param timeout_s: the tool is killed after this many seconds (default 60).
    :raises KafkaToolsUnavailable: when Java or Kafka's tools are missing.
    :raises UnavailableError: when the tool fails (with its output's tail).
    """
    java = find_java()
    cp = tools_classpath(classpath)
    with tempfile.TemporaryDirectory(prefix="mm2-smoke-log-") as tmp:
        log_config = Path(tmp) / "log4j2.properties"
        log_config.write_text(TOOLS_LOG4J2)
        done = subprocess.run([java, "-Xmx256m", f"-Dlog4j2.configurationFile={log_config}", "-cp", cp, main_class,
                               *args], capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        out = done.stdout + done.stderr
        tail = "\n".join(line for line in out.splitlines()[-5:] if "password" not in line.lower())
        raise UnavailableError("{tool} exited {code}: {tail}", tool=main_class.rsplit(".", 1)[-1],
                               code=done.returncode, tail=tail)
    return done.stdout


def describe_user_quotas(config: dict[str, Any], user: str, classpath: str | None = None) -> dict[str, float]:
    """Client quotas of ``user`` (e.g. ``{"producer_byte_rate": 4096.0}``) via Kafka's ConfigCommand.

    :param config: librdkafka settings of the cluster (with an admin's credentials).
    :param user: the user principal's name (``mm2``).
    :param classpath: Kafka's jars (default: :func:`tools_classpath`'s).
    """
    props = java_client_properties(config)
    with properties_file({k: v for k, v in props.items() if k != "bootstrap.servers"}) as path:
        out = run_tool("kafka.admin.ConfigCommand", ["--bootstrap-server", props["bootstrap.servers"],
                                                     "--command-config", str(path), "--describe",
                                                     "--entity-type", "users", "--entity-name", user], classpath)
    return parse_quotas(out)


def parse_quotas(output: str) -> dict[str, float]:
    """Parse ``Quota configs for user-principal 'mm2' are producer_byte_rate=4096.0, ...``."""
    quotas: dict[str, float] = {}
    for line in output.splitlines():
        if "Quota configs" in line and " are " in line:
            for key, value in re.findall(r"([a-z_]+)=([0-9.eE+-]+)", line.split(" are ", 1)[1]):
                quotas[key] = float(value)
    return quotas
