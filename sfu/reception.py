"""What a salle receives, judged by quality (R7, R17: a salle takes part when it sends
*and receives* the sitting's sound and image; R.5211-2 CGCT).

Two sources, both about the salle's downlink:

- the receiver reports of its kiosk about the voices we send it (RFC 3550 section
  6.4.1: the fraction of packets lost; audio is not retransmitted, so what is lost is
  lost);
- the kiosk's own figures, sent over signaling every few seconds (its ``getStats``):
  audio samples received and concealed (what the listener hears as Opus's loss
  concealment), frames decoded in the video slots it shows.

Pure: every call takes the caller's ``now``. :meth:`Reception.audio_usable` is None
until something is known (the Router then counts a salle it sends voices to as not
hearing them yet — a salle that cannot hear the sitting must never be counted as
transmitting, not even before its first report — and does not judge one it sends no
voice to), becomes usable at the first report below ``audio_good``, then switches
with hysteresis: not usable after the audio loss stayed above ``audio_bad`` for
``bad_for_s``, usable again after it stayed below ``audio_good`` for ``good_for_s``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReceptionSettings:
    #: above this share of voice lost (or concealed), speech is no longer followed: Opus's
    #: concealment hides isolated losses up to about a tenth, beyond a fifth whole
    #: syllables go (ITU-T G.1050 / P.1201 put random loss past 20 % at "poor")
    audio_bad: float = 0.20
    audio_good: float = 0.10  #: back below this (hysteresis)
    #: sustained: a link that drowns for a few seconds before its video is paused (the
    #: adaptation needs about 5 s to bring a small link down) is not a deaf salle
    bad_for_s: float = 10.0
    good_for_s: float = 3.0
    #: a figure older than this says nothing any more
    stale_s: float = 12.0
    #: below this many frames a second in the pictures it shows, the kiosk's pictures do
    #: not move (recorded in :meth:`Reception.video_fps`; not a cause of the audio
    #: fallback: a picture frozen at a salle with a good link is its publisher's uplink)
    video_min_fps: float = 1.0


@dataclass(frozen=True)
class KioskFigures:
    """One period of the kiosk's own reception figures."""

    seconds: float
    video_frames: int  #: frames decoded in the video slots it shows (with a source, not paused)
    video_slots: int  #: how many such slots
    audio_samples: int  #: audio samples received in its voice slots
    audio_concealed: int  #: of which concealed
    outgoing_bps: float | None = None  #: its browser's send-side estimate (availableOutgoingBitrate)

    @property
    def concealment(self) -> float | None:
        return None if self.audio_samples <= 0 else min(1.0, self.audio_concealed / self.audio_samples)

    @property
    def fps(self) -> float | None:
        if self.video_slots <= 0 or self.seconds <= 0:
            return None
        return self.video_frames / self.video_slots / self.seconds


class Reception:
    """One salle's reception, fed as reports arrive; judged at each tick."""

    def __init__(self, settings: ReceptionSettings | None = None) -> None:
        self.settings = settings or ReceptionSettings()
        self.rr_audio_loss: tuple[float, float] | None = None  # (at, worst fraction of the last report)
        self.kiosk: tuple[float, KioskFigures] | None = None
        self.usable: bool | None = None
        self._bad_since: float | None = None
        self._good_since: float | None = None

    def audio_report(self, now: float, fraction_lost: float) -> None:
        """A report block about one of the voices we send the salle (0..1)."""
        self.rr_audio_loss = (now, fraction_lost)

    def kiosk_report(self, now: float, figures: KioskFigures) -> None:
        self.kiosk = (now, figures)

    def audio_loss(self, now: float) -> float | None:
        """The worst of the fresh figures: receiver-report loss, kiosk concealment."""
        stale = self.settings.stale_s
        values = []
        if self.rr_audio_loss is not None and now - self.rr_audio_loss[0] <= stale:
            values.append(self.rr_audio_loss[1])
        if self.kiosk is not None and now - self.kiosk[0] <= stale and self.kiosk[1].concealment is not None:
            values.append(self.kiosk[1].concealment)
        return max(values) if values else None

    def video_fps(self, now: float) -> float | None:
        if self.kiosk is None or now - self.kiosk[0] > self.settings.stale_s:
            return None
        return self.kiosk[1].fps

    def outgoing_bps(self, now: float) -> float | None:
        if self.kiosk is None or now - self.kiosk[0] > self.settings.stale_s:
            return None
        return self.kiosk[1].outgoing_bps

    def audio_usable(self, now: float) -> bool | None:
        s = self.settings
        loss = self.audio_loss(now)
        if loss is None:
            return self.usable
        if loss > s.audio_bad:
            self._good_since = None
            self._bad_since = now if self._bad_since is None else self._bad_since
            if self.usable is not False and now - self._bad_since >= s.bad_for_s:
                self.usable = False
        elif loss < s.audio_good:
            self._bad_since = None
            self._good_since = now if self._good_since is None else self._good_since
            if self.usable is None or (self.usable is False and now - self._good_since >= s.good_for_s):
                self.usable = True
        else:
            self._bad_since = self._good_since = None
        return self.usable
