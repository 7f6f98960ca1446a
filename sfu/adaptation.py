"""Per-subscriber adaptation: the pure :mod:`sfu.bandwidth` logic fed by the transport.

- :class:`RateMeter`: each producer's measured bitrate (its RTP octets over a window),
  the cost of forwarding it (``Layer.bps``);
- :class:`SubscriberLink`: one subscriber's (a salle's kiosk, a public viewer) downlink
  estimate and allocation. Fed by its consumers' RTCP — the browser's REMB
  (draft-alvestrand-rmcat-remb-03) and the report blocks of its receiver reports (RFC 3550
  section 6.4.1: fraction lost, and the packets expected since the last block) — and by
  the octets sent to it; :meth:`SubscriberLink.decide` spends the estimate in the order
  audio, the president's/pinned slot, the speaker's, the others
  (:class:`sfu.bandwidth.Allocator`), and says which video slots are paused;
- :func:`affordable`: what each slot could take from the subscriber's budget, from which
  the Router derives the REMB it sends each publisher (the highest any subscriber of its
  picture could take, instead of a fixed maximum).

A simulcast track (:mod:`sfu.simulcast`) offers its active layers with their measured
rates (:func:`layers_of`), so a weak subscriber is given a smaller layer before its slot
is paused; a track without simulcast has one layer, forwarded whole or paused.
docs/media.md ("Adaptation wired", "Simulcast") gives the figures and why.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .bandwidth import (
    TOP_TEMPORAL,
    Allocation,
    Allocator,
    AllocatorSettings,
    BytesSent,
    DownlinkEstimator,
    EstimatorSettings,
    Layer,
    LossReport,
    ProducerLayers,
    VideoSlot,
)
from .bandwidth.allocator import ladder, prefix_costs

#: a REMB below this share of the video we send is a decrease (the share leaves room for
#: the measure's own noise: sent and REMB are averaged over different windows)
REMB_BELOW = 0.9


class RateMeter:
    """Bits per second of a growing octet counter, over the last ``window_s``."""

    __slots__ = ("samples", "window_s")

    def __init__(self, window_s: float = 2.0) -> None:
        self.window_s = window_s
        self.samples: deque[tuple[float, int]] = deque()

    def sample(self, now: float, octets: int) -> None:
        self.samples.append((now, octets))
        while len(self.samples) > 2 and self.samples[1][0] <= now - self.window_s:
            self.samples.popleft()

    def bps(self) -> float:
        if len(self.samples) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self.samples[0], self.samples[-1]
        return max(0.0, (b1 - b0) * 8 / (t1 - t0)) if t1 > t0 else 0.0


@dataclass(frozen=True)
class SlotSource:
    """A video slot of a subscriber as the Router sees it: its source salle (None when
    empty), that source's measured bitrate, and the slot's priority (0: the president's
    or pinned salle, 1: the speaker, 2: the others)."""

    slot: str
    salle: str | None
    bps: float
    priority: int
    #: the source's simulcast layers as measured (empty: one layer costing ``bps``)
    layers: tuple[Layer, ...] = ()
    #: the largest layer worth sending to this slot (a small tile), None for no limit
    max_spatial: int | None = None

    def offered(self) -> tuple[Layer, ...]:
        return self.layers or (Layer(0, TOP_TEMPORAL, self.bps),)


#: a layer that started (again) less than this ago is not measured yet: it costs its ceiling
YOUNG_LAYER_S = 2.0


def layers_of(
    track: Any, now: float, caps: Sequence[float] = (), switched_off: Collection[int] = ()
) -> tuple[Layer, ...]:
    """The layers of a simulcast track (:class:`sfu.producer.Producer` with ``layers``),
    each at its measured rate; () for a track without simulcast. ``caps``: what each
    layer may cost (the kiosk's ``maxBitrate``), the cost of a layer that started less
    than :data:`YOUNG_LAYER_S` ago (its rate window is still filling: measured low, it
    would be granted to a link that cannot carry it) and of the layers ``switched_off`` at
    the source (dynacast), offered too so that a subscriber that can carry one again asks
    for it (switched on, forwarded once it arrives; meanwhile the largest below).

    Each encoding is offered whole (``Layer.temporal`` :data:`TOP_TEMPORAL`); the
    smallest one, when its packets carry VP8 temporal layers (RFC 7741, the kiosks'
    ``L1T3``), also at each lower frame rate, its TIDs up to ``t`` costing their summed
    rates (:meth:`sfu.producer.Producer.temporal_bps`): a subscriber that cannot carry
    it whole gets half or a quarter of its frames before its slot is paused. The larger
    encodings are offered whole only: below one, the next smaller encoding at its full
    frame rate costs less and moves better."""
    if not track.layers:
        return ()
    costs = {}
    temporal: list[Layer] = []
    for p in track.active_layers(now):
        bps = p.rate.bps()
        if p.started_at is not None and now - p.started_at < YOUNG_LAYER_S and p.spatial < len(caps):
            bps = max(bps, caps[p.spatial])
        elif p.spatial == 0:
            # the smallest encoding's lower frame rates, before its slot is paused
            for tid in range(p.temporal_top(now)):
                sub_bps = p.temporal_bps(tid)
                if 0 < sub_bps < bps:
                    temporal.append(Layer(0, tid, sub_bps))
        costs[p.spatial] = bps
    for spatial in switched_off:
        if spatial not in costs and 0 <= spatial < min(len(track.layers), len(caps)):
            costs[spatial] = float(caps[spatial])
    return tuple(sorted(temporal + [Layer(spatial, TOP_TEMPORAL, bps) for spatial, bps in costs.items()]))


def lowest_bps(track: Any, now: float) -> float:
    """What the smallest picture of ``track`` costs: its smallest active layer's rate, at
    its lowest temporal layer when its packets carry TIDs (a quarter of Chromium's
    frames: still a picture, R3's "par la vidéo"); its whole rate without simulcast."""
    layers = layers_of(track, now)
    return layers[0].bps if layers else track.rate.bps()


def priority_of(salle: str | None, first: Iterable[str | None], speaker: str | None) -> int:
    if salle is not None and salle in set(first):
        return 0
    return 1 if salle is not None and salle == speaker else 2


class SubscriberLink:
    """One subscriber's downlink: feedback in, the paused video slots out."""

    def __init__(self, estimator: EstimatorSettings, allocator: AllocatorSettings, remb_decreases: bool = True) -> None:
        self.remb_decreases = remb_decreases
        self.estimator = DownlinkEstimator(estimator)
        self.allocator = Allocator(allocator)
        self.reports: list[LossReport] = []
        self.allocation: Allocation | None = None
        self.paused: frozenset[str] = frozenset()
        self.video_budget = 0.0
        self.probes = 0
        self.remb_lowered = 0
        self.remb: tuple[float, float] | None = None  # (at, bps) not yet taken into account
        self.probe_at: float | None = None  # a probe of ours in progress (its start)
        self.probe_failed_at: float | None = None  # the last probe undone by loss

    # feedback (consumers' RTCP; the hot path of RTCP only) -------------------------------
    def on_remb(self, now: float, bps: float) -> None:
        """The browser's REMB. Chromium's covers the video it receives (the packets with
        abs-send-time) and stays near 1.5 times what it receives while the link is not
        congested: without padding probes (no RTX towards browsers yet) a REMB taken as a
        ceiling would hold every subscriber at what it receives. It is taken as a
        *decrease*: below the video we send, it brings the estimate down to it."""
        if bps >= 0 and self.remb_decreases:
            self.remb = (now, float(bps))

    def on_report(self, fraction_lost: int, expected: int) -> None:
        """One report block about a stream we send (``fraction_lost`` in 1/256)."""
        if len(self.reports) < 64:
            self.reports.append(LossReport(fraction_lost / 256.0, max(0, expected)))

    # decision, once per adaptation tick ----------------------------------------------
    def decide(
        self, now: float, octets_sent: int, audio_bps: float, slots: list[SlotSource], floor_bps: float = 0.0
    ) -> Allocation:
        """Feed what was sent and reported since the last call, and allocate. A slot
        whose source has no measured rate yet costs nothing (it is given its picture).
        ``floor_bps``: a budget the caller guarantees (an audio-fallback trial)."""
        est = self.estimator
        est.on_sent(now, BytesSent(octets_sent))
        if self.reports:
            est.on_loss(now, self.reports)
            self.reports = []
        if self.remb is not None:
            at, remb = self.remb
            self.remb = None
            video_sent = est.sent_bps(now) - audio_bps
            if now - at < 2.0 and remb < REMB_BELOW * video_sent:
                est.lower_to(now, remb + audio_bps)
                self.remb_lowered += 1
        video = [
            VideoSlot(
                s.slot,
                s.priority,
                None if s.salle is None else ProducerLayers(s.salle, s.offered()),
                None if s.max_spatial is None else Layer(s.max_spatial, TOP_TEMPORAL),
            )
            for s in slots
        ]
        alloc = self.allocator
        budget = max(est.estimate(now), floor_bps)
        calm = est.loss is None or est.loss < alloc.settings.low_loss
        if self.allocation is not None and self.allocation.paused and calm:
            # probe: the link is idle below its next rung and gives no evidence by itself
            rungs = ladder(video)
            costs = prefix_costs(rungs)
            k = sum(1 for r in rungs if alloc.current.get(r.slot) is not None)
            since = None if alloc.last_change is None else now - alloc.last_change
            if k < len(rungs) and (since is None or since >= alloc.probe_interval):
                # with the allocator's headroom: the resumed picture starts on a key frame, and
                # a probe granted at the bare cost was undone at the next tick by that burst
                # (tests/sfu/test_adaptation.py resumed after 3 probes, 60 s, instead of 1)
                need = costs[k + 1] * (1 + alloc.settings.headroom) + audio_bps
                if need > budget:
                    est.probe(now, need)
                    self.probes += 1
                    self.probe_at = now
                    budget = max(est.estimate(now), floor_bps)
        allocation = alloc.decide(now, budget, audio_bps, video, est.loss)
        if self.probe_at is not None:
            if allocation.change == "down" and now - self.probe_at < alloc.settings.probe_window_s:
                self.probe_failed_at, self.probe_at = now, None  # the link could not carry it
            elif now - self.probe_at >= alloc.settings.probe_window_s:
                self.probe_failed_at = self.probe_at = None  # it held
        self.allocation = allocation
        self.video_budget = max(0.0, budget - audio_bps)
        self.paused = frozenset(allocation.paused)
        return allocation


def proven(link: SubscriberLink, now: float, bps: float) -> None:
    """An audio-fallback trial (R3, :mod:`sfu.bandwidth.fallback`) carried ``bps`` to the
    subscriber without loss: its estimate starts from there, and a probe that failed
    before the trial (while the link was weak) no longer makes the old estimate evidence."""
    link.estimator.probe(now, bps)
    link.probe_failed_at = link.probe_at = None


def tested(link: SubscriberLink, now: float, memory_s: float = 30.0) -> bool:
    """Whether the subscriber's low estimate is evidence: a probe at the next picture's
    cost failed within ``memory_s``. A subscriber paused after a burst of loss (a busy
    kiosk, cross traffic) has an estimate that cannot grow while it is idle; until a probe
    has tried the link, that estimate says nothing about what the link carries."""
    return link.probe_failed_at is not None and now - link.probe_failed_at < memory_s


def affordable(link: SubscriberLink, slots: list[SlotSource]) -> Mapping[str, float]:
    """Per slot with a source, what it could take from the subscriber's video budget:
    the budget less what the slots served before it (higher priority, granted) cost."""
    alloc = link.allocation
    out: dict[str, float] = {}
    ordered = sorted((s for s in slots if s.salle is not None), key=lambda s: (s.priority, s.slot))
    spent = 0.0
    for s in ordered:
        out[s.slot] = max(0.0, link.video_budget - spent)
        granted = alloc.slots.get(s.slot) if alloc is not None else None
        if granted is not None:
            spent += granted.bps
    return out
