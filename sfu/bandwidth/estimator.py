"""A subscriber's downlink estimate: how many bits per second we may send it.

The estimate is the smaller of two, as in libwebrtc's send-side controller that
mediasoup runs for its consumers (``SendSideBandwidthEstimation``) and as Galène does
for each down track (``rtpconn.updateRate`` and ``GetMaxBitrate``):

- **loss-based** (RFC 3550 receiver reports, the controller of
  draft-ietf-rmcat-gcc-02 §6): below 2 % loss the estimate grows by 8 % a second
  (plus 1 kbit/s), but only while we actually send at least three quarters of it
  (Galène: otherwise the link was not tested at that rate and the loss says nothing
  about it); above 10 % it is multiplied by ``1 - loss/2``, at most once per
  ``300 ms + RTT`` (the time for a decrease to show in the next reports); in between,
  it holds;
- **delay-based**: the receiver's own REMB (Chromium's receive-side estimator sees
  queues build before they overflow), while it is fresh.

Clamped to ``[min_bps, max_bps]``. Everything is fed with the caller's ``now`` and is
deterministic given the calls.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from .types import BytesSent, LossReport, Remb, RttSample


@dataclass(frozen=True)
class EstimatorSettings:
    #: before any feedback (Chromium starts its own send-side estimate at 300 kbit/s;
    #: an SFU may start higher since its REMB from the browser comes within a second)
    initial_bps: float = 500_000
    min_bps: float = 30_000
    max_bps: float = 6_000_000
    low_loss: float = 0.02  #: below: grow
    high_loss: float = 0.10  #: above: decrease
    growth_per_s: float = 0.08
    growth_floor_bps: float = 1_000
    #: grow only while sending at least this share of the estimate
    used_share_to_grow: float = 0.75
    decrease_interval_s: float = 0.3  #: plus the RTT
    remb_timeout_s: float = 5.0  #: an older REMB no longer caps the estimate
    rate_window_s: float = 1.0  #: the window of the sent rate


class DownlinkEstimator:
    """``on_remb``, ``on_loss``, ``on_rtt``, ``on_sent`` as feedback arrives; ``estimate(now)``."""

    def __init__(self, settings: EstimatorSettings | None = None) -> None:
        self.settings = settings or EstimatorSettings()
        self.loss_based = self.settings.initial_bps
        self.remb: tuple[float, float] | None = None  # (at, bps)
        self.loss: float | None = None  #: the last aggregated loss fraction
        self.rtt: float | None = None  #: smoothed RTT, seconds
        self._last_increase: float | None = None
        self._last_decrease: float | None = None
        self._sent: deque[tuple[float, int]] = deque()

    # --- feedback -------------------------------------------------------------------------
    def on_remb(self, now: float, remb: Remb) -> None:
        if math.isfinite(remb.bps) and remb.bps >= 0:
            self.remb = (now, remb.bps)

    def on_rtt(self, now: float, sample: RttSample) -> None:
        """Smoothed as Galène does: 3/4 of the previous value, 1/4 of the new one."""
        if not (math.isfinite(sample.seconds) and sample.seconds >= 0):
            return
        self.rtt = sample.seconds if self.rtt is None else (3 * self.rtt + sample.seconds) / 4

    def on_sent(self, now: float, sent: BytesSent) -> None:
        self._sent.append((now, sent.total))
        while len(self._sent) > 2 and self._sent[1][0] <= now - self.settings.rate_window_s:
            self._sent.popleft()

    def on_loss(self, now: float, reports: Iterable[LossReport]) -> None:
        """The report blocks of one receiver report (one RTCP compound): their loss,
        weighted by the packets each expected, drives the loss-based estimate."""
        reports = [r for r in reports if math.isfinite(r.fraction_lost)]
        if not reports:
            return
        weight = sum(max(0, r.expected) for r in reports)
        if weight:
            loss = sum(min(1.0, max(0.0, r.fraction_lost)) * max(0, r.expected) for r in reports) / weight
        else:
            loss = sum(min(1.0, max(0.0, r.fraction_lost)) for r in reports) / len(reports)
        self.loss = loss
        s = self.settings
        if loss < s.low_loss:
            due = self._last_increase is None or now - self._last_increase >= 1.0
            if due and self.sent_bps(now) >= s.used_share_to_grow * self.loss_based:
                # one step a second at most (a held period is not made up for)
                self.loss_based = self.loss_based * (1 + s.growth_per_s) + s.growth_floor_bps
                self._last_increase = now
        elif loss > s.high_loss:
            interval = s.decrease_interval_s + (self.rtt or 0.0)
            if self._last_decrease is None or now - self._last_decrease >= interval:
                self.loss_based *= 1 - loss / 2
                self._last_decrease = now
                self._last_increase = now  # growth restarts a second after a decrease
        self.loss_based = min(max(self.loss_based, s.min_bps), s.max_bps)

    # --- the estimate ---------------------------------------------------------------------
    def sent_bps(self, now: float) -> float:
        """What we sent over the last ``rate_window_s`` (0 without two samples)."""
        if len(self._sent) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self._sent[0], self._sent[-1]
        return max(0.0, (b1 - b0) * 8 / (t1 - t0)) if t1 > t0 else 0.0

    def fresh_remb(self, now: float) -> float | None:
        if self.remb is None or now - self.remb[0] > self.settings.remb_timeout_s:
            return None
        return self.remb[1]

    def probe(self, now: float, bps: float) -> None:
        """Let the loss-based estimate try ``bps`` (the next rung of a subscriber whose
        slots are paused, after a calm period): an idle link gives no evidence, so the
        allocation must use it to learn (LiveKit probes with media, mediasoup with
        padding). Loss above ``high_loss`` undoes it at the next report."""
        if math.isfinite(bps) and bps > self.loss_based:
            self.loss_based = min(bps, self.settings.max_bps)
            self._last_increase = now

    def lower_to(self, now: float, bps: float) -> None:
        """A decrease from another signal (the receiver's REMB below what we send it):
        the loss-based estimate comes down to ``bps`` and grows again from there."""
        if math.isfinite(bps) and bps < self.loss_based:
            self.loss_based = max(bps, self.settings.min_bps)
            self._last_decrease = now
            self._last_increase = now

    def estimate(self, now: float) -> float:
        s = self.settings
        value = self.loss_based
        remb = self.fresh_remb(now)
        if remb is not None:
            value = min(value, remb)
        return min(max(value, s.min_bps), s.max_bps)
