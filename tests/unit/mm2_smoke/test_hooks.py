"""The HTTP hooks against a real local HTTP server: every failure is an answer with a reason, never a value."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mm2_smoke.hooks import ConnectHook, PrometheusHook

ROUTES: dict[str, tuple[int, bytes]] = {}
ASKED: list[str] = []


SLOW: dict[str, float] = {}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?")[0]
        ASKED.append(self.path)
        if path in SLOW:
            time.sleep(SLOW[path])  # an answer slower than the hook's timeout
        status, body = ROUTES.get(path, (404, b'{"error":"not found"}'))
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
    SLOW.clear()


def vector(value: str) -> bytes:
    return json.dumps({"status": "success", "data": {"resultType": "vector",
                                                     "result": [{"metric": {}, "value": [1, value]}]}}).encode()


def test_prometheus_value_and_failures(server) -> None:
    hook = PrometheusHook("prom_test", timeout_s=5)
    ROUTES["/api/v1/query"] = (200, vector("42"))
    assert hook.query("up").value == 42.0
    ROUTES["/api/v1/query"] = (500, b"<html>oops</html>")
    s = hook.query("up")
    assert not s.ok and s.unreachable and "HTTP 500" in s.reason and "Prometheus failed (HTTP 500)" in s.reason
    ROUTES["/api/v1/query"] = (200, vector("NaN"))
    assert not hook.query("up").ok


def test_prometheus_range_answers_and_a_slow_answer_is_a_timeout(server) -> None:
    hook = PrometheusHook("prom_test", timeout_s=1)
    ROUTES["/api/v1/query_range"] = (200, json.dumps({"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {}, "values": [[1, "3"], [2, "5"]]}]}}).encode())
    r = hook.query_range("x", 1, 2, 1)
    assert r.gap is None and r.values == [3.0, 5.0]
    ROUTES["/api/v1/query_range"] = (503, b"down")
    r = hook.query_range("x", 1, 2, 1)
    assert r.unreachable and "HTTP 503" in r.reason and r.points == ()
    # raw samples: an instant query of a range selector at the asked time, answered as a matrix
    ROUTES["/api/v1/query"] = (200, json.dumps({"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"task": "0"}, "values": [[1.5, "3"], [6.5, "5"]]}]}}).encode())
    raw = hook.query_samples('x{a="b"}', 310, 1796216081.298)
    assert raw.gap is None and raw.points == (((1.5, 3.0), (6.5, 5.0)),)
    assert "query=x%7Ba%3D%22b%22%7D%5B310s%5D" in ASKED[-1] and "time=1796216081.298" in ASKED[-1]
    ROUTES["/api/v1/query"] = (200, vector("1"))  # a store that answers a vector to a range selector
    assert hook.query_samples("x", 10, 2.0).unreachable
    SLOW["/api/v1/query"] = 2.0
    ROUTES["/api/v1/query"] = (200, vector("1"))
    slow = hook.query("up")
    assert slow.unreachable and "did not answer in time" in slow.reason


def test_unreachable_and_missing_connection_are_reasons(monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PROM_DOWN", json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": 9,
                                                             "schema": "http"}))
    s = PrometheusHook("prom_down", timeout_s=2).query("up")
    assert not s.ok and s.unreachable and s.reason.startswith("Prometheus unreachable (connection 'prom_down')")
    missing = PrometheusHook("no_such_conn").query("up")
    assert "Airflow connection 'no_such_conn' is not defined" in missing.reason
    assert "AIRFLOW_CONN_NO_SUCH_CONN" in missing.reason


def test_connect_rest_answers(server) -> None:
    hook = ConnectHook("connect_test")
    ROUTES["/connectors/x/status"] = (200, b'{"connector": {"state": "PAUSED"}, "tasks": []}')
    assert hook.get_json("connectors/x/status").body["connector"]["state"] == "PAUSED"
    assert hook.get_json("connectors/y/status").status == 404
    ROUTES["/connectors/z/status"] = (401, b"Unauthorized")
    answer = hook.get_json("connectors/z/status")
    assert answer.status == 401 and answer.body == "Unauthorized"
