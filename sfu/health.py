"""Salle transmission health: both directions must flow (rules R7, R17).

Uplink: RTP packets arriving from the salle, and the time of the last one.
Downlink: packets delivered to the salle, acknowledged by its RTCP receiver reports
(RFC 3550 section 6.4.2: the extended highest sequence number received rises).

A salle is *transmitting* when it sent something within ``uplink_timeout``, no
packet sent to it has waited more than ``downlink_timeout`` for an acknowledging
receiver report, and the voices it receives are not judged unusable
(``audio_usable``, set by the Router from :mod:`sfu.reception`: a salle that cannot
hear the sitting does not take part in it) (nothing sent to it, e.g. when it is the only salle, is not a
failure). The timeouts are the grace period; going back to transmitting needs both
directions healthy for ``recover_after`` seconds (hysteresis), so one lost packet or
one late report never flips the state. The machine is pure: the caller passes
``now`` (a monotonic clock), so it is unit-tested without sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import HealthSettings


@dataclass(frozen=True)
class SalleHealth:
    """What :meth:`sfu.router.Router.health` returns for a salle.

    ``last_packet_at`` is a Unix time (seconds) or None if nothing ever arrived.
    """

    transmitting: bool
    packets_in: int
    packets_out_acked: int
    last_packet_at: float | None


class HealthMonitor:
    __slots__ = (
        "audio_usable",
        "connected",
        "healthy_since",
        "last_ack",
        "last_in",
        "oldest_unacked",
        "packets_in",
        "packets_out_acked",
        "settings",
        "transmitting",
    )

    def __init__(self, settings: HealthSettings | None = None) -> None:
        self.settings = settings or HealthSettings()
        self.packets_in = 0
        self.packets_out_acked = 0
        self.last_in: float | None = None
        self.oldest_unacked: float | None = None
        self.last_ack: float | None = None
        self.healthy_since: float | None = None
        self.transmitting = False
        self.connected = False
        self.audio_usable: bool | None = None  # None: not judged (nothing heard yet)

    # hot path ---------------------------------------------------------------
    def packet_in(self, now: float) -> None:
        self.packets_in += 1
        self.last_in = now

    def packet_out(self, now: float) -> None:
        """A packet was sent to the salle (forwarded packets are counted by the
        consumers; the hot path calls this only while ``oldest_unacked`` is None)."""
        if self.oldest_unacked is None:
            self.oldest_unacked = now

    # RTCP ---------------------------------------------------------------------
    def acknowledged(self, packets: int, now: float) -> None:
        """A receiver report showed ``packets`` more packets received by the salle."""
        if packets > 0:
            self.packets_out_acked += packets
            self.last_ack = now
            self.oldest_unacked = None

    # state ------------------------------------------------------------------
    def flowing(self, now: float) -> bool:
        s = self.settings
        if not self.connected:
            return False
        up = self.last_in is not None and now - self.last_in <= s.uplink_timeout
        down = self.oldest_unacked is None or now - self.oldest_unacked <= s.downlink_timeout
        return up and down and self.audio_usable is not False

    def evaluate(self, now: float) -> bool | None:
        """Advance the state machine; returns the new state when it changed."""
        if self.flowing(now):
            if self.healthy_since is None:
                self.healthy_since = now
            if not self.transmitting and now - self.healthy_since >= self.settings.recover_after:
                self.transmitting = True
                return True
        else:
            self.healthy_since = None
            if self.transmitting:
                self.transmitting = False
                return False
        return None

    def connect(self) -> None:
        """A new peer of the salle: start watching both directions afresh."""
        self.connected = True
        self.last_in = None
        self.oldest_unacked = None
        self.healthy_since = None
        self.audio_usable = None

    def lost(self) -> bool | None:
        """The salle's peer is gone (disconnected or replaced): lost at once."""
        self.connected = False
        self.oldest_unacked = None
        self.healthy_since = None
        if self.transmitting:
            self.transmitting = False
            return False
        return None

    def snapshot(self, mono_now: float, wall_now: float) -> SalleHealth:
        last = None if self.last_in is None else wall_now - (mono_now - self.last_in)
        return SalleHealth(self.transmitting, self.packets_in, self.packets_out_acked, last)
