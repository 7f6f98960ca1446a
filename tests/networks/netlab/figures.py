"""From what the lab saw to figures: the typed report of a scenario.

Pure functions of the samples (no browser, no clock), unit-tested in
``tests/networks/test_figures.py``. A *sample* is one ``getStats()`` snapshot of a page
taken by :file:`sampler.js` every 200 ms: ``{"t": epoch ms, "pc": id of the peer
connection, "state", "in": [inbound-rtp], "out": [outbound-rtp], "rin":
[remote-inbound-rtp], "pair": selected candidate pair, "local": its local candidate,
"slots": {slot: salle}, "page": {...}}``. Counters restart with each peer connection,
so every delta is taken per (peer connection, track) and summed.

What each figure means (and why it is measured that way):

- **fps** of a receive slot: frames decoded in the window / the window's length;
- **frozen_s**: the time the slot showed no new frame for longer than
  :data:`FREEZE_GAP_S`, from the samples (a slot that decodes nothing is frozen the whole
  window), unless the page showed it as paused (``paused_s``: its tile marked
  ``paused``, the notice "image suspendue" instead of a frozen picture). Chromium's own
  ``totalFreezesDuration`` is reported beside it
  (``chromium_freeze_s``), but it only counts gaps *between* decoded frames: a slot that
  never decodes shows 0 there;
- **loss_pct**: ``packetsLost / (packetsLost + packetsReceived)`` over the window, as
  the receiver counts them (after retransmissions);
- **concealed_pct** of an audio slot: samples the receiver had to invent (packet loss
  concealment) over the samples it played (``concealedSamples / totalSamplesReceived``);
- **key frames** of a publisher: ``keyFramesEncoded`` — its camera's key frames, most
  of them asked for by PLIs (``plis_received``);
- the **layer** received: the decoded picture's size (most frequent in the window).
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

#: a receive slot that shows no new frame for longer than this is frozen (at 200 ms
#: sampling, two samples without a frame; Chromium's own threshold, max(3 x the mean
#: frame interval, mean + 150 ms), is 190 ms at 25 fps)
FREEZE_GAP_S = 0.5


# --------------------------------------------------------------------------- report types


@dataclass(frozen=True)
class VideoSlot:
    slot: str
    sources: tuple[str, ...]  #: the salles the server put in this slot during the window
    frames: int
    fps: float
    frozen_s: float
    chromium_freeze_s: float
    chromium_freezes: int
    width: int | None
    height: int | None
    loss_pct: float
    kbps: float
    nacks_sent: int
    plis_sent: int
    key_frames: int
    #: time the page showed the slot as paused (its tile marked so): not a freeze
    paused_s: float = 0.0


@dataclass(frozen=True)
class AudioSlot:
    slot: str
    sources: tuple[str, ...]
    packets: int
    loss_pct: float
    concealed_pct: float
    kbps: float
    fec_packets: int


@dataclass(frozen=True)
class Publisher:
    kind: str
    rid: str | None
    frames: int
    fps: float
    width: int | None
    height: int | None
    key_frames: int
    key_frames_per_min: float
    plis_received: int
    nacks_received: int
    kbps: float
    retransmitted_kbps: float
    target_kbps: float | None
    quality_limitation: str | None
    #: loss the server reported for this stream in its receiver reports (mean fraction, %)
    reported_loss_pct: float | None


@dataclass(frozen=True)
class IcePath:
    """The selected ICE candidate pair."""

    connected_pct: float  #: share of the samples with the peer connection "connected"
    rtt_ms: float | None
    available_out_kbps: float | None  #: Chromium's own send-side estimate
    candidate_type: str | None  #: host, srflx, prflx, relay
    protocol: str | None  #: udp, tcp
    relay_protocol: str | None  #: udp, tcp, tls (relay only)


@dataclass(frozen=True)
class LinkFigures:
    """The salle's access link, from the kernel's counters (bytes on the wire, after the
    bottleneck) — not from the browser."""

    down_kbps: float
    up_kbps: float
    down_dropped_pct: float  #: packets the downlink's bottleneck dropped
    up_dropped_pct: float


@dataclass(frozen=True)
class KioskFigures:
    name: str
    role: str  #: salle, viewer
    seconds: float
    samples: int
    path: IcePath
    video: tuple[VideoSlot, ...]
    audio: tuple[AudioSlot, ...]
    publishers: tuple[Publisher, ...]
    link: LinkFigures | None = None

    def slot(self, name: str) -> VideoSlot | AudioSlot:
        return next(s for s in (*self.video, *self.audio) if s.slot == name)

    def camera(self) -> Publisher | None:
        return next((p for p in self.publishers if p.kind == "video"), None)


@dataclass(frozen=True)
class ServerFigures:
    """Deltas of the server's /metrics over the window."""

    seconds: float
    cpu_pct: float | None
    packets_in: dict[str, float]
    packets_out: dict[str, float]
    kbps_out: dict[str, float]
    dropped: dict[str, float]
    nacks_received: float
    retransmissions: float
    retransmissions_per_s: float
    plis_received: float
    keyframe_requests_sent: float
    transmitting: dict[str, bool]  #: at the end of the window


