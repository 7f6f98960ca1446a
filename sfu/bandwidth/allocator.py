"""Spending one subscriber's budget: audio first, then its video slots in order.

**The ladder.** The video slots are sorted by priority (0: the president's or pinned
salle, 1: the speaker, then the others; by slot name within a priority). The ladder is
the order in which layers are granted, as LiveKit's stream allocator and mediasoup's
``Transport::DistributeAvailableOutgoingBitrate`` grant them: first each slot's lowest
layer in priority order (so that as many slots as possible show a picture), then each
slot's next layer in priority order, and so on. An allocation is always a *prefix* of
the ladder. Growing it adds the next rung; shrinking it takes rungs off the end, i.e.
first the highest layers of the lowest priorities: every slot's layer is lowered before
any slot is paused, the other slots are paused before the speaker's, the speaker's
before the president's. Audio is never allocated here: it is forwarded whatever
happens, and the budget left to video is what remains after it.

**Decisions** (:meth:`Allocator.decide`, with the caller's clock):

- *down, at once*: when the current prefix costs more than the video budget, it shrinks
  to the longest prefix that fits (LiveKit commits a lower channel capacity as soon as
  congestion is detected; a late decrease costs every slot its picture);
- *up, one rung at a time, with hysteresis*: the next rung is granted when it fits with
  ``headroom`` to spare (15 %: a budget that merely wobbles around a rung's cost does
  not make it come and go), loss is low, and ``up_interval_s`` has passed since the
  last change (each switch costs a key frame from the publisher);
- *probing*: a rung that fits without the headroom is granted as a probe when loss has
  stayed low for ``probe_interval_s`` since the last change; a probe undone by a
  decrease within ``probe_window_s`` doubles that interval (up to ``max_probe_interval_s``),
  one that holds resets it. Probes never exceed the budget: the estimate itself grows
  while we use it (:mod:`sfu.bandwidth.estimator`), which is how a higher rung comes
  within reach.

Invariants (``tests/sfu/test_bandwidth.py``): after every decision, video
costs no more than the budget minus audio; a budget that only grows never lowers a
layer; under a steady budget the allocation changes a bounded number of times and then
stays; the same inputs give the same decisions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .types import Assignment, Layer, VideoSlot


@dataclass(frozen=True)
class AllocatorSettings:
    headroom: float = 0.15
    low_loss: float = 0.02
    up_interval_s: float = 2.0
    probe_interval_s: float = 5.0
    max_probe_interval_s: float = 40.0
    probe_window_s: float = 5.0
    #: going up, take every rung that fits with the headroom at once (not one per
    #: ``up_interval_s``): a subscriber that joins, or a slot that gets a source, shows
    #: every picture it can carry at once instead of one more every two seconds
    up_all_at_once: bool = False


@dataclass(frozen=True)
class Rung:
    slot: str
    layer: Layer


@dataclass(frozen=True)
class Allocation:
    """One decision: each video slot's layer (None: paused), and why."""

    slots: Mapping[str, Assignment]
    video_bps: float  #: what the video slots cost
    budget_bps: float  #: the subscriber's whole budget
    audio_bps: float
    change: str  #: "none", "down", "up", "probe", "reset" (the slots or their layers changed)
    #: slots that have a source but get no picture, in the order they were paused
    paused: tuple[str, ...] = field(default_factory=tuple)


def ladder(slots: Iterable[VideoSlot]) -> list[Rung]:
    """The order in which layers are granted (see the module's docstring)."""
    ordered = sorted((s for s in slots if s.layers()), key=lambda s: (s.priority, s.slot))
    rungs: list[Rung] = []
    level = 0
    while True:
        row = [Rung(s.slot, s.layers()[level]) for s in ordered if level < len(s.layers())]
        if not row:
            return rungs
        rungs += row
        level += 1


def assignments(rungs: list[Rung], slots: Iterable[VideoSlot], k: int) -> dict[str, Assignment]:
    """Each slot's layer in the prefix of ``k`` rungs (its last rung in it), or None."""
    out: dict[str, Assignment] = {s.slot: None for s in slots}
    for rung in rungs[:k]:
        out[rung.slot] = rung.layer
    return out


