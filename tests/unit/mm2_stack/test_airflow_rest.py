"""The REST API v2 client of ``make ui``'s Airflow against a stand-in API server on 127.0.0.1: the JWT login kept
and renewed on a 401, errors with their status and body, the health and DAG answers read as the server harness
needs them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from mm2_stack.airflow_rest import AirflowApiError, AirflowRest


class FakeApiServer:
    """An API server answering from ``routes`` (``"GET /path"`` -> status, JSON body) and counting logins.

    A route answers 401 to a call without the newest token (a JWT the server no longer accepts).
    """

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, Any]] = {}
        self.logins = 0
        self.requests: list[tuple[str, str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                fake.requests.append((self.command, self.path, body))
                if self.command == "POST" and self.path == "/auth/token":
                    if body != {"username": "admin", "password": "secret"}:
                        return self._send(401, {"detail": "bad login"})
                    fake.logins += 1
                    return self._send(201, {"access_token": f"jwt-{fake.logins}"})
                route = fake.routes.get(f"{self.command} {self.path.split('?')[0]}")
                if route is None:
                    return self._send(404, {"detail": "not found"})
                if not self.path.startswith("/api/v2/monitor/") and \
                        self.headers.get("Authorization") != f"Bearer jwt-{fake.logins}":
                    return self._send(401, {"detail": "token expired"})
                self._send(*route)

            def _send(self, status: int, body: Any) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake() -> Iterator[FakeApiServer]:
    server = FakeApiServer()
    yield server
    server.close()


@pytest.fixture
def rest(fake: FakeApiServer) -> AirflowRest:
    return AirflowRest(fake.url, "admin", "secret", dag_id="mm2_smoke_test")


def test_one_login_serves_every_call_and_a_401_logs_in_again_once(fake: FakeApiServer, rest: AirflowRest) -> None:
    fake.routes["GET /api/v2/dags/mm2_smoke_test"] = (200, {"dag_id": "mm2_smoke_test", "is_paused": True})
    assert rest.dag()["is_paused"] is True
    assert rest.dag()["dag_id"] == "mm2_smoke_test"
    assert fake.logins == 1
    fake.logins += 1  # the server moved on: the kept token is refused
    assert rest.dag()["dag_id"] == "mm2_smoke_test"
    assert fake.logins == 3
    rest.forget_token()
    rest.dag()
    assert fake.logins == 4


def test_a_refused_login_is_an_api_error_with_its_status(fake: FakeApiServer) -> None:
    with pytest.raises(AirflowApiError, match=r"POST /auth/token -> 401: .*bad login") as err:
        AirflowRest(fake.url, "admin", "wrong").token()
    assert err.value.status == 401


def test_an_http_error_carries_status_and_body_and_no_answer_has_no_status(fake: FakeApiServer,
                                                                           rest: AirflowRest) -> None:
    fake.routes["PATCH /api/v2/dags/mm2_smoke_test"] = (409, {"detail": "conflict"})
    with pytest.raises(AirflowApiError) as err:
        rest.unpause()
    assert (err.value.status, json.loads(err.value.body)) == (409, {"detail": "conflict"})
    assert str(err.value).startswith("PATCH /api/v2/dags/mm2_smoke_test -> 409: ")
    assert fake.requests[-1] == ("PATCH", "/api/v2/dags/mm2_smoke_test", {"is_paused": False})
    fake.close()
    with pytest.raises(AirflowApiError, match="no answer") as err:
        rest.api("GET", "/api/v2/dags")
    assert err.value.status is None


def test_query_parameters_are_encoded_and_an_empty_answer_is_none(fake: FakeApiServer, rest: AirflowRest) -> None:
    fake.routes["GET /api/v2/eventLogs"] = (200, None)
    assert rest.api("GET", "/api/v2/eventLogs", params={"event": ["a b", "c"], "limit": 5}) is None
    assert fake.requests[-1][1] == "/api/v2/eventLogs?event=a+b&event=c&limit=5"


def test_health_needs_no_login_and_is_empty_without_an_answer(fake: FakeApiServer, rest: AirflowRest) -> None:
    fake.routes["GET /api/v2/monitor/health"] = (200, {"metadatabase": {"status": "healthy"},
                                                      "scheduler": {"status": "unhealthy", "latest": None},
                                                      "dag_processor": None, "version": "3"})
    assert rest.health() == {"metadatabase": "healthy", "scheduler": "unhealthy"}
    assert fake.logins == 0
    fake.routes["GET /api/v2/monitor/health"] = (503, {"detail": "starting"})
    assert rest.health() == {}
    fake.close()
    assert rest.health() == {}


def test_a_dag_not_parsed_yet_is_a_404_any_other_error_is_raised(fake: FakeApiServer, rest: AirflowRest) -> None:
    assert rest.dag_parsed() is False
    fake.routes["GET /api/v2/dags/mm2_smoke_test"] = (200, {"dag_id": "mm2_smoke_test"})
    assert rest.dag_parsed() is True
    fake.routes["GET /api/v2/dags/mm2_smoke_test"] = (500, {"detail": "boom"})
    with pytest.raises(AirflowApiError, match="500"):
        rest.dag_parsed()


def test_import_errors_name_the_file_and_the_end_of_the_trace_and_are_empty_on_an_error(fake: FakeApiServer,
                                                                                         rest: AirflowRest) -> None:
    assert rest.import_errors() == []
    fake.routes["GET /api/v2/importErrors"] = (200, {"import_errors": [
        {"filename": "dags/mm2_smoke_test.py", "stack_trace": "x" * 2000 + "SyntaxError"}]})
    [error] = rest.import_errors()
    assert error.startswith("dags/mm2_smoke_test.py: ") and error.endswith("SyntaxError")
    assert len(error) == len("dags/mm2_smoke_test.py: ") + 1500