@dataclass(frozen=True)
class SittingFigures:
    """What the sitting's view said during the window (public socket)."""

    status: str | None  #: at the end
    statuses: tuple[str, ...]  #: every status seen, in order
    transmitting: dict[str, bool]  #: at the end
    audio_only: dict[str, bool]
    not_transmitting_s: dict[str, float]  #: per salle, time the view showed it not transmitting
    changes: tuple[dict, ...]  #: (t from the window's start, salle, field, value)


@dataclass(frozen=True)
class MachineFigures:
    """How busy the machine was: the figures above depend on it (2 shared cores)."""

    busy_pct: float  #: of all cores, from /proc/stat (100: every core busy)
    load_1m: float  #: at the end of the window
    browsers_cpu_pct: dict[str, float]  #: per page, its browser's processes (100: one core)


@dataclass(frozen=True)
class PhaseReport:
    name: str
    seconds: float
    links: dict[str, str]
    kiosks: dict[str, KioskFigures]
    server: ServerFigures | None
    sitting: SittingFigures | None
    machine: MachineFigures | None = None
    #: the commands journaled during the window (with a few seconds' settling, the
    #: transmission and R3 switches the server recorded)
    journal: tuple[dict, ...] = ()
    #: with ``open_at_end``: the reply to OpenSitting at the end of the phase
    opening: dict | None = None