def prefix_costs(rungs: list[Rung]) -> list[float]:
    """``out[k]``: what the prefix of ``k`` rungs costs (each slot at its last rung's
    layer, the layers below it replaced, not added: a consumer forwards one layer)."""
    out = [0.0]
    layer_of: dict[str, float] = {}
    total = 0.0
    for rung in rungs:
        total += rung.layer.bps - layer_of.get(rung.slot, 0.0)
        layer_of[rung.slot] = rung.layer.bps
        out.append(total)
    return out


def longest_fitting(costs: list[float], budget: float) -> int:
    """The longest prefix whose cost is within ``budget``."""
    k = 0
    while k + 1 < len(costs) and costs[k + 1] <= budget:
        k += 1
    return k


class Allocator:
    """The allocation of one subscriber's video slots, decided again at each tick."""

    def __init__(self, settings: AllocatorSettings | None = None) -> None:
        self.settings = settings or AllocatorSettings()
        self.current: dict[str, Assignment] = {}
        self.last_change: float | None = None
        self.probe_interval = self.settings.probe_interval_s
        self._probe_at: float | None = None

    def _position(self, rungs: list[Rung]) -> int:
        """The longest prefix of ``rungs`` that the current allocation contains (its
        slots at or above the prefix's layers): where the ladder stands now."""
        k = 0
        while k < len(rungs):
            rung = rungs[k]
            have = self.current.get(rung.slot)
            if have is None or have < rung.layer:
                break
            k += 1
        return k

    def decide(
        self,
        now: float,
        budget_bps: float,
        audio_bps: float,
        slots: Iterable[VideoSlot],
        loss: float | None = None,
    ) -> Allocation:
        """The allocation for the budget now. ``audio_bps``: what the subscriber's audio
        slots receive (served first); ``loss``: the subscriber's last loss fraction."""
        s = self.settings
        slots = list(slots)
        rungs = ladder(slots)
        costs = prefix_costs(rungs)
        video_budget = max(0.0, budget_bps - audio_bps)
        calm = loss is None or loss < s.low_loss
        since = None if self.last_change is None else now - self.last_change
        k = self._position(rungs)
        before = dict(self.current)
        change = "none"

        if self._probe_at is not None and now - self._probe_at >= s.probe_window_s:
            self._probe_at = None  # the probe held
            self.probe_interval = s.probe_interval_s
        if costs[k] > video_budget:
            k = longest_fitting(costs, video_budget)
            change = "down"
            if self._probe_at is not None:  # the probe did not hold
                self._probe_at = None
                self.probe_interval = min(2 * self.probe_interval, s.max_probe_interval_s)
        elif k < len(rungs) and calm:
            fits = costs[k + 1] <= video_budget
            if fits and costs[k + 1] * (1 + s.headroom) <= video_budget:
                if since is None or since >= s.up_interval_s:
                    top = longest_fitting(costs, video_budget / (1 + s.headroom)) if s.up_all_at_once else k + 1
                    k, change = max(k + 1, top), "up"
            elif fits and (since is None or since >= self.probe_interval):
                k, change = k + 1, "probe"
                self._probe_at = now

        new = assignments(rungs, slots, k)
        before = {name: before.get(name) for name in new}  # a slot new to us was paused
        if change == "none" and new != before:
            change = "reset"  # the slots, their sources or layers changed under us
        if new != before:
            self.last_change = now
        self.current = new
        return Allocation(
            slots=new,
            video_bps=costs[k],
            budget_bps=budget_bps,
            audio_bps=audio_bps,
            change=change,
            # the first rungs of the ladder are the slots' lowest layers, in priority order
            paused=tuple(r.slot for r in reversed(rungs[: _with_layers(slots)]) if new[r.slot] is None),
        )


def _with_layers(slots: list[VideoSlot]) -> int:
    return sum(1 for s in slots if s.layers())
