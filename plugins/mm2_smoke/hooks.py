"""Hooks: the only code that reads Airflow connections (Prometheus over HTTP, Kafka via the provider).

Airflow-dependent; everything they return is plain data for the pure core.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.apache.kafka.hooks.base import KafkaBaseHook
from airflow.providers.http.hooks.http import HttpHook

from mm2_smoke.connections import (
    KAFKA_EXAMPLE,
    TlsPosture,
    http_example,
    http_problems,
    kafka_problems,
    missing_message,
    tls_posture,
)
from mm2_smoke.dag_layout import CONNECT_CONN, PROMETHEUS_CONN
from mm2_smoke.errors import ConnectionProblem
from mm2_smoke.measured import Gap, HttpAnswer, Measured, Ranges
from mm2_smoke.promql import parse_instant, parse_range


def check_connections(kafka_conn_ids: tuple[str, ...], http_conn_ids: tuple[str, ...]
                      ) -> tuple[list[str], list[TlsPosture]]:
    """Every problem of the run's connections that can be known without connecting, and the Kafka
    connections' TLS posture. Never raises: a problem is a message naming the connection and the fix."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.sdk import BaseHook

    problems: list[str] = []
    postures: list[TlsPosture] = []
    for conn_id in kafka_conn_ids:
        try:
            conn = BaseHook.get_connection(conn_id)
        except AirflowNotFoundException:
            problems.append(missing_message(conn_id, "type kafka", KAFKA_EXAMPLE))
            continue
        extra = conn.extra_dejson
        found = kafka_problems(conn_id, extra if extra or not conn.extra else conn.extra)
        problems += found
        if not found:
            postures.append(tls_posture(conn_id, extra))
    for conn_id in http_conn_ids:
        try:
            conn = BaseHook.get_connection(conn_id)
        except AirflowNotFoundException:
            problems.append(missing_message(conn_id, "type http", http_example(conn_id)))
            continue
        problems += http_problems(conn_id, conn.host, conn.schema, conn.extra_dejson)
    return problems, postures


class _ReadOnlyHttpHook(HttpHook):
    """GET requests through the HTTP provider's hook that never raise: failures come back as reasons.

    A subclass names its service (``service``: "Prometheus", "Connect REST") and its default connection.

    :param conn_id: the ``http`` connection (default: the subclass's ``default_conn_name``).
    :param timeout_s: timeout of one request, in seconds (default: the subclass's ``default_timeout_s``).
    """

    conn_type = "http"
    service = "HTTP service"
    default_conn_name = ""
    default_timeout_s = 10.0

    def __init__(self, conn_id: str | None = None, timeout_s: float | None = None) -> None:
        super().__init__(method="GET", http_conn_id=conn_id or self.default_conn_name)
        self.timeout_s = self.default_timeout_s if timeout_s is None else timeout_s
        self._conn_timeout: Any = None

    def _get(self, endpoint: str, params: dict[str, Any] | None = None) -> tuple[int | None, bytes, str | None]:
        """``(HTTP status, body, None)``, or ``(None, b"", why)`` when the service could not be asked.

        The request timeout is the connection's extra ``timeout`` (seconds) when set, else ``timeout_s``.
        """
        from airflow.exceptions import AirflowNotFoundException
        from requests.exceptions import Timeout

        try:
            if self._conn_timeout is None:
                self._conn_timeout = self.get_connection(self.http_conn_id).extra_dejson.get("timeout", False)
            options: dict[str, Any] = {"check_response": False}
            if self._conn_timeout is False:
                options["timeout"] = self.timeout_s
            resp = self.run(endpoint, data=params or {}, extra_options=options)
        except AirflowNotFoundException:
            return None, b"", missing_message(self.http_conn_id, "type http", http_example(self.http_conn_id))
        except Exception as exc:  # noqa: BLE001 - any transport failure means "could not measure", with its reason
            kind = "did not answer in time" if isinstance(exc, Timeout) else "unreachable"
            return None, b"", (f"{self.service} {kind} (connection {self.http_conn_id!r}): {type(exc).__name__}: "
                               f"{exc}: check the connection's host/port and that the service is up")
        return resp.status_code, resp.content, None

    def hint(self, status: int | None) -> str:
        """What to do about an HTTP error status of this service ('' for 2xx)."""
        if status is None or 200 <= status < 300:
            return ""
        conn = f"connection {self.http_conn_id!r}"
        if status in (401, 403):
            return (f"credentials refused by {conn} ({self.service} answered HTTP {status}): set its login/password, "
                    "or the bearer token in its extra ({\"Authorization\": \"Bearer <token>\"})")
        if status == 404:
            return f"{self.service} has no such path (HTTP 404): check the host, port and schema of {conn}"
        return f"{self.service} failed (HTTP {status}): see its log; {conn}"

    def get_json(self, endpoint: str, params: dict[str, Any] | None = None) -> HttpAnswer:
        """GET an API path: an :class:`~mm2_smoke.measured.HttpAnswer` (status None when unreachable)."""
        import json

        status, body, error = self._get(endpoint, params)
        if error is not None:
            return HttpAnswer(None, error=error)
        try:
            return HttpAnswer(status, json.loads(body) if body else None)
        except ValueError:
            return HttpAnswer(status, body.decode("utf-8", "replace")[:500])