@dataclass(frozen=True)
class Report:
    scenario: str
    description: str
    date: str
    machine: dict
    opening: dict | None  #: the reply to OpenSitting: {"accepted": bool, "code", "message"}
    phases: tuple[PhaseReport, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: with a TURN server: its sessions as it logged them (netlab.coturn.Session)
    turn: tuple = ()

    def phase(self, name: str) -> PhaseReport:
        return next(p for p in self.phases if p.name == name)

    def to_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------- computations


def in_window(samples: Iterable[dict], t0: float, t1: float) -> list[dict]:
    """Samples with ``t0 <= t <= t1`` (epoch ms), in time order."""
    return sorted((s for s in samples if t0 <= s["t"] <= t1), key=lambda s: s["t"])


def _delta(series: list[tuple[float, dict]], key: str) -> float:
    """last - first of ``key`` over one track's (t, stats) series (0 when absent)."""
    values = [st[key] for _, st in series if st.get(key) is not None]
    return max(0.0, values[-1] - values[0]) if len(values) >= 2 else 0.0


def _tracks(samples: list[dict], section: str, key_fields: tuple[str, ...]) -> dict[tuple, list[tuple[float, dict]]]:
    """Group a section's entries by (peer connection, *key_fields): one series per track."""
    out: dict[tuple, list[tuple[float, dict]]] = {}
    for s in samples:
        for entry in s.get(section) or []:
            key = (s.get("pc"), *(entry.get(k) for k in key_fields))
            out.setdefault(key, []).append((s["t"], entry))
    return out


def _span_s(samples: list[dict]) -> float:
    return (samples[-1]["t"] - samples[0]["t"]) / 1000.0 if len(samples) >= 2 else 0.0


def _pct(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 2) if whole > 0 else 0.0


def _mode_size(series: Iterable[tuple[float, dict]]) -> tuple[int | None, int | None]:
    sizes = Counter((st.get("frameWidth"), st.get("frameHeight")) for _, st in series if st.get("frameWidth"))
    return sizes.most_common(1)[0][0] if sizes else (None, None)


def frozen_seconds(times_with_frames: list[float], t0: float, t1: float, gap_s: float = FREEZE_GAP_S) -> float:
    """Total length of the gaps longer than ``gap_s`` between the instants (seconds) at
    which new frames were seen, counting from ``t0`` and up to ``t1``."""
    marks = [t0, *sorted(t for t in times_with_frames if t0 <= t <= t1), t1]
    return round(sum(b - a for a, b in itertools.pairwise(marks) if b - a > gap_s), 2)


def _frame_instants(samples: list[dict], slot: str) -> list[float]:
    """Sample times (s) at which ``slot`` had decoded more frames than at the previous sample."""
    last: dict[tuple, float] = {}
    out = []
    for s in samples:
        advanced = False
        for e in s.get("in") or []:
            if e.get("slot") != slot or e.get("kind") != "video":
                continue
            key = (s.get("pc"), e.get("mid"), e.get("ssrc"))
            frames = e.get("framesDecoded") or 0
            if key in last and frames > last[key]:
                advanced = True
            last[key] = frames
        if advanced:
            out.append(s["t"] / 1000.0)
    return out


def _paused_instants(samples: list[dict], slot: str) -> list[float]:
    """Sample times (s) at which the page showed ``slot`` as paused."""
    return [s["t"] / 1000.0 for s in samples if (s.get("tiles") or {}).get(slot, {}).get("paused")]


def _sources(samples: list[dict], slot: str) -> tuple[str, ...]:
    seen = dict.fromkeys(s["slots"].get(slot) for s in samples if s.get("slots"))
    seen.pop(None, None)
    return tuple(seen)


def video_slots(samples: list[dict], seconds: float) -> tuple[VideoSlot, ...]:
    tracks = _tracks(samples, "in", ("kind", "slot", "mid", "ssrc"))
    slots = sorted({k[2] for k in tracks if k[1] == "video" and k[2] is not None})
    t0, t1 = samples[0]["t"] / 1000.0, samples[-1]["t"] / 1000.0
    out = []
    for slot in slots:
        series = [v for k, v in tracks.items() if k[1] == "video" and k[2] == slot]

        def total(key: str, series: list = series) -> float:
            return sum(_delta(x, key) for x in series)

        frames = int(total("framesDecoded"))
        lost, received = total("packetsLost"), total("packetsReceived")
        width, height = _mode_size(e for x in series for e in x)
        paused = _paused_instants(samples, slot)
        out.append(
            VideoSlot(
                slot=slot,
                sources=_sources(samples, slot),
                frames=frames,
                fps=round(frames / seconds, 2) if seconds else 0.0,
                # a slot shown as paused is not frozen: its notice is what the page shows
                frozen_s=frozen_seconds(_frame_instants(samples, slot) + paused, t0, t1),
                chromium_freeze_s=round(total("totalFreezesDuration"), 2),
                chromium_freezes=int(total("freezeCount")),
                width=width,
                height=height,
                loss_pct=_pct(lost, lost + received),
                kbps=round(total("bytesReceived") * 8 / seconds / 1000, 1) if seconds else 0.0,
                nacks_sent=int(total("nackCount")),
                plis_sent=int(total("pliCount")),
                key_frames=int(total("keyFramesDecoded")),
                paused_s=round(len(paused) * seconds / max(1, len(samples) - 1), 2) if paused else 0.0,
            )
        )
    return tuple(out)


def audio_slots(samples: list[dict], seconds: float) -> tuple[AudioSlot, ...]:
    tracks = _tracks(samples, "in", ("kind", "slot", "mid", "ssrc"))
    slots = sorted({k[2] for k in tracks if k[1] == "audio" and k[2] is not None})
    out = []
    for slot in slots:
        series = [v for k, v in tracks.items() if k[1] == "audio" and k[2] == slot]

        def total(key: str, series: list = series) -> float:
            return sum(_delta(x, key) for x in series)

        lost, received = total("packetsLost"), total("packetsReceived")
        out.append(
            AudioSlot(
                slot=slot,
                sources=_sources(samples, slot),
                packets=int(received),
                loss_pct=_pct(lost, lost + received),
                concealed_pct=_pct(total("concealedSamples"), total("totalSamplesReceived")),
                kbps=round(total("bytesReceived") * 8 / seconds / 1000, 1) if seconds else 0.0,
                fec_packets=int(total("fecPacketsReceived")),
            )
        )
    return tuple(out)


def publishers(samples: list[dict], seconds: float) -> tuple[Publisher, ...]:
    tracks = _tracks(samples, "out", ("kind", "rid", "ssrc"))
    reported = _tracks(samples, "rin", ("kind", "ssrc"))
    groups = sorted({(k[1], k[2]) for k in tracks}, key=lambda g: (g[0] or "", g[1] or ""))
    out = []
    for kind, rid in groups:
        keys = [k for k in tracks if k[1] == kind and k[2] == rid]
        series = [tracks[k] for k in keys]

        def total(key: str, series: list = series) -> float:
            return sum(_delta(x, key) for x in series)

        last = series[-1][-1][1] if series and series[-1] else {}
        fractions = [
            e.get("fractionLost")
            for k, x in reported.items()
            if any(k[0] == t[0] and k[2] == t[3] for t in keys)
            for _, e in x
            if e.get("fractionLost") is not None
        ]
        width, height = _mode_size(e for x in series for e in x)
        key_frames = int(total("keyFramesEncoded"))
        out.append(
            Publisher(
                kind=kind,
                rid=rid,
                frames=int(total("framesEncoded")),
                fps=round(total("framesEncoded") / seconds, 2) if seconds else 0.0,
                width=width,
                height=height,
                key_frames=key_frames,
                key_frames_per_min=round(key_frames * 60 / seconds, 1) if seconds else 0.0,
                plis_received=int(total("pliCount")),
                nacks_received=int(total("nackCount")),
                kbps=round(total("bytesSent") * 8 / seconds / 1000, 1) if seconds else 0.0,
                retransmitted_kbps=round(total("retransmittedBytesSent") * 8 / seconds / 1000, 1) if seconds else 0.0,
                target_kbps=round(last["targetBitrate"] / 1000, 1) if last.get("targetBitrate") else None,
                quality_limitation=last.get("qualityLimitationReason"),
                reported_loss_pct=round(100 * sum(fractions) / len(fractions), 2) if fractions else None,
            )
        )
    return tuple(out)


def ice_path(samples: list[dict]) -> IcePath:
    pairs = [s["pair"] for s in samples if s.get("pair")]
    rtts = [p["currentRoundTripTime"] for p in pairs if p.get("currentRoundTripTime") is not None]
    outs = [p["availableOutgoingBitrate"] for p in pairs if p.get("availableOutgoingBitrate") is not None]
    local = next((s["local"] for s in reversed(samples) if s.get("local")), {}) or {}
    return IcePath(
        connected_pct=_pct(sum(1 for s in samples if s.get("state") == "connected"), len(samples)),
        rtt_ms=round(1000 * sum(rtts) / len(rtts), 1) if rtts else None,
        available_out_kbps=round(sum(outs) / len(outs) / 1000, 1) if outs else None,
        candidate_type=local.get("candidateType"),
        protocol=local.get("protocol"),
        relay_protocol=local.get("relayProtocol"),
    )


def link_figures(before: Mapping, after: Mapping, seconds: float) -> LinkFigures:
    """From two :meth:`bench.netns.Netns.counters` snapshots."""

    def rate(direction: str) -> float:
        return round((after[direction]["bytes"] - before[direction]["bytes"]) * 8 / seconds / 1000, 1)

    def dropped(direction: str) -> float:
        drops = after[direction]["dropped"] - before[direction]["dropped"]
        sent = after[direction]["packets"] - before[direction]["packets"]
        return _pct(drops, drops + sent)

    return LinkFigures(rate("down"), rate("up"), dropped("down"), dropped("up"))


def kiosk_figures(
    name: str, role: str, samples: list[dict], t0: float, t1: float, link: LinkFigures | None = None
) -> KioskFigures:
    """The figures of one page over the window [t0, t1] (epoch ms)."""
    window = in_window(samples, t0, t1)
    seconds = _span_s(window)
    if not window:
        return KioskFigures(name, role, 0.0, 0, IcePath(0.0, None, None, None, None, None), (), (), (), link)
    return KioskFigures(
        name=name,
        role=role,
        seconds=round(seconds, 2),
        samples=len(window),
        path=ice_path(window),
        video=video_slots(window, seconds),
        audio=audio_slots(window, seconds),
        publishers=publishers(window, seconds),
        link=link,
    )


def machine_figures(before: Mapping, after: Mapping, load_1m: float) -> MachineFigures:
    """From two snapshots ``{"cpu": (busy, total) jiffies of /proc/stat, "pages": {name:
    CPU seconds}, "t": seconds}``."""
    busy = after["cpu"][0] - before["cpu"][0]
    total = after["cpu"][1] - before["cpu"][1]
    seconds = after["t"] - before["t"]
    return MachineFigures(
        busy_pct=_pct(busy, total),
        load_1m=round(load_1m, 2),
        browsers_cpu_pct={
            k: round(100 * (v - before["pages"].get(k, 0.0)) / seconds, 1) if seconds else 0.0
            for k, v in after["pages"].items()
        },
    )


# --------------------------------------------------------------------------- the server

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)")


