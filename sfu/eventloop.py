"""The event loop the media plane runs on: uvloop when it is installed and wanted,
asyncio's own otherwise (a clean fallback: uvloop is optional, never required).

Séance's hot path runs inside the loop's datagram callback (``sfu.transport``), so
the loop's own receive path (readiness, ``recvfrom``, callback) is part of the cost of
every packet; ``docs/performance.md`` has the figures with both loops.

``SEANCE_EVENT_LOOP`` (``auto`` | ``uvloop`` | ``asyncio``) chooses, for the processes
that call :func:`new_event_loop` (the benchmark's server; ``seance serve`` when wired).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

CHOICES = ("auto", "uvloop", "asyncio")


def new_event_loop(preferred: str | None = None) -> tuple[asyncio.AbstractEventLoop, str]:
    """A new event loop and its name. ``preferred``: ``auto`` (uvloop if importable),
    ``uvloop`` (uvloop, or asyncio with a warning if it is not installed), ``asyncio``;
    default from ``SEANCE_EVENT_LOOP``, else ``auto``."""
    choice = (preferred or os.environ.get("SEANCE_EVENT_LOOP") or "auto").lower()
    if choice not in CHOICES:
        logger.warning("unknown event loop %r, using asyncio", choice)
        choice = "asyncio"
    if choice in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                logger.warning("uvloop is not installed: running on asyncio's event loop")
        else:
            return uvloop.new_event_loop(), "uvloop"
    return asyncio.new_event_loop(), "asyncio"


class EventLoopCollector(Collector):
    """``seance_event_loop_info{loop}``: the event loop this process forwards media on
    (``uvloop`` or ``asyncio``), so a DSI can see which one ``server.event_loop`` gave."""

    def describe(self) -> list:
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            name = type(asyncio.get_running_loop()).__module__.split(".")[0]
        except RuntimeError:  # scraped outside the loop (a test's registry)
            return
        m = GaugeMetricFamily("seance_event_loop_info", "The event loop of this process", labels=["loop"])
        m.add_metric([name], 1)
        yield m
