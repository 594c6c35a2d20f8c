"""The HTTP hooks against a real local HTTP server: every failure is an answer with a reason, never a value."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mm2_smoke.hooks import ConnectHook, PrometheusHook

ROUTES: dict[str, tuple[int, bytes]] = {}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        status, body = ROUTES.get(self.path.split("?")[0], (404, b'{"error":"not found"}'))
        self.send_response(status)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server(monkeypatch):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    conn = json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": srv.server_address[1], "schema": "http"})
    monkeypatch.setenv("AIRFLOW_CONN_PROM_TEST", conn)
    monkeypatch.setenv("AIRFLOW_CONN_CONNECT_TEST", conn)
    yield
    srv.shutdown()
    ROUTES.clear()


def vector(value: str) -> bytes:
    return json.dumps({"status": "success", "data": {"resultType": "vector",
                                                     "result": [{"metric": {}, "value": [1, value]}]}}).encode()


def test_prometheus_value_and_failures(server) -> None:
    hook = PrometheusHook("prom_test", timeout_s=5)
    ROUTES["/api/v1/query"] = (200, vector("42"))
    assert hook.query("up").value == 42.0
    ROUTES["/api/v1/query"] = (500, b"<html>oops</html>")
    s = hook.query("up")
    assert not s.ok and "HTTP 500" in s.error
    ROUTES["/api/v1/query"] = (200, vector("NaN"))
    assert not hook.query("up").ok


def test_unreachable_and_missing_connection_are_reasons(monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PROM_DOWN", json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": 9,
                                                             "schema": "http"}))
    s = PrometheusHook("prom_down", timeout_s=2).query("up")
    assert not s.ok and s.error.startswith("Prometheus unreachable (connection 'prom_down')")
    missing = PrometheusHook("no_such_conn").query("up")
    assert "Airflow connection 'no_such_conn' is not defined" in missing.error
    assert "AIRFLOW_CONN_NO_SUCH_CONN" in missing.error


def test_connect_rest_answers(server) -> None:
    hook = ConnectHook("connect_test")
    ROUTES["/connectors/x/status"] = (200, b'{"connector": {"state": "PAUSED"}, "tasks": []}')
    assert hook.get_json("connectors/x/status").body["connector"]["state"] == "PAUSED"
    assert hook.get_json("connectors/y/status").status == 404
    ROUTES["/connectors/z/status"] = (401, b"Unauthorized")
    answer = hook.get_json("connectors/z/status")
    assert answer.status == 401 and answer.body == "Unauthorized"
