"""Active-speaker detection from the RFC 6464 audio level header extension.

Each audio packet of a salle carries its level in -dBov (0 loudest, 127 silence,
RFC 6464 section 3). The detector turns it into a loudness ``127 - level``, smooths it
per salle with an exponential moving average (time constant ``smoothing``), treats a
salle whose packets stopped (muted, disconnected, DTX) as silent after
``stale_after``, and changes the active speaker only when a challenger has been
louder than the current speaker by ``switch_margin`` for ``hold`` seconds: the image
does not flicker on a cough. Loudness below ``silence_threshold`` never takes the
floor; when everyone is silent the last speaker stays on screen.

Pure and clock-injected: every method takes ``now``; unit-tested with synthetic
level sequences.
"""

from __future__ import annotations

import math

from .config import SpeakerSettings


class SpeakerDetector:
    def __init__(self, settings: SpeakerSettings | None = None) -> None:
        self.settings = settings or SpeakerSettings()
        self._loudness: dict[str, float] = {}
        self._last_at: dict[str, float] = {}
        self._last_active: dict[str, float] = {}
        self.active: str | None = None
        self._challenger: str | None = None
        self._challenger_since = 0.0

    def observe(self, salle_id: str, level: int, now: float) -> None:
        """Feed one audio level (RFC 6464 -dBov, 0..127) of a salle."""
        x = 127.0 - min(127, max(0, level))
        prev = self._loudness.get(salle_id)
        last = self._last_at.get(salle_id)
        if prev is None or last is None or now - last > self.settings.stale_after:
            prev = 0.0
            dt = 0.02
        else:
            dt = max(0.0, now - last)
        alpha = 1.0 - math.exp(-dt / self.settings.smoothing) if dt else 0.0
        self._loudness[salle_id] = prev + alpha * (x - prev)
        self._last_at[salle_id] = now

    def forget(self, salle_id: str) -> None:
        """The salle left: it can be neither active nor ranked."""
        self._loudness.pop(salle_id, None)
        self._last_at.pop(salle_id, None)
        if self.active == salle_id:
            self.active = None
        if self._challenger == salle_id:
            self._challenger = None

    def loudness(self, salle_id: str, now: float) -> float:
        last = self._last_at.get(salle_id)
        if last is None or now - last > self.settings.stale_after:
            return 0.0
        return self._loudness.get(salle_id, 0.0)

    def ranking(self, now: float, candidates: list[str] | None = None) -> list[str]:
        """Salle ids, loudest first (ties: most recently active, then id)."""
        ids = candidates if candidates is not None else list(self._loudness)
        return sorted(
            ids,
            key=lambda s: (-round(self.loudness(s, now), 1), -self._last_active.get(s, -1.0), s),
        )

    def recency(self, candidates: list[str]) -> list[str]:
        """Salle ids, most recently active speaker first (then id): a stable order."""
        return sorted(candidates, key=lambda s: (-self._last_active.get(s, -1.0), s))

    def update(self, now: float, eligible: set[str] | None = None) -> str | None:
        """Re-evaluate the active speaker; returns it (possibly unchanged)."""
        s = self.settings
        ids = [i for i in self._loudness if eligible is None or i in eligible]
        if self.active is not None and eligible is not None and self.active not in eligible:
            self.active = None
        if self.active is not None:
            self._last_active[self.active] = now
        if not ids:
            self._challenger = None
            return self.active
        best = max(ids, key=lambda i: (self.loudness(i, now), i == self.active))
        best_level = self.loudness(best, now)
        if best == self.active or best_level < s.silence_threshold:
            self._challenger = None
            return self.active
        current_level = self.loudness(self.active, now) if self.active else 0.0
        if best_level < current_level + s.switch_margin:
            self._challenger = None
            return self.active
        if self._challenger != best:
            self._challenger = best
            self._challenger_since = now
        if now - self._challenger_since >= s.hold:
            self.active = best
            self._last_active[best] = now
            self._challenger = None
        return self.active
