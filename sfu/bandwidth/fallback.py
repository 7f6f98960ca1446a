"""A salle's automatic audio-only fallback (R3: « par la vidéo, ou à défaut par l'audio »,
R.5211-2 CGCT) as a pure state machine, with the figures that caused each switch.

The salle goes audio-only when its link cannot carry its lowest video layer, up or
down, for a sustained period (``enter_after_s``): downlink — its estimate
(:mod:`sfu.bandwidth.estimator`) is below the audio it receives plus the cheapest
picture it would be sent; uplink — what its uplink carries is below its own audio
plus its camera's lowest layer. Either direction losing more than ``bad_loss`` counts
as not carrying it either.

Coming back needs evidence, and an audio-only link gives none by itself: both the
receiver's REMB and the loss-based estimate only grow while the link is used near
them, and an audio-only salle uses ~100 kbit/s. So, as LiveKit and mediasoup probe
before they raise a layer, the machine tries: after ``retry_after_s`` audio-only with
low loss it enters a **trial**, in which the salle sends and receives its lowest layer
again (:attr:`FallbackMachine.probe_bps` is the budget floor the allocator is given
for it, and :attr:`FallbackMachine.send_video` turns the camera's lowest encoding
back on). A trial lasts ``confirm_s``; if its loss stays at most ``bad_loss``, video is
back (the caller then takes the need as the downlink's proven estimate); loss above
``bad_loss`` at any time ends it at once, the salle returns to audio-only and the wait
before the next trial doubles, up to ``max_retry_after_s``. The estimates are not judged
during a trial: they grow about 8 % a second while it uses them, too slowly to reach the
need within it. An estimate that
climbs well above the need by itself (``recover_margin`` for ``leave_after_s``) brings
video back without a trial.

The salle stays audio-only for the journal during a trial (:attr:`audio_only`); a
:class:`Switch` is produced only when that changes, with the figures of the period
that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class State(Enum):
    VIDEO = "video"
    AUDIO_ONLY = "audio_only"
    TRIAL = "trial"


@dataclass(frozen=True)
class FallbackSettings:
    enter_after_s: float = 4.0
    bad_loss: float = 0.10
    low_loss: float = 0.02
    retry_after_s: float = 10.0
    max_retry_after_s: float = 20.0
    calm_s: float = 5.0  #: low loss for this long before a trial
    #: a trial lasts this long without loss above ``bad_loss`` to bring video back
    confirm_s: float = 5.0
    recover_margin: float = 1.5
    leave_after_s: float = 10.0


@dataclass(frozen=True)
class LinkSample:
    """One look at a salle's link. ``down_bps``: its downlink estimate; ``down_need_bps``:
    the audio it receives plus the cheapest picture it would be sent; ``up_bps``: what
    its uplink carries (its browser's own send-side estimate reported over signaling,
    or the server's measure); ``up_need_bps``: its audio plus its camera's lowest layer.
    None: unknown (that direction is then not judged)."""

    down_bps: float | None
    down_need_bps: float
    up_bps: float | None
    up_need_bps: float
    down_loss: float | None = None
    up_loss: float | None = None

    def short(self, bad_loss: float) -> tuple[str, ...]:
        """The directions that cannot carry their need now (or lose more than ``bad_loss``)."""
        out = []
        for name, have, need, loss in (
            ("down", self.down_bps, self.down_need_bps, self.down_loss),
            ("up", self.up_bps, self.up_need_bps, self.up_loss),
        ):
            if (have is not None and have < need) or (loss is not None and loss > bad_loss):
                out.append(name)
        return tuple(out)


@dataclass(frozen=True)
class Switch:
    """A change of the salle's R3 state, for the journal: when, which way, why."""

    at: float
    audio_only: bool
    reason: str  #: "down", "up", "down+up" (could not carry), "trial" or "recovered" (back)
    figures: dict = field(hash=False, compare=False)


def _figures(samples: list[tuple[float, LinkSample]], now: float) -> dict:
    """The period's figures, kbit/s and %: the worst estimate against the need, the
    worst loss, and how long it lasted."""

    def worst(values, pick):
        vals = [v for v in values if v is not None]
        return None if not vals else round(pick(vals) / 1000, 1)

    def pct(values):
        vals = [v for v in values if v is not None]
        return None if not vals else round(100 * max(vals), 1)

    s = [x for _, x in samples]
    return {
        "seconds": round(now - samples[0][0], 1) if samples else 0.0,
        "down_kbps": worst((x.down_bps for x in s), min),
        "down_need_kbps": worst((x.down_need_bps for x in s), max),
        "up_kbps": worst((x.up_bps for x in s), min),
        "up_need_kbps": worst((x.up_need_bps for x in s), max),
        "down_loss_pct": pct(x.down_loss for x in s),
        "up_loss_pct": pct(x.up_loss for x in s),
    }


class FallbackMachine:
    """``observe(now, sample) -> Switch | None``, once per tick for one salle."""

    def __init__(self, settings: FallbackSettings | None = None) -> None:
        self.settings = settings or FallbackSettings()
        self.state = State.VIDEO
        self.since: float | None = None  #: when the current state began
        self.retry_after = self.settings.retry_after_s
        self._period: list[tuple[float, LinkSample]] = []  # samples of the condition being timed
        self._calm_since: float | None = None
        self.last_need: float = 0.0

    @property
    def audio_only(self) -> bool:
        """The salle's R3 state (journaled): still audio-only during a trial."""
        return self.state is not State.VIDEO

    @property
    def send_video(self) -> bool:
        """The salle's camera (its lowest encoding at least) is on."""
        return self.state is not State.AUDIO_ONLY

    @property
    def probe_bps(self) -> float:
        """During a trial, the budget floor for the salle's downlink (its need)."""
        return self.last_need if self.state is State.TRIAL else 0.0

    def observe(self, now: float, sample: LinkSample) -> Switch | None:
        s = self.settings
        if self.since is None:
            self.since = now
        self.last_need = sample.down_need_bps
        short = sample.short(s.bad_loss)
        if self.state is State.VIDEO:
            if not short:
                self._period = []
                return None
            self._period.append((now, sample))
            if now - self._period[0][0] >= s.enter_after_s:
                return self._to_audio_only(now, "+".join(short))
            return None

        loss = max((x for x in (sample.down_loss, sample.up_loss) if x is not None), default=0.0)
        if self.state is State.TRIAL:
            self._period.append((now, sample))
            ended = now - self.since >= s.confirm_s
            # judged by its loss alone: the trial gives the salle its need, and a link that
            # carries it without loss for ``confirm_s`` carries it. The estimates cannot show
            # it that fast (lab, crawl-120 restored: the loss-based estimate rose from 198 to
            # 209 kbit/s in the 5 s of a lossless trial needing 224, failed it, and video
            # stayed off the 30 s after the restore)
            if loss > s.bad_loss:
                self.retry_after = min(2 * self.retry_after, s.max_retry_after_s)
                self._set(State.AUDIO_ONLY, now)
                return None  # still audio-only for the journal: nothing to record
            if ended:
                figures = _figures(self._period, now)
                self.retry_after = s.retry_after_s
                self._set(State.VIDEO, now)
                return Switch(now, False, "trial", figures)
            return None

        # audio-only: recovered by itself, or time for a trial
        if loss < s.low_loss:
            self._calm_since = now if self._calm_since is None else self._calm_since
        else:
            self._calm_since = None
        strong = (
            sample.down_bps is not None
            and sample.down_bps >= s.recover_margin * sample.down_need_bps
            and (sample.up_bps is None or sample.up_bps >= s.recover_margin * sample.up_need_bps)
            and loss < s.low_loss
        )
        if strong:
            self._period.append((now, sample))
            if now - self._period[0][0] >= s.leave_after_s:
                figures = _figures(self._period, now)
                self._set(State.VIDEO, now)
                return Switch(now, False, "recovered", figures)
        else:
            self._period = []
        calm = self._calm_since is not None and now - self._calm_since >= s.calm_s
        # no trial while the estimate is already proving the link (it confirms on its own)
        if calm and not strong and now - self.since >= self.retry_after:
            self._set(State.TRIAL, now)
        return None

    def _to_audio_only(self, now: float, reason: str) -> Switch:
        figures = _figures(self._period, now)
        self.retry_after = self.settings.retry_after_s
        self._set(State.AUDIO_ONLY, now)
        return Switch(now, True, reason, figures)

    def _set(self, state: State, now: float) -> None:
        self.state = state
        self.since = now
        self._period = []
        self._calm_since = None
