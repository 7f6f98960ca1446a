"""The inputs and outputs of the bandwidth logic: small frozen dataclasses.

The transport's feedback callbacks produce the feedback samples (REMB, receiver-report
loss, RTT, bytes sent); the Router produces the layers measured per producer and the
slots of each subscriber with their priorities. Bitrates are in bits per second, times
in seconds of a monotonic clock the caller passes in (nothing here reads a clock).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# --------------------------------------------------------------------------- feedback


@dataclass(frozen=True)
class Remb:
    """A receiver's estimate of what it can receive (draft-alvestrand-rmcat-remb-03):
    Chromium's receive-side, delay-based estimate for the whole connection."""

    bps: float


@dataclass(frozen=True)
class LossReport:
    """One report block of a receiver report (RFC 3550 §6.4.1) about one stream we
    send: ``fraction_lost`` (0..1) of the packets expected since the previous report,
    ``expected`` of them (the weight of this block among the others; 0 if unknown)."""

    fraction_lost: float
    expected: int = 0


@dataclass(frozen=True)
class RttSample:
    """Round-trip time measured from a report block's LSR/DLSR (RFC 3550 §6.4.1)."""

    seconds: float


@dataclass(frozen=True)
class BytesSent:
    """The subscriber's cumulative count of bytes we have sent it (all its streams)."""

    total: int


# --------------------------------------------------------------------------- media


#: the highest VP8 temporal layer id (RFC 7741 section 4.2: TID has two bits): a
#: :class:`Layer` at it is its encoding whole, whatever temporal layers it has
TOP_TEMPORAL = 3


@dataclass(frozen=True, order=True)
class Layer:
    """One layer a producer offers: a simulcast encoding (``spatial``: 0 is the smallest
    picture) and a temporal layer of it (``temporal``: 0 is the lowest frame rate, the
    TID of RFC 7741; :data:`TOP_TEMPORAL` the encoding whole). ``bps``: its bitrate as
    measured at the server — what a consumer costs while it forwards this layer (the
    temporal layers below it included)."""

    spatial: int
    temporal: int = TOP_TEMPORAL
    bps: float = field(default=0.0, compare=False)


@dataclass(frozen=True)
class ProducerLayers:
    """The layers a producer sends now, as measured (the inactive ones left out).
    ``max_bps`` per spatial layer: the encoding's configured maximum (the kiosk's
    ``maxBitrate``), what the publisher may need to be allowed when that encoding is on."""

    producer: str
    layers: tuple[Layer, ...]
    max_bps: dict[int, float] = field(default_factory=dict, hash=False, compare=False)

    def __post_init__(self) -> None:
        if list(self.layers) != sorted(self.layers):
            raise ValueError(f"{self.producer}: layers must be in ascending order")
        if len(set(self.layers)) != len(self.layers):
            raise ValueError(f"{self.producer}: a layer is listed twice")


@dataclass(frozen=True)
class VideoSlot:
    """One video receive slot of a subscriber: ``priority`` 0 is served first (the
    president's or pinned salle), then 1 (the speaker), then the others. ``source``:
    the producer in the slot now (None: the slot is empty). ``max_layer``: the highest
    layer worth sending to this slot (a small tile), None for no limit."""

    slot: str
    priority: int
    source: ProducerLayers | None
    max_layer: Layer | None = None

    def layers(self) -> tuple[Layer, ...]:
        if self.source is None:
            return ()
        if self.max_layer is None:
            return self.source.layers
        return tuple(layer for layer in self.source.layers if layer <= self.max_layer)


#: what a video slot gets: one of its source's layers, or None (paused)
Assignment = Layer | None
