"""The view's routes go through Airflow's own auth dependencies: no login is 401, a user whose auth manager does not
let them read the DAG's XComs is 403 and reads nothing (the local stack's simple auth manager lets every user read
every DAG, so the refusal is shown here with an auth manager that says no)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest


class _NoReadAuthManager:
    """Knows one user; lets them read the DAG ``allowed`` only."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str | None]] = []

    async def get_user_from_token(self, token: str):
        if token != "good":
            import jwt

            raise jwt.InvalidTokenError("bad token")
        return SimpleNamespace(get_id=lambda: "u1", get_name=lambda: "viewer")

    def is_authorized_dag(self, *, method, access_entity=None, details=None, user=None) -> bool:
        self.asked.append((method, getattr(access_entity, "value", access_entity)))
        return details is not None and details.id == "allowed"


@pytest.fixture
def client(monkeypatch):
    from airflow.api_fastapi.core_api import security
    from airflow.models.dag import DagModel
    from fastapi.testclient import TestClient
    from mm2_smoke_ui import smoke_view_app

    manager = _NoReadAuthManager()
    monkeypatch.setattr(security, "get_auth_manager", lambda: manager)
    monkeypatch.setattr(DagModel, "get_team_name", staticmethod(lambda dag_id, **_: None))
    read: list[str] = []
    # Past the auth check, the route would read the database: record that it got there instead.
    monkeypatch.setattr(smoke_view_app, "_history", lambda session, dag_id, limit: (read.append(dag_id), ([], []))[1])
    c = TestClient(smoke_view_app.app)
    c.manager, c.read = manager, read
    return c


def test_no_login_is_401_a_bad_token_403_and_a_dag_the_user_may_not_read_403(client) -> None:
    assert client.get("/api/dags/secret/history").status_code == 401
    assert client.get("/dags/secret").status_code == 401
    assert client.get("/api/dags/secret/history", headers={"Authorization": "Bearer forged"}).status_code == 403
    denied = client.get("/api/dags/secret/history", headers={"Authorization": "Bearer good"})
    assert denied.status_code == 403 and client.read == []
    assert client.manager.asked[-1] == ("GET", "XCOM")  # the same permission as the REST API's XCom routes
    # The UI's cookie is a login too; a DAG the user may read is served.
    client.cookies.set("_token", "good")
    assert client.get("/dags/secret").status_code == 403
    ok = client.get("/api/dags/allowed/history")
    assert ok.status_code == 200 and client.read == ["allowed"] and ok.json()["runs"] == []
    assert "render;dur=" in ok.headers["server-timing"]
