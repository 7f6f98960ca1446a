"""Forwarding policy: which source feeds which receive slot of each subscriber.

Every salle kiosk receives a fixed set of slots, negotiated once (no SDP
renegotiation when the speaker changes):

- ``video-0``: the pinned salle, or else the president's salle;
- ``video-1`` (and more if configured): the salle of whoever has the floor, then the
  active speaker's salle;
- ``audio-0`` .. ``audio-{N-1}``: the N loudest voices.

A subscriber never receives its own salle. When the designated source is its own
salle, audio-only, or absent, the slot falls back to the next best salle (the most
recently active speakers first, then by id), so that with three salles each kiosk
sees the two others. Slots other than the strictly designated ``video-0`` are
*sticky*: a source keeps its slot while it is still wanted, so two tiles do not swap
when the speaker changes between two salles already shown.

A public viewer receives ``programme`` (the pinned salle, else the salle of whoever
has the floor, else the active speaker, else the president's salle) and the N loudest
voices: giving the floor puts the speaker's salle on the public picture unless the
president pinned one.

A monitor (the president's and the moderator's mosaic) receives ``MONITOR_SLOTS`` video
slots and no audio (they sit in a salle and hear it): every salle with a picture, sticky,
the pinned or president's salle, the speaker and the recent speakers first when there
are more salles than slots. It is not public: R2, R19 and R20 do not empty it.

The browser is the offerer and must add its transceivers in :func:`layout` order.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

PROGRAMME = "programme"
SEND_AUDIO = "audio-out"
SEND_VIDEO = "video-out"
#: video slots of a monitor peer (the mosaic's tiles that can show a picture at once)
MONITOR_SLOTS = 12


def video_slot(i: int) -> str:
    return f"video-{i}"


def audio_slot(i: int) -> str:
    return f"audio-{i}"


def layout(kind: str, video_slots: int = 2, audio_slots: int = 3) -> list[dict]:
    """Transceivers the browser adds, in this order, before creating its offer.

    Each entry: ``{"kind": "audio"|"video", "direction": "sendonly"|"recvonly",
    "slot": <slot name>}``. The answer's ``msid`` stream id of each receive slot is
    the slot name, so the browser finds the slot of a track from
    ``event.streams[0].id`` (or from the transceiver's position).
    """
    if kind == "salle":
        entries = [
            {"kind": "audio", "direction": "sendonly", "slot": SEND_AUDIO},
            {"kind": "video", "direction": "sendonly", "slot": SEND_VIDEO},
        ]
        entries += [{"kind": "video", "direction": "recvonly", "slot": video_slot(i)} for i in range(video_slots)]
    elif kind == "viewer":
        entries = [{"kind": "video", "direction": "recvonly", "slot": PROGRAMME}]
    elif kind == "monitor":
        return [{"kind": "video", "direction": "recvonly", "slot": video_slot(i)} for i in range(MONITOR_SLOTS)]
    else:
        raise ValueError(f"unknown peer kind {kind!r}")
    entries += [{"kind": "audio", "direction": "recvonly", "slot": audio_slot(i)} for i in range(audio_slots)]
    return entries


@dataclass
class PolicyInput:
    """A snapshot of the sitting the policy decides from."""

    video_sources: set[str] = field(default_factory=set)  # may be forwarded as video
    audio_sources: set[str] = field(default_factory=set)  # audible (not muted)
    president: str | None = None
    pinned: str | None = None
    speaker: str | None = None
    #: the salle of the councillor who has the floor (given by the chair), if any
    floor: str | None = None
    recency: list[str] = field(default_factory=list)  # most recent speakers first
    loudest: list[str] = field(default_factory=list)  # loudest first
    #: R19: a sensitive passage — public viewers get silence and no image
    public_silenced: bool = False
    #: R20: salles whose camera must not reach the public stream (objection to broadcast)
    no_broadcast: frozenset[str] = frozenset()
    #: the ordered candidate lists, the same for every subscriber (built once per
    #: snapshot by :meth:`candidates`, so a tick is linear in the salles, not quadratic)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def candidates(self) -> tuple[list[str], list[str]]:
        """(video preference order, voice order) before excluding the subscriber itself."""
        # a snapshot: fields are replaced, not mutated in place (the Router builds a new
        # PolicyInput per decision); the key notices a replaced field
        key = (
            self.pinned,
            self.president,
            self.speaker,
            self.floor,
            id(self.recency),
            len(self.recency),
            id(self.loudest),
            len(self.loudest),
            id(self.video_sources),
            len(self.video_sources),
            id(self.audio_sources),
            len(self.audio_sources),
        )
        got = self._cache.get(key)
        if got is None:
            self._cache.clear()
            designated = self.pinned or self.president
            video = [
                s
                for s in _dedupe([designated, self.floor, self.speaker, *self.recency, *sorted(self.video_sources)])
                if s in self.video_sources
            ]
            voices = [s for s in _dedupe([*self.loudest, *sorted(self.audio_sources)]) if s in self.audio_sources]
            got = self._cache[key] = (video, voices)
        return got


def _first(items: list[str], n: int, me: str) -> list[str]:
    """The first ``n`` items that are not ``me``."""
    out = []
    for s in items:
        if s != me:
            out.append(s)
            if len(out) == n:
                break
    return out


def _sticky(slots: list[str], wanted: list[str], previous: dict[str, str | None]) -> dict[str, str | None]:
    wanted = wanted[: len(slots)]
    out: dict[str, str | None] = {}
    placed = set()
    for slot in slots:
        prev = previous.get(slot)
        if prev in wanted and prev not in placed:
            out[slot] = prev
            placed.add(prev)
    rest = [w for w in wanted if w not in placed]
    for slot in slots:
        if slot not in out:
            out[slot] = rest.pop(0) if rest else None
    return {slot: out[slot] for slot in slots}


def _dedupe(items: list[str | None]) -> list[str]:
    """The items in order, without None and repeats (linear: a dict keeps the order;
    a list's ``in`` made it quadratic, and every tick calls it for every peer)."""
    out = dict.fromkeys(items)
    out.pop(None, None)
    return list(out)


def assign_salle(
    me: str,
    inp: PolicyInput,
    previous: dict[str, str | None],
    video_slots: int = 2,
    audio_slots: int = 3,
    receives_video: bool = True,
) -> dict[str, str | None]:
    """Slot -> salle id (or None) for the kiosk of salle ``me``."""
    vslots = [video_slot(i) for i in range(video_slots)]
    out: dict[str, str | None] = {}
    video_order, voice_order = inp.candidates()
    if receives_video and vslots:
        designated = inp.pinned or inp.president
        # what _sticky can use: the slots' count of candidates, plus the ones shown now
        # (a source keeps its slot while it is still among the wanted)
        valid = _first(video_order, video_slots + 1, me)
        if designated in valid:
            out[vslots[0]] = designated
            out.update(_sticky(vslots[1:], [v for v in valid if v != designated], previous))
        else:
            out.update(_sticky(vslots, valid, previous))
    else:
        out.update(dict.fromkeys(vslots))
    aslots = [audio_slot(i) for i in range(audio_slots)]
    out.update(_sticky(aslots, _first(voice_order, audio_slots, me), previous))
    return out


def programme_source(inp: PolicyInput) -> str | None:
    """The public picture: the pinned salle, else the floor's, else the active speaker's,
    else the president's, else the most recent speakers'."""
    for candidate in _dedupe(
        [inp.pinned, inp.floor, inp.speaker, inp.president, *inp.recency, *sorted(inp.video_sources)]
    ):
        if candidate in inp.video_sources:
            return candidate
    return None


def assign_viewer(inp: PolicyInput, previous: dict[str, str | None], audio_slots: int = 3) -> dict[str, str | None]:
    """Slot -> salle id (or None) for a public viewer.

    During a sensitive passage (R19) every slot is empty: the public stream carries
    silence and no image. A salle under objection to broadcast (R20) never feeds the
    programme picture; its voice still does (the objection is to the image)."""
    aslots = [audio_slot(i) for i in range(audio_slots)]
    if inp.public_silenced:
        return {PROGRAMME: None, **dict.fromkeys(aslots)}
    if inp.no_broadcast:
        inp = replace(inp, video_sources=inp.video_sources - inp.no_broadcast)
    out: dict[str, str | None] = {PROGRAMME: programme_source(inp)}
    voices = [s for s in _dedupe([*inp.loudest, *sorted(inp.audio_sources)]) if s in inp.audio_sources]
    out.update(_sticky(aslots, voices, previous))
    return out


def assign_monitor(inp: PolicyInput, previous: dict[str, str | None]) -> dict[str, str | None]:
    """Slot -> salle id (or None) for a monitor: each salle with a picture in a slot of its
    own, kept there while it has one (a mosaic's tile does not change its picture)."""
    video_order, _ = inp.candidates()
    return _sticky([video_slot(i) for i in range(MONITOR_SLOTS)], video_order, previous)
