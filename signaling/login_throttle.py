"""How many password checks an address and an account may ask for (T10; issue 12.3, 12.8).

Each check is a scrypt hash (about 50 ms of CPU): a login page that hashes on demand is a
way to spend the server's CPU, and to guess passwords. Three limits, over a sliding
window:

- failures per **address**, where an IPv6 address counts for its whole /64 (a host gets
  a /64 and picks any of its 2^64 addresses: RFC 4291 § 2.5.4, RFC 7421);
- failures per **account** (guessing one account from many addresses);
- attempts per account, **successful ones included** (one valid account logging in many
  times at once costs a hash each time).

The table is bounded: entries older than the window are dropped as they are met and in a
sweep when the table is full, and past ``max_entries`` the oldest keys go first, so a
flood of addresses cannot grow it without end. Pure: no I/O; the clock is injected.
"""

from __future__ import annotations

import ipaddress
import time
from collections import deque
from collections.abc import Callable


def address_key(remote: str | None) -> str:
    """The unit an address is counted in: an IPv4 address, or an IPv6 address's /64."""
    if not remote:
        return "?"
    try:
        ip = ipaddress.ip_address(remote.split("%", 1)[0])
    except ValueError:
        return remote[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


class LoginThrottle:
    """Sliding-window counters of login failures and attempts, bounded in size."""

    def __init__(
        self,
        *,
        window_s: float = 300.0,
        max_failures_per_address: int = 10,
        max_failures_per_account: int = 10,
        max_attempts_per_account: int = 20,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window_s = window_s
        self.limits = {
            "addr": max_failures_per_address,
            "fail": max_failures_per_account,
            "try": max_attempts_per_account,
        }
        self.max_entries = max_entries
        self._clock = clock
        self._events: dict[str, deque[float]] = {}

    def __len__(self) -> int:
        return len(self._events)

    def _recent(self, key: str, now: float) -> int:
        events = self._events.get(key)
        if events is None:
            return 0
        while events and now - events[0] >= self.window_s:
            events.popleft()
        if not events:
            del self._events[key]
            return 0
        return len(events)

    def _add(self, key: str, now: float) -> None:
        events = self._events.pop(key, None) or deque()
        events.append(now)
        self._events[key] = events  # re-inserted: the dict's order is least recently touched first
        if len(self._events) > self.max_entries:
            for old in [k for k, v in self._events.items() if now - v[-1] >= self.window_s]:
                del self._events[old]
            while len(self._events) > self.max_entries:
                del self._events[next(iter(self._events))]

    @staticmethod
    def _account(login: str) -> str:
        return login.strip().casefold()[:128]

    def refused(self, remote: str | None, login: str) -> str | None:
        """Why a new check is refused now (``address`` or ``account``), or None."""
        now = self._clock()
        if self._recent("addr:" + address_key(remote), now) >= self.limits["addr"]:
            return "address"
        account = self._account(login)
        if account and (
            self._recent("fail:" + account, now) >= self.limits["fail"]
            or self._recent("try:" + account, now) >= self.limits["try"]
        ):
            return "account"
        return None

    def attempt(self, login: str) -> None:
        """A password check is about to run for this account (success or not)."""
        if self._account(login):
            self._add("try:" + self._account(login), self._clock())

    def failed(self, remote: str | None, login: str) -> None:
        now = self._clock()
        self._add("addr:" + address_key(remote), now)
        if self._account(login):
            self._add("fail:" + self._account(login), now)
