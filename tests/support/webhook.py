"""A real local HTTP receiver for the DAG's alerts (the ``alert_webhook`` connection posts Slack-compatible JSON to
it): every POST's JSON body, with the time it arrived."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class AlertReceiver:
    """``with AlertReceiver() as rx:`` listens on 127.0.0.1:``rx.port``; ``rx.received`` holds ``(time.time(),
    body)`` of each POST, in arrival order; :meth:`wait_for` waits for one that matches."""

    def __init__(self) -> None:
        self.received: list[tuple[float, dict[str, Any]]] = []
        self._cond = threading.Condition()
        receiver = self

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    payload = json.loads(body or b"{}")
                except ValueError:
                    payload = {"unparsed": body.decode("utf-8", "replace")}
                with receiver._cond:
                    receiver.received.append((time.time(), payload))
                    receiver._cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> AlertReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def connection(self) -> dict[str, Any]:
        """The ``alert_webhook`` connection's body for ``POST /api/v2/connections``."""
        return {"connection_id": "alert_webhook", "conn_type": "http", "host": "127.0.0.1", "port": self.port,
                "schema": "http"}

    def wait_for(self, predicate, timeout_s: float) -> tuple[float, dict[str, Any]]:
        """The first ``(arrival time, body)`` whose body satisfies ``predicate``, waiting up to ``timeout_s``.

        :raises TimeoutError: none arrived (with what did).
        """
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                for item in self.received:
                    if predicate(item[1]):
                        return item
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no matching alert after {timeout_s:.0f} s; received: "
                                       f"{[b.get('text', b) for _, b in self.received]}")
                self._cond.wait(left)
