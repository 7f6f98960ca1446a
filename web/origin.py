"""Whether a browser's ``Origin`` is this server's own (RFC 6454 §4, §7).

Cross-site WebSocket hijacking: a page of any site may open a WebSocket to Séance, and
the browser sends the session cookie along; only ``Origin`` says whose page it is. It is
compared with the ``Host`` the request reached (behind nginx: ``X-Forwarded-Host``,
believed from ``[proxy] trusted`` only), scheme-default ports written or not.
"""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_PORTS = {"https": "443", "http": "80", "wss": "443", "ws": "80"}


def _host_port(scheme: str, netloc: str) -> str:
    netloc = netloc.lower()
    port = DEFAULT_PORTS.get(scheme)
    return netloc[: -len(port) - 1] if port and netloc.endswith(f":{port}") else netloc


def same_origin(origin: str, scheme: str, host: str) -> bool:
    """``origin`` (``https://name[:port]``) names the server reached as ``scheme://host``."""
    parts = urlsplit(origin)
    return bool(parts.netloc) and _host_port(parts.scheme, parts.netloc) == _host_port(scheme, host)
