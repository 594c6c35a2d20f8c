"""Airflow's REST API v2 on an API server with the simple auth manager: a JWT login and JSON calls with it.

:class:`AirflowRest` is what :class:`mm2_stack.airflow_server.AirflowServer` uses to talk to the server it runs
(health, the DAG, unpausing it); the tests' calls (``tests/support/airflow_api.py``) go through its
:meth:`~AirflowRest.api`.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from mm2_smoke.dag_layout import DAG_ID


class AirflowApiError(RuntimeError):
    """A REST API call answered with an HTTP error (or not at all).

    :param method: the HTTP method.
    :param path: the path called (``/api/v2/...``).
    :param status: the HTTP status, None if the server did not answer.
    :param body: the answer's body (or the connection error).
    """

    def __init__(self, method: str, path: str, status: int | None, body: str) -> None:
        self.status = status
        self.body = body
        super().__init__(f"{method} {path} -> {status if status is not None else 'no answer'}: {body[:2000]}")


def _http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None,
          timeout_s: float = 30) -> tuple[int, str]:
    """One JSON request; return the status and the body, whatever the status.

    :raises OSError: no answer (refused, timed out).
    """
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Accept": "application/json", **({"Content-Type": "application/json"} if data is not None else {}),
        **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


class AirflowRest:
    """The REST API v2 of the Airflow API server at ``url``, logged in as ``user`` of the simple auth manager.

    :param url: the API server's base URL (``http://127.0.0.1:<port>``).
    :param user: the user whose JWT the calls carry.
    :param password: that user's password (may be set later, before the first call that needs a login).
    :param dag_id: the DAG that :meth:`dag` and :meth:`unpause` address (default ``mm2_smoke_test``).
    """

    def __init__(self, url: str, user: str, password: str = "", dag_id: str = DAG_ID) -> None:
        self.url = url
        self.user = user
        self.password = password
        self.dag_id = dag_id
        self._token: str | None = None

    def health(self) -> dict[str, str]:
        """Status of each component from ``/api/v2/monitor/health`` (no login needed); {} if no answer."""
        try:
            status, text = _http("GET", self.url + "/api/v2/monitor/health", timeout_s=5)
        except OSError:
            return {}
        if status != 200:
            return {}
        body = json.loads(text)
        return {name: (part or {}).get("status") or "" for name, part in body.items() if isinstance(part, dict)}

    def token(self, refresh: bool = False) -> str:
        """A JWT of the simple auth manager for the user (``POST /auth/token``), kept until ``refresh``.

        :param refresh: ask for a new one even if one is kept.
        :raises AirflowApiError: the API server refused the login.
        """
        if self._token is None or refresh:
            try:
                status, text = _http("POST", self.url + "/auth/token",
                                     {"username": self.user, "password": self.password})
            except OSError as exc:
                raise AirflowApiError("POST", "/auth/token", None, str(exc)) from exc
            if status not in (200, 201):
                raise AirflowApiError("POST", "/auth/token", status, text)
            self._token = json.loads(text)["access_token"]
        return self._token

    def forget_token(self) -> None:
        """Drop the kept JWT: the next call logs in again."""
        self._token = None

    def api(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None,
            timeout_s: float = 30) -> Any:
        """Call the REST API with the user's JWT; return the decoded JSON (None if empty).

        :param method: the HTTP method.
        :param path: the path from the server's root (``/api/v2/...``).
        :param body: sent as JSON, if not None.
        :param params: the query string's parameters.
        :param timeout_s: the request's timeout, in seconds (default 30).
        :raises AirflowApiError: no answer, or an HTTP status >= 400 (after one retry with a new token on 401).
        """
        url = self.url + path + ("?" + urllib.parse.urlencode(params, doseq=True) if params else "")
        for attempt in (0, 1):
            try:
                status, text = _http(method, url, body,
                                     {"Authorization": f"Bearer {self.token(refresh=attempt > 0)}"}, timeout_s)
            except OSError as exc:
                raise AirflowApiError(method, path, None, str(exc)) from exc
            if status != 401:
                break
        if status >= 400:
            raise AirflowApiError(method, path, status, text)
        return json.loads(text) if text.strip() else None

    def dag(self) -> dict[str, Any]:
        """The DAG as the API server knows it (``GET /api/v2/dags/{dag_id}``)."""
        return self.api("GET", f"/api/v2/dags/{self.dag_id}")

    def unpause(self) -> dict[str, Any]:
        """``PATCH /api/v2/dags/{dag_id}`` with ``is_paused: false``; return the DAG."""
        return self.api("PATCH", f"/api/v2/dags/{self.dag_id}", {"is_paused": False})

    def dag_parsed(self) -> bool:
        """True once the API server knows the DAG (False while ``GET /api/v2/dags/{dag_id}`` is 404).

        :raises AirflowApiError: any other error.
        """
        try:
            self.dag()
        except AirflowApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def import_errors(self) -> list[str]:
        """The DAG files' import errors (file: the stack trace's end); [] if there are none or no answer."""
        try:
            body = self.api("GET", "/api/v2/importErrors")
        except (AirflowApiError, OSError):
            return []
        return [f"{e.get('filename')}: {e.get('stack_trace', '')[-1500:]}" for e in body.get("import_errors", [])]
