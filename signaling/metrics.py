"""Signaling's own Prometheus metrics, registered on the app's CollectorRegistry."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge


class SignalingMetrics:
    def __init__(self, registry: CollectorRegistry, connections: Callable[[], int]) -> None:
        self.messages = Counter(
            "seance_signaling_messages", "Signaling messages received, by type", ["type"], registry=registry
        )
        self.errors = Counter(
            "seance_signaling_errors", "Signaling error replies, by code", ["code"], registry=registry
        )
        self.logins = Counter("seance_logins", "Login attempts, by outcome", ["outcome"], registry=registry)
        g = Gauge("seance_signaling_connections", "Open signaling WebSockets", registry=registry)
        g.set_function(lambda: float(connections()))