class PrometheusHook(_ReadOnlyHttpHook):
    """Query Prometheus' HTTP API through the HTTP provider's hook (connection type ``http``).

    :param conn_id: the ``http`` connection with Prometheus' base URL (default ``prometheus``).
    :param timeout_s: timeout of one HTTP request, in seconds (default 10).
    """

    conn_name_attr = "http_conn_id"
    default_conn_name = PROMETHEUS_CONN
    hook_name = service = "Prometheus"

    def query(self, promql: str) -> Measured:
        """One instant query; never raises: a failure comes back as a :class:`Measured` with its gap and reason."""
        status, body, error = self._get("api/v1/query", {"query": promql})
        if error is not None or status is None:
            return Measured.missing(promql, Gap.UNREACHABLE, error or "no answer")
        sample = parse_instant(promql, status, body)
        if sample.unreachable and self.hint(status):
            return sample.with_reason(self.hint(status))
        return sample

    def query_range(self, promql: str, start_s: float, end_s: float, step_s: float) -> Ranges:
        """A range query: the points of every series (NaN points dropped: no data there), or why there are none."""
        return self._matrix(promql, "api/v1/query_range",
                            {"query": promql, "start": start_s, "end": end_s, "step": step_s})

    def query_samples(self, selector: str, window_s: int, at_s: float) -> Ranges:
        """The raw samples of every series of ``selector`` in the ``window_s`` seconds up to ``at_s``, with their own
        timestamps (an instant query of ``selector[<window_s>s]``), or why there are none."""
        promql = f"{selector}[{int(window_s)}s]"
        return self._matrix(promql, "api/v1/query", {"query": promql, "time": f"{at_s:.3f}"})

    def _matrix(self, promql: str, endpoint: str, params: dict[str, Any]) -> Ranges:
        """A matrix answer (range query, or instant query of a range selector); never raises."""
        status, body, error = self._get(endpoint, params)
        if error is not None or status is None:
            return Ranges(promql, gap=Gap.UNREACHABLE, reason=error or "no answer")
        answer = parse_range(promql, status, body)
        if answer.unreachable and self.hint(status):
            return answer.with_reason(self.hint(status))
        return answer


class ConnectHook(_ReadOnlyHttpHook):
    """Read Kafka Connect's REST API (the MM2 workers) through the HTTP provider's hook.

    :param conn_id: the ``http`` connection of a Connect worker's REST API (default ``kafka_connect``).
    :param timeout_s: timeout of one request, in seconds (default 5).
    """

    conn_name_attr = "http_conn_id"
    default_conn_name = CONNECT_CONN
    service = "Connect REST"
    hook_name = "Kafka Connect REST"
    default_timeout_s = 5.0


#: Why Connect REST is not read when MM2 runs in dedicated mode.
DEDICATED_NO_REST = ("not inspected: MM2 runs in dedicated mode (mm2_mode=dedicated), which serves no public Connect "
                     "REST API")


class NoConnectRest:
    """Stands in for :class:`ConnectHook` where MM2 has no Connect REST API to ask (``mm2_mode=dedicated``): every
    answer is "not asked", with why, so each diagnostic that needs REST says "not inspected" and the others run.

    :param reason: why REST is not read (shown in findings and diagnoses).
    """

    http_conn_id = None

    def __init__(self, reason: str = DEDICATED_NO_REST) -> None:
        self.reason = reason

    def get_json(self, endpoint: str, params: dict[str, Any] | None = None) -> HttpAnswer:
        return HttpAnswer(None, error=self.reason)


def connect_rest(settings: Any) -> ConnectHook | NoConnectRest:
    """The Connect REST client of a run: the ``kafka_connect`` connection, or :class:`NoConnectRest` when MM2 runs in
    dedicated mode.

    :param settings: the run's settings (a :class:`~mm2_smoke.settings.SmokeSettings` or its dict).
    """
    mode = settings.get("mm2_mode", "connect") if isinstance(settings, dict) else settings.mm2_mode
    return NoConnectRest() if mode == "dedicated" else ConnectHook(CONNECT_CONN)


class SmokeKafkaHook(KafkaBaseHook):
    """confluent-kafka clients built from a provider ``kafka`` connection (librdkafka config in extra).

    :param kafka_config_id: the connection id (``kafka_source`` or ``kafka_target``).
    """

    def __init__(self, kafka_config_id: str) -> None:
        super().__init__(kafka_config_id=kafka_config_id)

    def client_config(self) -> dict[str, Any]:
        """The connection's librdkafka settings (validated by the provider: bootstrap.servers required)."""
        from airflow.exceptions import AirflowNotFoundException

        try:
            return self._build_config()
        except AirflowNotFoundException:
            raise ConnectionProblem("{message}", conn_id=self.kafka_config_id,
                                    message=missing_message(self.kafka_config_id, "type kafka", KAFKA_EXAMPLE)) from None
        except ValueError as exc:
            raise ConnectionProblem("Airflow connection {conn_id!r}: {problem}", conn_id=self.kafka_config_id,
                                    problem=str(exc)) from None

    def producer(self, **overrides: Any):
        from confluent_kafka import Producer

        return Producer({**self.client_config(), **overrides})

    def admin(self, **overrides: Any):
        from confluent_kafka.admin import AdminClient

        return AdminClient({**self.client_config(), **overrides})

    def consumer(self, **overrides: Any):
        from confluent_kafka import Consumer

        return Consumer({**self.client_config(), **overrides})


def mm2_host(settings: Any) -> str | None:
    """MirrorMaker's host as far as the run knows it: the Connect worker's, from the ``kafka_connect`` connection (None
    in dedicated mode, or when the connection cannot be read): whether clock skew can enter its latency."""
    from airflow.sdk import BaseHook

    from mm2_smoke import dag_layout as ids

    mode = settings.get("mm2_mode", "connect") if isinstance(settings, dict) else settings.mm2_mode
    if mode != "connect":
        return None
    try:
        return BaseHook.get_connection(ids.CONNECT_CONN).host or None
    except Exception:  # noqa: BLE001 - a note's wording is never a reason to fail the checklist
        return None
