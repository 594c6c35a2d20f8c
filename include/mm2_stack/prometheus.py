"""Prometheus scraping the Connect worker's JMX exporter, on its own port and data folder."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from pathlib import Path

from mm2_stack import proc
from mm2_stack.config import PACKAGE_DIR, StackConfig, StackError

ALERT_RULES_DIR = PACKAGE_DIR.parent / "prometheus" / "rules"


def binary() -> str:
    path = shutil.which("prometheus")
    if path is None:
        raise StackError("prometheus", "the `prometheus` binary is missing: run `make deps` "
                         "(Debian: apt-get install prometheus)")
    return path


def ensure_installed() -> None:
    """Install Debian's prometheus package when it is missing (root only)."""
    if shutil.which("prometheus"):
        return
    apt = shutil.which("apt-get")
    if apt is None:
        raise StackError("prometheus", "`prometheus` is missing and apt-get is not available: install Prometheus 2.x")
    for args in ([apt, "update", "-qq"], [apt, "install", "-y", "-qq", "--no-install-recommends", "prometheus"]):
        done = subprocess.run(args, capture_output=True, text=True, env={"DEBIAN_FRONTEND": "noninteractive",
                                                                          "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        if done.returncode != 0:
            raise StackError("prometheus", f"{' '.join(args)} failed", done.stderr[-2000:])


def config_text(config: StackConfig) -> str:
    rule_files = sorted(str(p) for p in ALERT_RULES_DIR.glob("*.yml")) if ALERT_RULES_DIR.is_dir() else []
    cfg = {
        "global": {"scrape_interval": f"{config.scrape_interval_s}s",
                   "evaluation_interval": f"{config.scrape_interval_s}s"},
        "rule_files": rule_files,
        "scrape_configs": [{
            "job_name": "mm2-connect",
            "static_configs": [{"targets": [f"127.0.0.1:{config.ports.jmx_exporter}"],
                                "labels": {"cluster": "local", "mm2_flow": "source->target"}}],
        }],
    }
    # JSON is YAML: no YAML writer needed.
    return json.dumps(cfg, indent=2)


def start(config: StackConfig) -> int:
    d: Path = config.run_dir / "prometheus"
    (d / "data").mkdir(parents=True, exist_ok=True)
    (d / "prometheus.yml").write_text(config_text(config))
    argv = [
        binary(),
        f"--config.file={d / 'prometheus.yml'}",
        f"--storage.tsdb.path={d / 'data'}",
        f"--web.listen-address=127.0.0.1:{config.ports.prometheus}",
        "--storage.tsdb.retention.time=2d",
        "--web.enable-lifecycle",
    ]
    return proc.spawn(config, "prometheus", argv)


def api(config: StackConfig, path: str, timeout_s: float = 5) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{config.ports.prometheus}{path}", timeout=timeout_s) as resp:
        return json.loads(resp.read())


def metrics_probe(config: StackConfig) -> str | None:
    """None once MM2's source task counters are in Prometheus (the runbook's poll_total query answers)."""
    import urllib.parse

    from mm2_smoke.metrics import RUNBOOK, Queries

    query = Queries(RUNBOOK, remote_topic="").poll_total
    result = api(config, "/api/v1/query?" + urllib.parse.urlencode({"query": query}))["data"]["result"]
    return None if result else f"no series yet for {query}"


def target_probe(config: StackConfig) -> str | None:
    """None when Prometheus is ready and its scrape target (the JMX exporter) is up."""
    targets = api(config, "/api/v1/targets")["data"]["activeTargets"]
    if not targets:
        return "no active scrape target yet"
    down = [t for t in targets if t["health"] != "up"]
    if down:
        return "; ".join(f"{t['scrapeUrl']} is {t['health']}: {t.get('lastError') or 'not scraped yet'}" for t in down)
    return None
