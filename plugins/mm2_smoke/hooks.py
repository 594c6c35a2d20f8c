"""Hooks: the only code that reads Airflow connections (Prometheus over HTTP, Kafka via the provider).

Airflow-dependent; everything they return is plain data for the pure core.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.apache.kafka.hooks.base import KafkaBaseHook
from airflow.providers.http.hooks.http import HttpHook

from mm2_smoke.promql import Sample, parse_instant, parse_range


class ConnectionMissingError(RuntimeError):
    """An Airflow connection the smoke test needs is not defined."""


def _missing(conn_id: str, kind: str, example: str) -> str:
    env = "AIRFLOW_CONN_" + conn_id.upper()
    return (f"Airflow connection {conn_id!r} is not defined: create it ({kind}) in the UI or set {env}, "
            f"e.g. {env}='{example}'")


class _ReadOnlyHttpHook(HttpHook):
    """GET requests through the HTTP provider's hook that never raise: failures come back as reasons.

    :param conn_id: the ``http`` connection.
    :param service: the service's name in messages ("Prometheus", "Connect REST").
    :param example: an example connection JSON for the "not defined" message.
    :param timeout_s: timeout of one request, in seconds.
    """

    def __init__(self, conn_id: str, service: str, example: str, timeout_s: float) -> None:
        super().__init__(method="GET", http_conn_id=conn_id)
        self.service = service
        self.example = example
        self.timeout_s = timeout_s

    def _get(self, endpoint: str, params: dict[str, Any] | None = None) -> tuple[int | None, bytes, str | None]:
        """``(HTTP status, body, None)``, or ``(None, b"", why)`` when the service could not be asked."""
        from airflow.exceptions import AirflowNotFoundException

        try:
            resp = self.run(endpoint, data=params or {}, extra_options={"check_response": False,
                                                                        "timeout": self.timeout_s})
        except AirflowNotFoundException:
            return None, b"", _missing(self.http_conn_id, "type http", self.example)
        except Exception as exc:  # noqa: BLE001 - any transport failure means "could not measure", with its reason
            return None, b"", f"{self.service} unreachable (connection {self.http_conn_id!r}): {type(exc).__name__}: {exc}"
        return resp.status_code, resp.content, None

    def get_json(self, endpoint: str, params: dict[str, Any] | None = None):
        """GET an API path: an :class:`~mm2_smoke.diagnosis.HttpAnswer` (status None when unreachable)."""
        import json

        from mm2_smoke.diagnosis import HttpAnswer

        status, body, error = self._get(endpoint, params)
        if error is not None:
            return HttpAnswer(None, error=error)
        try:
            return HttpAnswer(status, json.loads(body) if body else None)
        except ValueError:
            return HttpAnswer(status, body.decode("utf-8", "replace")[:500])


class PrometheusHook(_ReadOnlyHttpHook):
    """Query Prometheus' HTTP API through the HTTP provider's hook (connection type ``http``).

    :param prometheus_conn_id: the ``http`` connection with Prometheus' base URL (default ``prometheus``).
    :param timeout_s: timeout of one HTTP request, in seconds (default 10).
    """

    conn_name_attr = "prometheus_conn_id"
    default_conn_name = "prometheus"
    conn_type = "http"
    hook_name = "Prometheus"

    def __init__(self, prometheus_conn_id: str = default_conn_name, timeout_s: float = 10.0) -> None:
        super().__init__(prometheus_conn_id, "Prometheus",
                         '{"conn_type":"http","host":"prometheus.example","port":9090,"schema":"http"}', timeout_s)
        self.prometheus_conn_id = prometheus_conn_id

    def query(self, promql: str) -> Sample:
        """One instant query; never raises: failures come back as a :class:`Sample` with an error."""
        status, body, error = self._get("api/v1/query", {"query": promql})
        if error is not None:
            return Sample(promql, error=error)
        return parse_instant(promql, status, body)  # type: ignore[arg-type]

    def query_range(self, promql: str, start_s: float, end_s: float, step_s: float) -> tuple[list[tuple[float, float]], str | None]:
        """A range query of a one-series expression: ``([(t, v), ...], error or None)``."""
        status, body, error = self._get("api/v1/query_range",
                                        {"query": promql, "start": start_s, "end": end_s, "step": step_s})
        if error is not None:
            return [], error
        return parse_range(promql, status, body)  # type: ignore[arg-type]


class ConnectHook(_ReadOnlyHttpHook):
    """Read Kafka Connect's REST API (the MM2 workers) through the HTTP provider's hook.

    :param connect_conn_id: the ``http`` connection of a Connect worker's REST API (default ``kafka_connect``).
    :param timeout_s: timeout of one request, in seconds (default 5).
    """

    conn_name_attr = "connect_conn_id"
    default_conn_name = "kafka_connect"
    conn_type = "http"
    hook_name = "Kafka Connect REST"

    def __init__(self, connect_conn_id: str = default_conn_name, timeout_s: float = 5.0) -> None:
        super().__init__(connect_conn_id, "Connect REST",
                         '{"conn_type":"http","host":"connect.example","port":8083,"schema":"http"}', timeout_s)
        self.connect_conn_id = connect_conn_id


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
            raise ConnectionMissingError(_missing(self.kafka_config_id, "type kafka", '{"conn_type":"kafka","extra":'
                                                  '{"bootstrap.servers":"broker:9092"}}')) from None
        except ValueError as exc:
            raise ConnectionMissingError(f"Airflow connection {self.kafka_config_id!r}: {exc}") from None

    def producer(self, **overrides: Any):
        from confluent_kafka import Producer

        return Producer({**self.client_config(), **overrides})

    def admin(self, **overrides: Any):
        from confluent_kafka.admin import AdminClient

        return AdminClient({**self.client_config(), **overrides})

    def consumer(self, **overrides: Any):
        from confluent_kafka import Consumer

        return Consumer({**self.client_config(), **overrides})
