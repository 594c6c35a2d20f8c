"""The metrics store scraping the Connect worker's JMX exporter: Debian's Prometheus (default) or Debian's
VictoriaMetrics with its default flags (``MM2_STACK_METRICS_STORE``), on the same port and with the same scrape
configuration, so the smoke test's ``prometheus`` connection reads either.

Its readiness is the smoke test's own metric contract (:func:`mm2_smoke.preflight.metric_contract`) for the profile
the stack's exporter produces: every series a run relies on answers with a fresh sample.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from mm2_smoke import alert_rules
from mm2_smoke.measured import Gap, Measured, Ranges
from mm2_smoke.promql import parse_instant, parse_range
from mm2_stack import proc, webauth
from mm2_stack.config import HTTP_USER, REPO_ROOT, StackConfig, StackError, load_passwords


@dataclass(frozen=True)
class Store:
    """One kind of metrics store.

    :param binary: its executable.
    :param package: the Debian package that ships it.
    :param rules: it evaluates alert rules (Prometheus does; VictoriaMetrics needs vmalert, not run here).
    """

    binary: str
    package: str
    rules: bool


STORES = {"prometheus": Store("prometheus", "prometheus", True),
          "victoriametrics": Store("victoria-metrics", "victoria-metrics", False)}


def store(config: StackConfig) -> Store:
    return STORES[config.metrics_store]


def ensure_installed(config: StackConfig) -> str:
    """The store's executable, installing its Debian package when it is missing (root only)."""
    s = store(config)
    path = shutil.which(s.binary)
    if path:
        return path
    apt = shutil.which("apt-get")
    if apt is None:
        raise StackError(config.metrics_store, f"`{s.binary}` is missing and apt-get is not available: install it "
                         f"(Debian package {s.package}) or run `make deps`")
    for args in ([apt, "update", "-qq"], [apt, "install", "-y", "-qq", "--no-install-recommends", s.package]):
        done = subprocess.run(args, capture_output=True, text=True, env={"DEBIAN_FRONTEND": "noninteractive",
                                                                          "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        if done.returncode != 0:
            raise StackError(config.metrics_store, f"{' '.join(args)} failed", done.stderr[-2000:])
    path = shutil.which(s.binary)
    if path is None:
        raise StackError(config.metrics_store, f"{s.package} installed but `{s.binary}` is not on PATH")
    return path


def rule_files(config: StackConfig) -> list[str]:
    """The alert rules of the stack's metric profile (none for a rules file of the user's, or for a store that
    evaluates none)."""
    if not store(config).rules or config.profile == "auto":
        return []
    folder = REPO_ROOT / alert_rules.out_dir(config.profile)
    return sorted(str(p) for p in folder.glob("*.yml"))


def config_text(config: StackConfig, exporter_port: int | None = None) -> str:
    """The scrape configuration (Prometheus' format, which VictoriaMetrics' ``-promscrape.config`` reads too).

    :param exporter_port: the port scraped (default the stack's JMX exporter; another one makes a wrong scrape
        address, a fault).
    """
    cfg = {
        "global": {"scrape_interval": f"{config.scrape_interval_s}s",
                   "evaluation_interval": f"{config.scrape_interval_s}s"},
        "rule_files": rule_files(config),
        "scrape_configs": [{
            "job_name": "mm2-connect",
            "static_configs": [{"targets": [f"127.0.0.1:{exporter_port or config.ports.jmx_exporter}"],
                                "labels": {"cluster": "local",
                                           "mm2_flow": ",".join(f.name for f in config.flows)}}],
        }],
    }
    if not cfg["rule_files"]:
        del cfg["rule_files"]
        del cfg["global"]["evaluation_interval"]
    # JSON is YAML: no YAML writer needed.
    return json.dumps(cfg, indent=2)


def argv(config: StackConfig, binary: str, folder: Path) -> list[str]:
    """The store's command line: listen on the stack's port, keep its data in ``folder``; with
    ``MM2_STACK_PROMETHEUS_AUTH=basic``, HTTPS with the stack's server certificate and basic auth (Prometheus: its
    web configuration file; VictoriaMetrics: ``-tls`` and ``-httpAuth.*``, the password from the environment,
    :func:`start`). Nothing else changed."""
    address = f"127.0.0.1:{config.ports.prometheus}"
    basic = config.prometheus_auth == "basic"
    if config.metrics_store == "victoriametrics":
        args = [binary, f"-promscrape.config={folder / 'scrape.yml'}", f"-httpListenAddr={address}",
                f"-storageDataPath={folder / 'data'}", "-retentionPeriod=2d"]
        if basic:
            args += ["-tls", f"-tlsCertFile={config.certs_dir / 'broker.pem'}",
                     f"-tlsKeyFile={config.certs_dir / 'broker-key.pem'}", f"-httpAuth.username={HTTP_USER}",
                     "-envflag.enable"]
        return args
    args = [binary, f"--config.file={folder / 'scrape.yml'}", f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address={address}", "--storage.tsdb.retention.time=2d", "--web.enable-lifecycle"]
    if basic:
        args.append(f"--web.config.file={folder / 'web.yml'}")
    return args


def web_config_text(config: StackConfig, password: str) -> str:
    """Prometheus' ``--web.config.file``: TLS with the stack's server certificate, one basic-auth user whose
    password is stored as a bcrypt hash (the only form Prometheus reads)."""
    import bcrypt

    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()
    return json.dumps({"tls_server_config": {"cert_file": str(config.certs_dir / "broker.pem"),
                                             "key_file": str(config.certs_dir / "broker-key.pem")},
                       "basic_auth_users": {HTTP_USER: hashed}}, indent=2)


def start(config: StackConfig) -> int:
    """Start the store on its data folder; an existing scrape configuration is kept (a restart keeps what was
    reloaded into it, a fault included: :func:`reload`)."""
    binary = ensure_installed(config)
    folder = config.run_dir / config.metrics_store
    (folder / "data").mkdir(parents=True, exist_ok=True)
    if not (folder / "scrape.yml").exists():
        (folder / "scrape.yml").write_text(config_text(config))
    env = None
    if config.prometheus_auth == "basic":
        password = load_passwords(config)["prometheus"]
        if config.metrics_store == "victoriametrics":  # -envflag.enable: the password never in the command line
            env = {"httpAuth_password": password}
        else:
            web = folder / "web.yml"
            web.write_text(web_config_text(config, password))
            web.chmod(0o600)
    return proc.spawn(config, config.metrics_store, argv(config, binary, folder), env=env)


def reload(config: StackConfig, text: str) -> None:
    """Write the scrape configuration and make the running store read it (SIGHUP: Prometheus and VictoriaMetrics
    both reload on it)."""
    (config.run_dir / config.metrics_store / "scrape.yml").write_text(text)
    pid = proc.running_pid(config, config.metrics_store)
    if pid is None:
        raise StackError(config.metrics_store, "not running: nothing to reload")
    os.kill(pid, signal.SIGHUP)


def api(config: StackConfig, path: str, timeout_s: float = 5) -> dict:
    """GET an API path of the store (with the variant's TLS and credentials); its JSON.

    :raises StackError: on an HTTP error status.
    """
    status, body = webauth.request(config, "prometheus", "GET", path, timeout_s=timeout_s)
    if status != 200:
        raise StackError(config.metrics_store, f"GET {path}: HTTP {status}: {body[:300]!r}")
    return json.loads(body)


class StoreQueries:
    """The store's query API as the smoke test reads it (:class:`~mm2_smoke.step_1_2_replication.Prometheus`)."""

    def __init__(self, config: StackConfig, timeout_s: float = 5) -> None:
        self.config, self.timeout_s = config, timeout_s

    def _get(self, path: str, params: dict[str, object]) -> tuple[int, bytes] | str:
        try:
            return webauth.request(self.config, "prometheus", "GET", f"{path}?" + urllib.parse.urlencode(params),
                                   timeout_s=self.timeout_s)
        except OSError as exc:
            return f"{config_name(self.config)} unreachable: {exc}"

    def query(self, promql: str) -> Measured:
        answer = self._get("/api/v1/query", {"query": promql})
        if isinstance(answer, str):
            return Measured.missing(promql, Gap.UNREACHABLE, answer)
        return parse_instant(promql, *answer)

    def query_range(self, promql: str, start_s: float, end_s: float, step_s: float) -> Ranges:
        return self._matrix(promql, "/api/v1/query_range",
                            {"query": promql, "start": start_s, "end": end_s, "step": step_s})

    def query_samples(self, selector: str, window_s: int, at_s: float) -> Ranges:
        promql = f"{selector}[{int(window_s)}s]"
        return self._matrix(promql, "/api/v1/query", {"query": promql, "time": f"{at_s:.3f}"})

    def _matrix(self, promql: str, path: str, params: dict) -> Ranges:
        answer = self._get(path, params)
        if isinstance(answer, str):
            return Ranges(promql, gap=Gap.UNREACHABLE, reason=answer)
        return parse_range(promql, *answer)


def config_name(config: StackConfig) -> str:
    return "VictoriaMetrics" if config.metrics_store == "victoriametrics" else "Prometheus"


def contract_probe(config: StackConfig) -> str | None:
    """None once the smoke test's metric contract holds for the stack's profile (``auto`` for the user's rules):
    every series a run relies on answers fresh. Else what is missing."""
    from mm2_smoke.preflight import metric_contract
    from mm2_smoke.settings import SmokeSettings

    result = metric_contract(StoreQueries(config), SmokeSettings(metric_profile=config.profile,
                                                                 topic_prefix=config.naming.prefix,
                                                                 source_alias=config.naming.source_alias,
                                                                 target_alias=config.naming.target_alias,
                                                                 replication_separator=config.naming.separator,
                                                                 replication_policy=config.naming.policy))
    return None if result.status.value == "GO" else result.summary


def target_probe(config: StackConfig) -> str | None:
    """None when the store is ready and its scrape target (the JMX exporter) is up."""
    targets = api(config, "/api/v1/targets")["data"]["activeTargets"]
    if not targets:
        return "no active scrape target yet"
    down = [t for t in targets if t["health"] != "up"]
    if down:
        return "; ".join(f"{t['scrapeUrl']} is {t['health']}: {t.get('lastError') or 'not scraped yet'}" for t in down)
    return None
