"""The generated dashboards' panels on a live stack's metrics store: which of them answer with no series."""

from __future__ import annotations

import json
import time
import urllib.parse

from mm2_stack import webauth
from mm2_stack.config import StackConfig


def panels_without_data(config: StackConfig, profile: str, timeout_s: float = 60) -> dict[str, str]:
    """Every panel query of ``profile``'s generated dashboards, on the stack's store (Prometheus or VictoriaMetrics,
    same HTTP API), until each answers with at least one series; returns the ones that never did."""
    from mm2_smoke.dashboards import dashboards

    panels = [(d["title"], p["title"], p["targets"][0]["expr"])
              for d in dashboards(profile).values() for p in d["panels"]]
    deadline = time.monotonic() + timeout_s
    while True:
        empty: dict[str, str] = {}
        for dash, title, expr in panels:
            # The store's own TLS and credentials where the variant has them (MM2_STACK_PROMETHEUS_AUTH=basic).
            status, raw = webauth.request(config, "prometheus", "GET", "/api/v1/query?"
                                          + urllib.parse.urlencode({"query": expr}), timeout_s=10)
            body = json.loads(raw)
            assert body["status"] == "success", (title, expr, body)
            if not body["data"]["result"]:
                empty[f"{dash} / {title}"] = expr
        if not empty or time.monotonic() > deadline:
            return empty
        time.sleep(2)  # the next scrape
