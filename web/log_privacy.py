"""Logs keep no more than they need (CNIL minimisation; threat T16 in docs/security.md).

Two pieces, installed by :func:`web.app.create_app` and by ``seance serve`` / ``seance demo``:

- :func:`install` sets a log record factory that rewrites **every** record of the
  process, whatever its logger or handler (journald, stderr, pytest's capture): SDP
  bodies, tokens (``token=`` in URLs, ``"token"`` in JSON, ``Authorization``, cookies)
  and passwords are replaced by a placeholder in the message, its arguments, the
  formatted traceback and the stack. It is a record factory rather than a handler
  filter because filters on a logger do not see the records of its children, and the
  handlers belong to whoever configures logging.
  The same factory truncates every IP address that is not this host's own (IPv4 to its
  /24, IPv6 to its /64, ports kept): kiosks', viewers' and people's addresses, in our
  records and in the libraries' alike — aioice logs each ICE check with both ends'
  address and port at INFO. This host's addresses (its interfaces, loopback, and those
  ``seance serve`` names: ICE, announced, proxies, Redis) stay whole, so that a DSI can
  still read which of its own sockets a line is about. ``seance serve`` turns the
  truncation off with ``[privacy] log_ip_truncate = false``.
- :class:`PrivacyAccessLogger`, aiohttp's access logger (``access_log_class=``): no
  query string in the request line (kiosk links carry their token there), and, when
  ``WebConfig.log_ip_truncate`` is set, the client address truncated from the start
  (IPv4 to its /24, IPv6 to its /64), loopback included.

Séance writes no log file of its own: it logs to stderr, which systemd hands to
journald; how long journald keeps what it got (``log_ip_retention_days``) is set in
journald's configuration (docs/operations.md, "Privacy").
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp.web_log import AccessLogger

from web.appkeys import CONFIG

HIDDEN = "[masqué]"
SDP_HIDDEN = "[SDP omis]"

_NL = r"(?:\r\n|\n|\\r\\n|\\n)"
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # an SDP in JSON ("sdp": "v=0\r\n…") or in a repr ('sdp': 'v=0…')
    (re.compile(r"""(["']sdp["']\s*:\s*)(["'])(?:\\.|(?!\2).)*\2""", re.S), rf"\1\2{SDP_HIDDEN}\2"),
    # a raw SDP body: from "v=0" and its next line to the end of its lines
    (re.compile(rf"v=0{_NL}(?:[a-z]=[^\r\n\\'\"]*(?:{_NL})?)+"), SDP_HIDDEN),
    # any SDP line that carries a secret, alone (ICE password, DTLS fingerprint, keys)
    (re.compile(r"a=(ice-pwd|ice-ufrag|fingerprint|crypto):[^\s\\'\"]+"), rf"a=\1:{HIDDEN}"),
    # token=… in URLs and forms; "token": "…" in JSON and reprs
    (
        re.compile(
            r"((?:[?&;\s]|^)(?:token|access_token|password|passwd|pwd|secret|credential|csrf)=)[^&\s\"';]+", re.I
        ),
        rf"\1{HIDDEN}",
    ),
    (
        re.compile(
            r"""(["'](?:token|password|credential|shared_secret|secret|csrf)["']\s*:\s*)(["'])(?:\\.|(?!\2).)*\2""",
            re.I,
        ),
        rf"\1\2{HIDDEN}\2",
    ),
    # headers: Authorization, Cookie, Set-Cookie (as text or in a dict repr)
    (
        re.compile(
            r"""((?:authorization|proxy-authorization|cookie|set-cookie)["']?\s*[:=]\s*["']?)[^\r\n"']+""", re.I
        ),
        rf"\1{HIDDEN}",
    ),
    # the session cookie anywhere
    (re.compile(r"(seance_session=)[^;\s\"']+"), rf"\1{HIDDEN}"),
    # anything that looks like one of our signed tokens (payload.mac, base64url)
    (re.compile(r"\beyJ[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}"), HIDDEN),
]


def redact(text: str) -> str:
    """``text`` without SDP bodies, tokens, cookies, authorization headers or passwords."""
    if not text:
        return text
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def truncate_ip(address: str | None) -> str:
    """IPv4 a.b.c.d -> a.b.c.0 ; IPv6 -> its /64 ; anything else -> "-"."""
    if not address:
        return "-"
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "-"
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


# --------------------------------------------------------------------------- addresses

_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\d)")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:]|\.\d)")


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def truncate_addresses(text: str, own: frozenset[str] = frozenset()) -> str:
    """``text`` with every IP address that is not in ``own``, loopback or unspecified,
    truncated as :func:`truncate_ip` does (ports and everything else kept)."""

    def sub(match: re.Match[str]) -> str:
        ip = _address(match.group(0))
        if ip is None or ip.is_loopback or ip.is_unspecified or str(ip) in own:
            return match.group(0)
        cut = truncate_ip(str(ip))
        return cut if cut != str(ip) else match.group(0)

    if not text or not any(c in text for c in ".:"):
        return text
    return _IPV6.sub(sub, _IPV4.sub(sub, text))


def host_addresses() -> frozenset[str]:
    """The addresses of this host's interfaces (ifaddr, which aioice lists them with)."""
    import ifaddr  # aioice's own dependency; lazily: the CLI must not need the media stack

    out: set[str] = set()
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            address = ip.ip[0] if isinstance(ip.ip, tuple) else ip.ip
            parsed = _address(str(address))
            if parsed is not None:
                out.add(str(parsed))
    return frozenset(out)


# --------------------------------------------------------------------------- records


class RecordCleaner:
    """The process's log record factory: redacts secrets, truncates others' addresses."""

    def __init__(self, previous: Callable[..., logging.LogRecord], own: frozenset[str] = frozenset()) -> None:
        self.previous = previous
        self.own = own
        self.truncate = True

    def clean(self, text: str) -> str:
        text = redact(text)
        return truncate_addresses(text, self.own) if self.truncate else text

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what logging would say, cleaned
            message = f"{record.msg!r} % {record.args!r}"
        record.msg, record.args = self.clean(message), None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
            # the exception object itself may quote a secret: handlers get the cleaned text only
            # (logging.Formatter appends exc_text when exc_info is None)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self.clean(record.stack_info)
        return record


def install(own: Iterable[str] = (), truncate: bool | None = None) -> RecordCleaner:
    """Clean every log record of the process from now on (idempotent). ``own``: more
    addresses of this host to keep whole; ``truncate``: set whether addresses are cut."""
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, RecordCleaner):
        factory = RecordCleaner(factory, host_addresses())
        logging.setLogRecordFactory(factory)
    more = {str(ip) for ip in (_address(a) for a in own) if ip is not None}
    factory.own = factory.own | more
    if truncate is not None:
        factory.truncate = truncate
    return factory


def installed() -> bool:
    return isinstance(logging.getLogRecordFactory(), RecordCleaner)


# --------------------------------------------------------------------------- access log


class PrivacyAccessLogger(AccessLogger):
    """aiohttp's access log with the request line's query string dropped and, when the
    app's ``WebConfig.log_ip_truncate`` is set (the default), truncated addresses."""

    def _format_line(self, request, response, time):  # type: ignore[override]
        line = super()._format_line(request, response, time)
        truncate = _truncates(request)
        out = []
        for key, value in line:
            if key == "remote_address" and truncate:
                value = truncate_ip(request.remote if request is not None else None)
            elif key == "first_request_line" and request is not None:
                value = f"{request.method} {request.path} HTTP/{request.version.major}.{request.version.minor}"
            elif isinstance(value, str):
                value = redact(value)
            out.append((key, value))
        return out


def _truncates(request) -> bool:
    app = getattr(request, "app", None) if request is not None else None
    if app is None:
        return True
    config = app.get(CONFIG)
    return True if config is None else bool(config.log_ip_truncate)
