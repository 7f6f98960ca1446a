"""A simulcast publisher's uplink: shed the larger encodings before the salle loses its
picture (issue 11: « lower a slot's layer, then pause it, before audio suffers », applied
to the way up).

A kiosk sends its three encodings whatever its uplink: Chromium shares its send-side
estimate among them, and on a 300 kbit/s ADSL uplink the three together overflow the
bottleneck, so every encoding loses packets — the smallest too (8 to 15 % each in the
lab at 600/300 kbit/s). That loss is what the R3 fallback judges the uplink on, and the
salle went audio-only for half the minute, its picture and the pictures it received
frozen meanwhile. LiveKit's and mediasoup's answer to a congested publisher is the same
as on the way down: fewer layers, not no video. So here:

- while the encodings still on lose more than ``shed_loss`` (the worst of them) for
  ``shed_after_s``, the largest one still allowed is switched off at the source (the
  ``layers`` message, as dynacast does), one at a time;
- a loss above ``severe_loss`` for ``severe_after_s`` sheds every larger encoding at once:
  a link losing that much will not carry them, and the R3 fallback, which judges the
  uplink only once the smallest is alone, must have its turn soon enough to switch a
  120 kbit/s salle to audio-only within the 10 s the issue asks (the lab's crawl-120 took
  14 s when the encodings were shed one by one; judging a severe loss at once instead sent
  the 600/300 salle audio-only in the seconds Chromium takes to follow);
- with ``top`` back at the smallest encoding for ``settle_s`` (the browser's encoders
  stopped, the bottleneck's queue drained), its loss is again the R3 fallback's to judge
  (:meth:`UplinkFit.judged_loss`): only a link that cannot carry the smallest picture goes
  audio-only;
- an uplink's estimate does not grow while it is not used, so the way back is a
  **trial**, as the fallback's: after ``calm_s`` of loss under ``calm_loss`` the next
  encoding is allowed again for ``trial_s``; loss above ``shed_loss`` during the trial
  sheds it at once and doubles the wait before the next trial (up to ``max_calm_s``),
  so a link that cannot carry it is not flooded every few seconds.

Random loss is not congestion: a link losing 2 % at random (the lab's loss-2pct) stays
under ``shed_loss`` and keeps its layers. Pure: the caller passes ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UplinkFitSettings:
    shed_loss: float = 0.06
    severe_loss: float = 0.3
    severe_after_s: float = 1.0
    settle_s: float = 2.0
    shed_after_s: float = 2.0
    calm_loss: float = 0.03
    calm_s: float = 10.0
    max_calm_s: float = 80.0
    trial_s: float = 4.0


class UplinkFit:
    """``observe(now, loss, encodings) -> top``: the largest encoding (0: the smallest)
    the publisher may send, once per tick for one simulcast publisher."""

    def __init__(self, encodings: int, settings: UplinkFitSettings | None = None) -> None:
        self.settings = settings or UplinkFitSettings()
        self.encodings = encodings
        self.top = encodings - 1
        self.calm_s = self.settings.calm_s
        self.trial_since: float | None = None  #: the trial of ``top`` began then
        self._lossy_since: float | None = None
        self._calm_since: float | None = None
        self._shed_at: float | None = None  #: when the last encoding was shed

    @property
    def carries_lowest_alone(self) -> bool:
        """The publisher sends its smallest encoding only: its loss is the link's (R3)."""
        return self.top == 0

    def judged_loss(self, now: float, smallest_loss: float | None) -> float | None:
        """The uplink loss the R3 fallback should judge, given the smallest encoding's:
        all of it once the smallest has been sent alone for ``settle_s``, else none yet
        (the larger encodings are being shed first)."""
        settled = self._shed_at is None or now - self._shed_at >= self.settings.settle_s
        return smallest_loss if self.carries_lowest_alone and settled else None

    def observe(self, now: float, loss: float | None) -> int:
        """``loss``: the worst loss fraction of the encodings on (None: no report yet)."""
        s = self.settings
        if loss is None:
            return self.top
        if self.trial_since is not None:
            if loss > s.shed_loss:  # the trial failed: back down at once, wait longer
                self.calm_s = min(2 * self.calm_s, s.max_calm_s)
                self._down(now)
                return self.top
            if now - self.trial_since >= s.trial_s:
                self.trial_since = None
                self.calm_s = s.calm_s
                self._calm_since = now
        if loss > s.shed_loss:
            self._calm_since = None
            self._lossy_since = now if self._lossy_since is None else self._lossy_since
            severe = loss > s.severe_loss
            if self.top > 0 and now - self._lossy_since >= (s.severe_after_s if severe else s.shed_after_s):
                if severe:
                    self.top = 1  # _down takes it to the smallest
                self._down(now)
            return self.top
        self._lossy_since = None
        if loss >= s.calm_loss:
            self._calm_since = None
            return self.top
        self._calm_since = now if self._calm_since is None else self._calm_since
        if self.top < self.encodings - 1 and self.trial_since is None and now - self._calm_since >= self.calm_s:
            self.top += 1
            self.trial_since = now
        return self.top

    def _down(self, now: float) -> None:
        self.top = max(0, self.top - 1)
        self._shed_at = now
        self.trial_since = None
        self._lossy_since = now  # the next encoding is shed only if the loss goes on
        self._calm_since = None
