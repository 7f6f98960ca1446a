"""Uplink follows demand: what each publisher must send, given what its subscribers get.

From every consumer's layer (the allocators' decisions, the recorder's and the public
programme's included), for each producer:

- the **highest layer** anyone receives;
- which **encodings** (simulcast spatial layers) are needed: every one up to the highest
  received within ``off_after_s`` (LiveKit's "max subscribed quality": a subscriber that
  steps down finds the layer below already there). One above it is switched off at the source (the kiosk sets ``active: false``
  on that encoding, as LiveKit's dynacast does, with the same kind of delay so that a
  speaker who comes and goes does not turn encoders on and off); one that is needed
  again is switched on at once. The lowest encoding stays on whatever happens: a
  subscriber that must step down, or a slot that switches to this salle, finds it
  there without waiting for the kiosk (LiveKit pauses every layer; a sitting's speaker
  changes often enough that the lowest picture is worth its ~100 kbit/s);
- the **REMB** to send the publisher: the maximum bitrates of the encodings kept on
  (Galène sums what its down tracks can take; mediasoup's consumers ask their
  producer for the layers they want), clamped to ``[min_bps, max_bps]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .types import Assignment, Layer, ProducerLayers


@dataclass(frozen=True)
class DemandSettings:
    off_after_s: float = 5.0
    min_bps: float = 50_000
    max_bps: float = 2_500_000
    #: an encoding whose configured maximum is unknown is counted at its measured rate times this
    unknown_max_factor: float = 1.5


@dataclass(frozen=True)
class Demand:
    producer: str
    highest: Layer | None  #: the highest layer a consumer receives (None: nobody receives video)
    needed: frozenset[int]  #: encodings (spatial layers) received now
    active: Mapping[int, bool]  #: encoding -> keep sending it
    remb_bps: float
    switched_off: frozenset[int] = field(default_factory=frozenset)  #: encodings turned off by this update


class UplinkDemand:
    """``update(now, producers, received)`` at each tick -> {producer: Demand}."""

    def __init__(self, settings: DemandSettings | None = None) -> None:
        self.settings = settings or DemandSettings()
        self._last_needed: dict[tuple[str, int], float] = {}
        self._active: dict[str, dict[int, bool]] = {}

    def update(
        self, now: float, producers: Mapping[str, ProducerLayers], received: Iterable[tuple[str, Assignment]]
    ) -> dict[str, Demand]:
        """``received``: (producer, layer or None) for every consumer of video."""
        s = self.settings
        highest: dict[str, Layer] = {}
        needed: dict[str, set[int]] = {}
        for producer, layer in received:
            if layer is None or producer not in producers:
                continue
            needed.setdefault(producer, set()).add(layer.spatial)
            if producer not in highest or highest[producer] < layer:
                highest[producer] = layer
        out = {}
        for pid, p in producers.items():
            encodings = sorted(set(p.max_bps) | {layer.spatial for layer in p.layers})
            now_needed = needed.get(pid, set())
            for e in now_needed:
                self._last_needed[(pid, e)] = now
            previous = self._active.get(pid, {})
            wanted = {}
            for e in encodings:
                last = self._last_needed.get((pid, e))
                recently = last is not None and now - last < s.off_after_s
                # a new producer starts with every encoding on until the delay has run
                fresh = e not in previous and last is None
                wanted[e] = e == encodings[0] or e in now_needed or recently or fresh
                if fresh:
                    self._last_needed[(pid, e)] = now
            top = max(e for e, on in wanted.items() if on) if encodings else 0
            active = {e: e <= top for e in encodings}
            self._active[pid] = active
            remb = sum(self._max_bps(p, e) for e, on in active.items() if on)
            out[pid] = Demand(
                producer=pid,
                highest=highest.get(pid),
                needed=frozenset(now_needed),
                active=active,
                remb_bps=min(max(remb, s.min_bps), s.max_bps),
                switched_off=frozenset(e for e, on in active.items() if not on and previous.get(e, True)),
            )
        for gone in set(self._active) - set(producers):
            del self._active[gone]
            for key in [k for k in self._last_needed if k[0] == gone]:
                del self._last_needed[key]
        return out

    def _max_bps(self, p: ProducerLayers, encoding: int) -> float:
        if encoding in p.max_bps:
            return p.max_bps[encoding]
        measured = [layer.bps for layer in p.layers if layer.spatial == encoding]
        return max(measured, default=0.0) * self.settings.unknown_max_factor
