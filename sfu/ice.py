"""ICE addresses of the media plane: what aioice does, and the settings we add.

What aioice 0.13 (under aiortc 1.16) does, read from its source:

- **Host candidates**: ``Connection.gather_candidates()`` binds one UDP socket on an
  ephemeral port per address returned by ``aioice.ice.get_host_addresses(use_ipv4,
  use_ipv6)``, which lists every interface address *except 127.0.0.1* (and ``::1``;
  IPv6 only with scope 0). ``Connection(...)`` takes ``use_ipv4``/``use_ipv6``,
  ``stun_server``, ``turn_server``, ``transport_policy`` and credentials, but no
  address list, no port range and no announced address; aiortc builds the
  ``Connection`` itself (in ``RTCIceGatherer``) and passes only the STUN/TURN servers
  of its ``RTCConfiguration`` (a Google STUN server when ``iceServers`` is None: the
  server uses ``iceServers=[]``, never a third party).
- So Séance gathers on an address list of its own (:class:`sfu.config.IceSettings`
  ``listen_addresses``, default: the interface addresses plus 127.0.0.1) and can
  announce a different address in the SDP (``announced_address``, like mediasoup's
  ``announcedAddress``, for a server behind 1:1 NAT). Both are applied per connection
  by :mod:`sfu.transport.ice` (gathering with :func:`sfu.library_surface.gather_on_addresses`),
  never process-wide, so aiortc clients in the same process (the tests) keep the stock
  behaviour.
- **Loopback and Chromium**: ``--allow-loopback-in-peer-connection`` only lets
  Chromium *gather* loopback host candidates of its own; measured in
  ``tests/browser/test_mdns.py``, a Chromium without the flag still reaches a server
  announcing 127.0.0.1 (its checks leave from its LAN host candidate and the kernel
  delivers them over loopback) and the server learns it as peer-reflexive. A browser
  on another machine needs a routable ``listen_addresses``/``announced_address``.
- **mDNS**: Chromium hides its host addresses behind random ``<uuid>.local`` names
  (unless the page has camera permission in some versions, or the policy is
  changed). aioice 0.13 *does* resolve them (``add_remote_candidate`` runs its own
  multicast mDNS client, 1 s timeout per name) but that needs multicast on the
  server's network and delays the answer. It also *accepts peer-reflexive
  candidates*: an incoming connectivity check from an unknown address creates a
  ``prflx`` remote candidate and a triggered check (RFC 8445 section 7.3.1.3), and
  as the controlled agent the server does not need to reach the browser first.
  Séance therefore drops ``.local`` candidates from the offer by default
  (``resolve_mdns=False``) and learns the browser's address from its first check:
  this works on loopback, on a LAN and through NAT, as long as the browser can reach
  the server's announced address. No ``a=end-of-candidates`` is added, so aioice
  keeps waiting for that check instead of failing at once.
- **Receive queue**: aioice puts every datagram that is not STUN on an unbounded
  ``asyncio.Queue`` (``Connection.data_received``); Séance's agent
  (:class:`sfu.transport.ice.IceLink`) overrides that method and handles the datagram
  inside the socket callback, so nothing queues and delay cannot grow there.
- No port range and no single-port mux in aioice 0.13: the firewall must let UDP
  through on the ephemeral range towards the announced address (or use TURN).
"""

from __future__ import annotations

import ipaddress
import re

from .config import IceSettings

_CANDIDATE_LINE = re.compile(r"^a=candidate:\S+ \d+ \S+ \d+ (\S+) \d+ typ", re.IGNORECASE)


def is_mdns_host(host: str) -> bool:
    return host.lower().endswith(".local")


def strip_mdns_candidates(sdp: str) -> tuple[str, int]:
    """Remove ``a=candidate`` lines whose address is an mDNS ``.local`` name."""
    out = []
    removed = 0
    for line in sdp.splitlines():
        m = _CANDIDATE_LINE.match(line)
        if m and is_mdns_host(m.group(1)):
            removed += 1
            continue
        out.append(line)
    return "\r\n".join(out) + "\r\n", removed


def gather_addresses(settings: IceSettings) -> list[str]:
    """The addresses to bind ICE host candidates on."""
    if settings.listen_addresses is not None:
        return list(settings.listen_addresses)
    from aioice.ice import get_host_addresses  # aioice 0.13: leaves out 127.0.0.1

    addresses = list(get_host_addresses(use_ipv4=True, use_ipv6=settings.use_ipv6))
    if settings.include_loopback and "127.0.0.1" not in addresses:
        addresses.append("127.0.0.1")
    return addresses


def announced(host: str, settings: IceSettings) -> str:
    """The address to put in the SDP for a candidate bound on ``host``."""
    if settings.announced_address is None:
        return host
    try:
        if ipaddress.ip_address(host).is_loopback:
            return host  # never announce a public address for a loopback socket
    except ValueError:
        pass
    return settings.announced_address
