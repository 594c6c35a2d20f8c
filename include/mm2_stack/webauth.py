"""How the stack's own code reaches its HTTP services (the metrics store's API, Connect's REST API): plain HTTP, or
HTTPS with the stack's CA and basic auth, as the variant's knobs say (``MM2_STACK_PROMETHEUS_AUTH``,
``MM2_STACK_CONNECT_AUTH``)."""

from __future__ import annotations

import base64
import ssl
import urllib.error
import urllib.request

from mm2_stack.config import HTTP_USER, StackConfig, load_passwords

#: The stack's HTTP services: the secret holding their basic-auth password.
SERVICES = ("prometheus", "connect")


def _auth(config: StackConfig, service: str) -> str:
    return config.prometheus_auth if service == "prometheus" else config.connect_auth


def base_url(config: StackConfig, service: str) -> str:
    """``http(s)://127.0.0.1:<port>`` of ``service`` (``prometheus``: the metrics store, either kind)."""
    if service == "prometheus":
        return f"{config.prometheus_scheme}://127.0.0.1:{config.ports.prometheus}"
    return f"{config.connect_scheme}://127.0.0.1:{config.ports.connect_rest}"


def credentials(config: StackConfig, service: str, passwords: dict[str, str] | None = None) -> tuple[str, str] | None:
    """The basic-auth user and password of ``service`` (None when it has no auth); ``passwords`` default: the
    stack's secrets file."""
    if _auth(config, service) != "basic":
        return None
    return HTTP_USER, (passwords or load_passwords(config))[service]


def ssl_context(config: StackConfig) -> ssl.SSLContext:
    """TLS that trusts the stack's CA only."""
    return ssl.create_default_context(cafile=str(config.ca_file))


def request(config: StackConfig, service: str, method: str, path: str, data: bytes | None = None,
            headers: dict[str, str] | None = None, timeout_s: float = 10,
            auth: tuple[str, str] | None | bool = True) -> tuple[int, bytes]:
    """One HTTP call to ``service``; ``(status, body)`` for every HTTP answer, errors included.

    :param path: the path and query after the base URL.
    :param auth: True for the variant's credentials, None/False for none, or a ``(user, password)`` of one's own.
    :raises OSError: when the service cannot be reached (``urllib.error.URLError`` is one).
    """
    headers = dict(headers or {})
    creds = credentials(config, service) if auth is True else (auth or None)
    if creds:
        token = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    url = base_url(config, service) + path
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    context = ssl_context(config) if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(req, timeout=timeout_s, context=context) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