def parse_metrics(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus text exposition -> {(name, ((label, value), ...)): value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if m is None:
            continue
        labels = tuple(sorted(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or "")))
        try:
            out[(m.group(1), labels)] = float(m.group(4))
        except ValueError:
            continue
    return out


def _by(metrics: Mapping, name: str, label: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for (n, labels), v in metrics.items():
        if n == name:
            key = dict(labels).get(label, "")
            out[key] = out.get(key, 0.0) + v
    return out


def _one(metrics: Mapping, name: str) -> float:
    return sum(v for (n, _), v in metrics.items() if n == name)


def server_figures(before: Mapping, after: Mapping, seconds: float) -> ServerFigures:
    """Deltas of two :func:`parse_metrics` snapshots of the server's /metrics."""

    def by(name: str, label: str) -> dict[str, float]:
        a, b = _by(after, name, label), _by(before, name, label)
        return {k: round(v - b.get(k, 0.0), 1) for k, v in sorted(a.items()) if v - b.get(k, 0.0)}

    def one(name: str) -> float:
        return round(_one(after, name) - _one(before, name), 1)

    bytes_out = by("seance_sfu_rtp_bytes_out_total", "kind")
    cpu = one("process_cpu_seconds_total")
    retransmissions = one("seance_sfu_retransmissions_total")
    return ServerFigures(
        seconds=round(seconds, 2),
        cpu_pct=round(100 * cpu / seconds, 1) if seconds and ("process_cpu_seconds_total", ()) in after else None,
        packets_in=by("seance_sfu_rtp_packets_in_total", "kind"),
        packets_out=by("seance_sfu_rtp_packets_out_total", "kind"),
        kbps_out={k: round(v * 8 / seconds / 1000, 1) for k, v in bytes_out.items()} if seconds else {},
        dropped=by("seance_sfu_packets_dropped_total", "reason"),
        nacks_received=one("seance_sfu_nacks_received_total"),
        retransmissions=retransmissions,
        retransmissions_per_s=round(retransmissions / seconds, 1) if seconds else 0.0,
        plis_received=one("seance_sfu_plis_received_total"),
        keyframe_requests_sent=one("seance_sfu_keyframe_requests_sent_total"),
        transmitting={k: v == 1.0 for k, v in _by(after, "seance_sfu_salle_transmitting", "salle").items()},
    )


# --------------------------------------------------------------------------- the sitting


def sitting_figures(views: list[tuple[float, dict]], t0: float, t1: float) -> SittingFigures | None:
    """From the (epoch s, view) pairs the public socket received, the window [t0, t1] (s)."""
    if not views:
        return None
    before = [v for t, v in views if t < t0]
    inside = [(t, v) for t, v in views if t0 <= t <= t1]
    timeline = ([(t0, before[-1])] if before else []) + inside
    if not timeline:
        return None

    def salles(view: dict) -> dict[str, dict]:
        return {s["id"]: s for s in view.get("salles", [])}

    statuses: list[str] = []
    changes: list[dict] = []
    down: dict[str, float] = {}
    for i, (t, view) in enumerate(timeline):
        if not statuses or statuses[-1] != view.get("status"):
            statuses.append(view.get("status"))
        t_next = timeline[i + 1][0] if i + 1 < len(timeline) else t1
        for sid, s in salles(view).items():
            if not s.get("transmitting"):
                down[sid] = down.get(sid, 0.0) + max(0.0, t_next - t)
        if i:
            prev = salles(timeline[i - 1][1])
            for sid, s in salles(view).items():
                for key in ("transmitting", "audio_only", "connected"):
                    if prev.get(sid, {}).get(key) != s.get(key):
                        changes.append({"t": round(t - t0, 2), "salle": sid, key: s.get(key)})
            if timeline[i - 1][1].get("status") != view.get("status"):
                changes.append({"t": round(t - t0, 2), "status": view.get("status")})
    last = timeline[-1][1]
    return SittingFigures(
        status=last.get("status"),
        statuses=tuple(statuses),
        transmitting={sid: bool(s.get("transmitting")) for sid, s in salles(last).items()},
        audio_only={sid: bool(s.get("audio_only")) for sid, s in salles(last).items()},
        not_transmitting_s={sid: round(v, 1) for sid, v in down.items() if v > 0},
        changes=tuple(changes),
    )


# --------------------------------------------------------------------------- reading back


def _kiosk_from(d: dict) -> KioskFigures:
    return KioskFigures(
        **{
            **d,
            "path": IcePath(**d["path"]),
            "video": tuple(VideoSlot(**{**v, "sources": tuple(v["sources"])}) for v in d["video"]),
            "audio": tuple(AudioSlot(**{**a, "sources": tuple(a["sources"])}) for a in d["audio"]),
            "publishers": tuple(Publisher(**p) for p in d["publishers"]),
            "link": LinkFigures(**d["link"]) if d.get("link") else None,
        }
    )


def report_from_dict(d: dict) -> Report:
    """A :class:`Report` from its JSON form (``Report.to_dict``), e.g. a saved baseline."""
    phases = []
    for p in d["phases"]:
        st = p.get("sitting")
        phases.append(
            PhaseReport(
                **{
                    **p,
                    "kiosks": {k: _kiosk_from(v) for k, v in p["kiosks"].items()},
                    "server": ServerFigures(**p["server"]) if p.get("server") else None,
                    "sitting": SittingFigures(
                        **{**st, "statuses": tuple(st["statuses"]), "changes": tuple(st["changes"])}
                    )
                    if st
                    else None,
                    "machine": MachineFigures(**p["machine"]) if p.get("machine") else None,
                    "journal": tuple(p.get("journal", ())),
                }
            )
        )
    return Report(
        **{**d, "phases": tuple(phases), "notes": tuple(d.get("notes", ())), "turn": tuple(d.get("turn", ()))}
    )
