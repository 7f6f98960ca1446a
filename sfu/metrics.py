"""Prometheus metrics of the media plane, on a registry passed in.

The per-packet counters are plain integers on a :class:`SfuCounters` object (an
``inc()`` of prometheus_client takes a lock, too dear per packet at fan-out); a
custom collector registered on the router's registry reads them at scrape time,
together with gauges computed from the router's state. No module-level mutable
state, no default registry.

There is no count of decoded frames: the transport Séance owns (:mod:`sfu.transport`)
hands RTP bytes to the Producers and has no decoder to call (``frames_decoded``, the count
of aiortc's decoder calls while the server could run on aiortc's ``RTCPeerConnection``,
could only read 0 and was removed; ``tests/sfu/test_never_decodes.py`` checks that no
module of ``sfu/`` names a decoder).
"""

from __future__ import annotations

from collections import Counter as _Tally
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

DROP_REASONS = (
    "muted",
    "audio_only",
    "rtx",
    "unknown_payload_type",
    "unroutable",
    "codec_mismatch",
    "before_switch",
    "awaiting_keyframe",
    "not_connected",
    "send_error",
    "malformed",
    "malformed_rtcp",
    "srtp",
    "send_buffer_full",
    "srtp_refused",
    "nack_over_budget",
    "paused",
)


class SfuCounters:
    """Plain counters updated on the hot path (single event-loop thread)."""

    def __init__(self) -> None:
        self.packets_in = _Tally()  # by kind
        self.bytes_in = _Tally()
        # forwarded packets are counted by each Consumer (packets_sent, octets_sent:
        # plain integers on the hot path); packets_out/bytes_out add them up by kind
        # when read (scrape, stats), with what retired consumers had sent
        self.live_consumers: Callable[[], Iterable[Any]] = tuple
        self._retired_packets = _Tally()
        self._retired_bytes = _Tally()
        self.dropped = _Tally()  # by reason
        self.nacks_received = 0
        self.nacks_sent = 0  # to publishers, for packets lost on their uplink
        self.recovered = 0  # RTX retransmissions from publishers, unwrapped
        self.retransmitted = 0
        self.plis_received = 0
        self.plis_absorbed = 0  # subscribers' PLI/FIR answered without asking the publisher
        self.keyframe_requests_sent = 0
        self.source_switches = 0
        self.hook_errors = _Tally()  # by hook

    def retire(self, consumer: Any) -> None:
        """A consumer closes: keep what it sent in the totals."""
        self._retired_packets[consumer.kind] += consumer.packets_sent
        self._retired_bytes[consumer.kind] += consumer.octets_sent

    @property
    def packets_out(self) -> _Tally:
        out = _Tally(self._retired_packets)
        for c in self.live_consumers():
            if not c.closed:
                out[c.kind] += c.packets_sent
        return out

    @property
    def bytes_out(self) -> _Tally:
        out = _Tally(self._retired_bytes)
        for c in self.live_consumers():
            if not c.closed:
                out[c.kind] += c.octets_sent
        return out


class SfuCollector(Collector):
    """Exposes the counters and the router's gauges on a registry."""

    def __init__(self, counters: SfuCounters, gauges: Callable[[], dict[str, Any]]) -> None:
        self.counters = counters
        self.gauges = gauges

    def describe(self) -> list:
        return []

    def collect(self) -> Iterator:
        c = self.counters
        g = self.gauges()

        def by(name: str, doc: str, label: str, values: dict) -> CounterMetricFamily:
            m = CounterMetricFamily(name, doc, labels=[label])
            for k, v in sorted(values.items()):
                m.add_metric([k], v)
            return m

        yield by("seance_sfu_rtp_packets_in", "RTP packets received from publishers", "kind", c.packets_in)
        yield by("seance_sfu_rtp_bytes_in", "RTP bytes received from publishers", "kind", c.bytes_in)
        yield by("seance_sfu_rtp_packets_out", "RTP packets forwarded to consumers", "kind", c.packets_out)
        yield by("seance_sfu_rtp_bytes_out", "RTP bytes forwarded to consumers", "kind", c.bytes_out)
        yield by(
            "seance_sfu_packets_dropped",
            "Packets dropped, by reason",
            "reason",
            {r: c.dropped.get(r, 0) for r in (*DROP_REASONS, *c.dropped)},
        )
        yield by(
            "seance_sfu_hook_errors", "Exceptions caught in the media transport's callbacks", "hook", c.hook_errors
        )
        for name, doc, value in (
            ("seance_sfu_nacks_received", "Generic NACK packets from consumers", c.nacks_received),
            ("seance_sfu_nacks_sent", "Generic NACK packets sent to publishers", c.nacks_sent),
            ("seance_sfu_rtx_recovered", "Packets recovered from publishers' RTX", c.recovered),
            ("seance_sfu_retransmissions", "Packets retransmitted from the packet cache", c.retransmitted),
            ("seance_sfu_plis_received", "PLI/FIR from consumers", c.plis_received),
            ("seance_sfu_plis_absorbed", "PLI/FIR from consumers not relayed to the publisher", c.plis_absorbed),
            ("seance_sfu_keyframe_requests_sent", "PLIs sent to publishers", c.keyframe_requests_sent),
            ("seance_sfu_source_switches", "Slot source switches", c.source_switches),
        ):
            m = CounterMetricFamily(name, doc)
            m.add_metric([], value)
            yield m
        for name, doc in (
            ("peers", "Connected peers"),
            ("producers", "Producers (incoming tracks)"),
            ("consumers", "Consumers (outgoing slots)"),
        ):
            m = GaugeMetricFamily(f"seance_sfu_{name}", doc, labels=["kind"])
            for k, v in sorted(g.get(name, {}).items()):
                m.add_metric([k], v)
            yield m
        m = GaugeMetricFamily(
            "seance_sfu_salle_transmitting", "1 when the salle transmits in both directions", labels=["salle"]
        )
        for salle, ok in sorted(g.get("transmitting", {}).items()):
            m.add_metric([salle], 1 if ok else 0)
        yield m


def register(registry: CollectorRegistry | None, counters: SfuCounters, gauges: Callable[[], dict]) -> SfuCollector:
    collector = SfuCollector(counters, gauges)
    if registry is not None:
        registry.register(collector)
    return collector
