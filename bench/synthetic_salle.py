"""A synthetic salle: a client on the transport Séance owns (:mod:`bench.salle_transport`)
that publishes pre-encoded Opus and VP8 and counts what it receives, without encoding or
decoding anything at run time.

Run by the orchestrator as ``python -m bench.synthetic_salle '<json config>'``, one
process per group of salles (one salle per process by default). It talks to the
orchestrator in JSON lines: it prints ``{"event": "joined", …}`` once every salle it
hosts is publishing and receiving, reads ``{"cmd": "window", "start_ns", "end_ns"}``
on stdin, measures over that window, prints ``{"event": "result", …}`` and exits. A
watchdog ends the process at ``deadline_ns`` whatever happens, so no load outlives a run.

Publishing (:class:`PacedSample`, :func:`run_stream`): each frame of the pre-encoded
sample is paced in real time and packetized by aiortc's public payloaders
(``aiortc.codecs.get_encoder(codec).pack``: VP8 payload descriptor and picture ids, the
Opus payload), so it costs no codec time; the RFC 6464 audio level comes from the level
stored with each Opus frame; a PLI or FIR from the server makes the stream jump to the
next keyframe of its sample. A frame's packets are protected and sent in one batch
(:meth:`bench.salle_transport.SalleConnection.send_frame`: ``sfu._forward``, libsrtp2
and ``sendmmsg``).

Measuring one-way delay on one machine: every outgoing RTP packet gets a 16-byte
trailer appended to its payload just before SRTP protection (``magic, salle, kind,
CLOCK_MONOTONIC ns``); the receiver reads it after SRTP unprotection and subtracts it
from its own CLOCK_MONOTONIC. The clock is the same kernel clock in every process, so
no synchronisation is needed, and the trailer survives any SFU that rewrites SSRC,
sequence numbers and timestamps but forwards payloads untouched (Séance, Janus). The
payload headers an SFU reads (VP8 payload descriptor and frame tag, Opus TOC) are at
the start and stay valid. The figure includes both clients' stacks (pacing, SRTP, the
event loops); the orchestrator measures that with a direct publisher→subscriber run and
subtracts it.

Receiving: received SRTP is unprotected in the socket callback and every RTP packet is
counted and timed by the salle's :class:`Probe` (never parsed further, jitter-buffered
or decoded). Loss is counted per SSRC from sequence-number gaps.

``--simulcast``: the camera is three VP8 layers, each its own RTP stream with its rid,
offered as a Chromium kiosk offers them (:mod:`bench.simulcast`); received packets are
counted per source and layer; with ``--dynacast`` a layer Séance switches off is not sent.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import struct
import sys
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.salle_transport import (
    URI_AUDIO_LEVEL,
    URI_MID,
    OutStream,
    SalleConnection,
    SeqCount,
    negotiated,
    rtp_header,
)
from bench.simulcast import RIDS, answered_rids, layer_header, layer_kind, rid_of_kind, simulcast_offer
from sfu.transport.sdp import PUBLISH, Section

MAGIC = b"SbT1"
TRAILER = struct.Struct("!4sHBxq")  # magic, salle index, kind (0 audio, 1 video), send ns
KIND_AUDIO, KIND_VIDEO = 0, 1  # then a simulcast layer's kind: bench.simulcast.layer_kind(rid)
#: keep at most this many delay samples per process (the run is bounded; this bounds memory)
MAX_DELAY_SAMPLES = 400_000
#: the codec each kind's sample is encoded with (bench/samples.py)
CODEC_NAMES = {"audio": "opus", "video": "VP8"}


def now_ns() -> int:
    return time.monotonic_ns()  # CLOCK_MONOTONIC: one clock for every process of the machine


class PacedSample:
    """A sample's frames as ``av.Packet`` s, paced in real time, looping; ``start`` spreads
    salles over the sample (speakers differ)."""

    def __init__(self, sample: Any, start: int = 0) -> None:
        self.sample = sample
        self.n = len(sample.packets)
        self.step = sample.duration // self.n
        self.step_s = float(self.step * sample.time_base)  # seconds per frame (no Fraction per frame)
        self.index = start % self.n
        self.count = 0
        self.t0: float | None = None
        self.keyframe_wanted = False

    def request_keyframe(self) -> None:
        self.keyframe_wanted = True

    async def next(self) -> tuple[Any, int | None]:
        """The next frame (an ``av.Packet`` with its pts) and its audio level (dBov)."""
        import av

        loop = asyncio.get_running_loop()
        if self.t0 is None:
            self.t0 = loop.time()
        if self.keyframe_wanted:
            self.keyframe_wanted = False
            for k in range(self.n):
                if self.sample.packets[(self.index + k) % self.n].keyframe:
                    self.index = (self.index + k) % self.n
                    break
        pts = self.count * self.step
        wait = self.t0 + self.count * self.step_s - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        src = self.sample.packets[self.index]
        self.index = (self.index + 1) % self.n
        self.count += 1
        packet = av.Packet(src.data)
        packet.pts = pts
        packet.time_base = self.sample.time_base
        return packet, (src.level_dbov if self.sample.kind == "audio" else None)


@dataclass
class Probe:
    """Stamps outgoing RTP and counts incoming RTP for one salle (all its connections;
    each one's receiver reports are its own: :class:`bench.salle_transport.SalleConnection`)."""

    salle: int
    window: tuple[int, int] = (0, 0)  # [start_ns, end_ns); empty until the orchestrator says
    #: append the delay trailer; off for a server that decodes and re-encodes (the
    #: MediaRelay baseline), whose decoder the trailer would corrupt: no delay figures then
    trailer: bool = True
    sent: int = 0
    sent_window: int = 0
    #: packets not sent because the socket's buffer was full
    send_dropped: int = 0
    received: int = 0
    first_rx_ns: int | None = None
    ssrcs: dict[int, SeqCount] = field(default_factory=dict)  # in the window
    seen_ssrcs: set[int] = field(default_factory=set)
    by_source: dict[str, int] = field(default_factory=dict)
    delays_us: array = field(default_factory=lambda: array("q"))
    kinds: dict[int, int] = field(default_factory=dict)  # our sender SSRC -> kind
    tasks: list = field(default_factory=list)
    #: packets sent in the window by kind (0 audio, 1 video, a simulcast layer's kind)
    sent_by_kind: dict[int, int] = field(default_factory=dict)
    #: ``--simulcast``: packets received in the window per source salle and layer rid
    layers: dict[int, dict[str, int]] = field(default_factory=dict)
    #: ``--simulcast``: per source salle, how often the layer received changed in the window
    #: (a switch; two layers forwarded at once would alternate at every packet)
    layer_switches: dict[int, int] = field(default_factory=dict)
    _last_rid: dict[int, str] = field(default_factory=dict)
    #: ``--simulcast``: per source salle, the first and last arrival (ns) of its layers' packets
    #: in the window (a speaker slot that changed source covers part of the window only)
    layer_span: dict[int, list[int]] = field(default_factory=dict)
    #: ``--simulcast``: the video layers this salle publishes (rid -> sample), empty without
    simulcast: dict = field(default_factory=dict)
    #: ``--simulcast``: the rids the server's answer accepted (None: not published yet)
    answered_rids: tuple[str, ...] | None = None
    #: ``--simulcast``: the mid of the video section we offered, and its mid extension's id
    simulcast_mid: str = ""
    mid_extension_id: int = 0
    #: ``--simulcast --dynacast``: the layers Séance asked to keep sending (``layers``)
    active_layers: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(RIDS, True))
    #: ``--dynacast``: how many ``layers`` messages switched a layer off or on
    layer_changes: int = 0

    def set_active_layers(self, active: list[bool]) -> None:
        """Séance's ``layers`` message (docs/protocol.md), as the kiosk applies it: the
        smallest layer always on, the others as asked (smallest first)."""
        for i, rid in enumerate(RIDS):
            on = i == 0 or (active[i] if i < len(active) else True)
            if self.active_layers[rid] != on:
                self.active_layers[rid] = on
                self.layer_changes += 1

    def count_sent(self, kind: int, t_ns: int, n: int = 1) -> None:
        self.sent += n
        if self.window[0] <= t_ns < self.window[1]:
            self.sent_window += n
            self.sent_by_kind[kind] = self.sent_by_kind.get(kind, 0) + n

    def handle_rtp(self, data: bytes) -> None:
        t_ns = now_ns()
        self.received += 1
        if self.first_rx_ns is None:
            self.first_rx_ns = t_ns
        if len(data) < 12 + TRAILER.size:
            return
        ssrc = int.from_bytes(data[8:12], "big")
        self.seen_ssrcs.add(ssrc)
        if not (self.window[0] <= t_ns < self.window[1]):
            return
        st = self.ssrcs.get(ssrc)
        if st is None:
            st = self.ssrcs[ssrc] = SeqCount()
        st.add(int.from_bytes(data[2:4], "big"))
        tail = data[-TRAILER.size :]
        if tail[:4] == MAGIC:
            _, src, kind, sent_ns = TRAILER.unpack(tail)
            key = f"{src}:{'a' if kind == KIND_AUDIO else 'v'}"
            self.by_source[key] = self.by_source.get(key, 0) + 1
            rid = rid_of_kind(kind)
            if rid is not None:
                per = self.layers.setdefault(src, {})
                per[rid] = per.get(rid, 0) + 1
                last = self._last_rid.get(src)
                if last is not None and last != rid:
                    self.layer_switches[src] = self.layer_switches.get(src, 0) + 1
                self._last_rid[src] = rid
                span = self.layer_span.get(src)
                if span is None:
                    self.layer_span[src] = [t_ns, t_ns]
                else:
                    span[1] = t_ns
            if len(self.delays_us) < MAX_DELAY_SAMPLES:
                self.delays_us.append((t_ns - sent_ns) // 1000)

    def result(self) -> dict[str, Any]:
        expected = sum(max(s.top - s.base + 1, s.count) for s in self.ssrcs.values())
        received = sum(s.count for s in self.ssrcs.values())
        return {
            "salle": self.salle,
            "sent": self.sent_window,
            "received": received,
            "expected": expected,
            "streams": len(self.ssrcs),
            "by_source": self.by_source,
            "send_dropped": self.send_dropped,
            "sent_by_kind": self.sent_by_kind,
            "layers": self.layers,
            "answered_rids": self.answered_rids,
            "layer_changes": self.layer_changes,
            "layer_switches": self.layer_switches,
            "layer_span_s": {src: (b - a) / 1e9 for src, (a, b) in self.layer_span.items()},
            "delays_us": self.delays_us.tolist(),
        }


def subscriptions(i: int, n: int, voices: int = 3) -> tuple[list[int], list[int]]:
    """The receive slots of salle ``i`` among ``n``, as fixed sources for a static SFU:
    video of the president (salle 0; salle 0 itself sees salle 1) and of an "active
    speaker" (the next salle), audio of the ``voices`` next salles. Never itself."""
    others = [(i + k) % n for k in range(1, n)]
    president = 0 if i != 0 else (1 if n > 1 else None)
    video = [president] if president is not None else []
    for j in others:
        if len(video) >= 2:
            break
        if j not in video:
            video.append(j)
    audio = others[:voices]
    return video, audio


# -- publishing ---------------------------------------------------------------------------


def fresh_ssrc(taken: set[int]) -> int:
    while True:
        ssrc = random.getrandbits(32)
        if ssrc and ssrc not in taken:
            taken.add(ssrc)
            return ssrc


async def run_stream(
    conn: SalleConnection,
    stream: OutStream,
    paced: PacedSample,
    codec: Any,
    header: bytearray,
    probe: Probe,
    level_at: int | None = None,
    rid: str | None = None,
) -> None:
    """Send ``paced``'s frames as ``stream`` until cancelled or the connection ends: each
    frame packetized by aiortc's payloader for ``codec``, each packet ``header`` patched
    (sequence number, timestamp, marker bit on a frame's last packet, the RFC 6464 level
    at ``level_at``) with the delay trailer, the frame sent as one batch. A simulcast
    layer (``rid``) that Séance switched off (``--dynacast``) stays paced but is not
    sent, and starts again with a keyframe."""
    from aiortc.clock import current_ntp_time
    from aiortc.codecs import get_encoder

    encoder = get_encoder(codec)
    stream.request_keyframe = paced.request_keyframe
    trailer = TRAILER.pack(MAGIC, probe.salle, stream.kind, 0)[:-8] if probe.trailer else None
    pack_into = struct.pack_into
    was_on = True
    try:
        while conn.state == "connected":
            on = rid is None or probe.active_layers[rid]
            if on and not was_on:  # an encoding switched back on starts with a keyframe
                paced.request_keyframe()
            was_on = on
            packet, level = await paced.next()  # paced even when off: the layers stay aligned
            if not on:
                continue
            payloads, timestamp = encoder.pack(packet)
            ts = (stream.origin + timestamp) & 0xFFFFFFFF
            last = len(payloads) - 1
            seq = stream.seq
            octets = 0
            t_ns = now_ns()
            frame = []
            for i, payload in enumerate(payloads):
                rtp = header + payload
                pack_into("!HI", rtp, 2, seq, ts)
                if i == last:
                    rtp[1] |= 0x80
                if level_at is not None and level is not None:
                    rtp[level_at] = (-level) & 0x7F
                if trailer is not None:
                    rtp += trailer
                    rtp += t_ns.to_bytes(8, "big", signed=True)
                frame.append(rtp)
                octets += len(payload)
                seq = (seq + 1) & 0xFFFF
            stream.seq = seq
            try:
                probe.send_dropped += conn.send_frame(frame)
            except ConnectionError:
                continue
            probe.count_sent(stream.kind, t_ns, len(frame))
            # what its sender reports say (RFC 3550 section 6.4.1)
            stream.packets += len(frame)
            stream.octets += octets
            stream.rtp_timestamp, stream.ntp_timestamp = ts, current_ntp_time()
    except asyncio.CancelledError:
        pass


def start_publishing(s: Salle, conn: SalleConnection, answer: str, sending: dict[int, int], samples: dict) -> None:
    """Start sending on the m-sections ``sending`` (index -> SSRC) with what ``answer``
    negotiated for each; with ``--simulcast`` the video section sends three layers, the
    largest with the SSRC offered (:mod:`bench.simulcast`)."""
    probe = s.probe
    start = s.index * 173  # 173: coprime with both loop lengths; layers stay aligned
    taken = set(sending.values())
    for index, ssrc in sending.items():
        kind = samples[index].kind
        neg = negotiated(answer, index, CODEC_NAMES[kind])
        pt = neg.codec.payloadType
        runs = []
        if kind == "video" and probe.simulcast:
            for rid in RIDS:
                layer_ssrc = ssrc if rid == RIDS[-1] else fresh_ssrc(taken)
                stream = conn.add_stream(OutStream(layer_ssrc, layer_kind(rid)))
                header = layer_header(pt, layer_ssrc, probe.mid_extension_id, neg.mid, rid)
                runs.append(
                    run_stream(
                        conn, stream, PacedSample(probe.simulcast[rid], start), neg.codec, header, probe, rid=rid
                    )
                )
        else:
            elements = []
            level_id = neg.extensions.get(URI_AUDIO_LEVEL) if kind == "audio" else None
            if level_id is not None:  # first: its one byte is at 17 (12 + 4 + 1)
                elements.append((level_id, b"\x00"))
            if URI_MID in neg.extensions:
                elements.append((neg.extensions[URI_MID], neg.mid.encode()))
            stream = conn.add_stream(OutStream(ssrc, KIND_AUDIO if kind == "audio" else KIND_VIDEO))
            header = rtp_header(pt, ssrc, elements)
            level_at = 17 if level_id is not None else None
            runs.append(
                run_stream(conn, stream, PacedSample(samples[index], start), neg.codec, header, probe, level_at)
            )
        probe.tasks.extend(asyncio.ensure_future(run) for run in runs)


# -- targets ------------------------------------------------------------------------


def new_connection(s: Salle, cfg: dict, offerer: bool) -> SalleConnection:
    """A connection of salle ``s`` gathering on the run's addresses, sending its RTCP
    reports once connected."""
    conn = SalleConnection(s.probe, cfg.get("ice_addresses") or ["127.0.0.1"], offerer, 0x5EA00000 | (s.index & 0xFFFF))
    s.closables.append(conn)
    s.probe.tasks.append(asyncio.ensure_future(conn.reports(conn.cname)))
    return conn


async def publishing_offer(s: Salle, conn: SalleConnection, kinds: list[str], send: list[int]) -> tuple[str, dict]:
    """The offer of ``conn`` publishing on the sections ``send`` of ``kinds``, with
    ``--simulcast`` rewritten as Chromium offers three layers; returns it and the SSRC
    of each section sent on."""
    taken: set[int] = set()
    sending = {index: fresh_ssrc(taken) for index in send}
    sdp = await conn.offer(kinds, sending)
    if s.probe.simulcast:
        sdp, s.probe.simulcast_mid, s.probe.mid_extension_id = simulcast_offer(sdp)
    return sdp, sending


async def _wait_connected(conn: SalleConnection, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while conn.state != "connected":
        if conn.state in ("failed", "closed") or time.monotonic() > deadline:
            raise ConnectionError(f"connection {conn.state}")
        await asyncio.sleep(0.02)


@dataclass
class Salle:
    index: int
    probe: Probe
    t_start: int = 0
    t_published: int | None = None
    expected_streams: int = 0
    #: what to close at the end: its connections, its signalling session
    closables: list = field(default_factory=list)
    error: str | None = None

    def joined_ns(self) -> int | None:
        if self.t_published is None or self.probe.first_rx_ns is None:
            return None
        if len(self.probe.seen_ssrcs) < self.expected_streams:
            return None
        return self.t_published if self.expected_streams == 0 else max(self.t_published, self.all_received_ns)

    all_received_ns: int = 0


async def _await_streams(s: Salle, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(s.probe.seen_ssrcs) < s.expected_streams and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    s.all_received_ns = now_ns()


def answer_sections(offer: str) -> list[Section]:
    """One receiving section per m-section of a server's offer (Janus's subscriber)."""
    from aiortc import sdp as aiortc_sdp

    return [Section(role=PUBLISH) for _ in aiortc_sdp.SessionDescription.parse(offer).media]


async def join_janus(s: Salle, cfg: dict, audio, video) -> None:
    from bench.janus import JanusError, JanusSession

    n, room = cfg["n_salles"], cfg["room"]
    timeout = cfg.get("join_timeout", 20)
    session = JanusSession(cfg["url"])
    await session.__aenter__()
    s.closables.append(session)
    h = await session.attach()
    await session.message(
        h, {"request": "join", "ptype": "publisher", "room": room, "id": 1000 + s.index, "display": f"salle-{s.index}"}
    )
    pub = new_connection(s, cfg, offerer=True)
    sdp, sending = await publishing_offer(s, pub, ["audio", "video"], [0, 1])
    offer: dict[str, Any] = {"type": "offer", "sdp": sdp}
    if s.probe.simulcast:
        offer["rid_order"] = "lmh"  # Janus 1.1 takes the first rid as the largest unless told
    _, jsep = await session.message(h, {"request": "publish", "audio": True, "video": True}, jsep=offer)
    if s.probe.simulcast:
        s.probe.answered_rids = answered_rids(jsep["sdp"], s.probe.simulcast_mid)
    await pub.accept_answer(jsep["sdp"])
    await _wait_connected(pub, timeout)
    start_publishing(s, pub, jsep["sdp"], sending, {0: audio, 1: video})
    s.t_published = now_ns()

    vids, auds = subscriptions(s.index, n, cfg.get("voices", 3))
    video_stream: dict[str, Any] = {"mid": "1"}
    if s.probe.simulcast:  # the layer each subscriber receives (substream 0 the smallest)
        video_stream["substream"] = RIDS.index(cfg.get("simulcast_layer", RIDS[-1]))
    streams = [{"feed": 1000 + j, **video_stream} for j in vids] + [{"feed": 1000 + j, "mid": "0"} for j in auds]
    s.expected_streams = len(streams)
    if not streams:
        return
    sh = await session.attach()
    deadline = time.monotonic() + timeout
    while True:  # the others may not have published yet: retry, bounded
        try:
            _, sub_offer = await session.message(
                sh, {"request": "join", "ptype": "subscriber", "room": room, "streams": streams}
            )
            break
        except JanusError as exc:
            if time.monotonic() > deadline:
                raise
            if exc.code not in (428, 429, 432):  # no such feed / missing element / not published
                raise
            await asyncio.sleep(0.2)
    sub = new_connection(s, cfg, offerer=False)
    answer = await sub.accept(sub_offer["sdp"], answer_sections(sub_offer["sdp"]), {})
    await session.message(sh, {"request": "start"}, jsep={"type": "answer", "sdp": answer})
    await _wait_connected(sub, timeout)
    await _await_streams(s, timeout)


async def join_direct(pair: tuple[Salle, Salle], cfg: dict, audio, video) -> None:
    """The zero of the delay: salle 0 publishes straight to salle 1, no server."""
    pub_s, sub_s = pair
    timeout = cfg.get("join_timeout", 20)
    pub, sub = new_connection(pub_s, cfg, offerer=True), new_connection(sub_s, cfg, offerer=False)
    offer, sending = await publishing_offer(pub_s, pub, ["audio", "video"], [0, 1])
    answer = await sub.accept(offer, answer_sections(offer), {})
    await pub.accept_answer(answer)
    await _wait_connected(pub, timeout)
    start_publishing(pub_s, pub, answer, sending, {0: audio, 1: video})
    pub_s.t_published = sub_s.t_published = now_ns()
    sub_s.expected_streams = 2
    await _await_streams(sub_s, timeout)


async def join_seance(s: Salle, cfg: dict, audio, video) -> None:
    from bench.seance_client import join_salle

    await join_salle(s, cfg, audio, video)


# -- process --------------------------------------------------------------------------


def _emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def _read_command(timeout: float) -> dict | None:
    loop = asyncio.get_running_loop()
    try:
        line = await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.readline), timeout)
    except TimeoutError:
        return None
    return json.loads(line) if line.strip() else None


async def main(cfg: dict) -> int:
    from bench.samples import ensure_samples, layer_samples

    deadline_ns = cfg["deadline_ns"]

    async def watchdog() -> None:
        await asyncio.sleep(max(0.0, (deadline_ns - now_ns()) / 1e9))
        _emit({"event": "error", "error": "deadline reached"})
        os._exit(3)

    wd = asyncio.create_task(watchdog())
    audio, video = ensure_samples(Path(cfg["cache_dir"]))
    layers = layer_samples(Path(cfg["cache_dir"])) if cfg.get("simulcast") and cfg["target"] != "direct" else {}
    salles = [
        Salle(
            i,
            Probe(i, trailer=cfg.get("trailer", True), simulcast=layers),
            t_start=now_ns(),
        )
        for i in cfg["salles"]
    ]
    target = cfg["target"]

    async def join(s: Salle) -> None:
        try:
            if target == "janus":
                await join_janus(s, cfg, audio, video)
            elif target == "seance":
                await join_seance(s, cfg, audio, video)
            else:
                raise ValueError(target)
        except Exception as exc:  # reported, not raised: the other salles go on
            s.error = f"{type(exc).__name__}: {exc}"

    if target == "direct":
        try:
            await join_direct((salles[0], salles[1]), cfg, audio, video)
        except Exception as exc:
            salles[0].error = f"{type(exc).__name__}: {exc}"
    else:
        await asyncio.gather(*(join(s) for s in salles))

    joins = {}
    for s in salles:
        j = s.joined_ns()
        joins[s.index] = None if j is None else (j - s.t_start) / 1e9
    _emit(
        {
            "event": "joined",
            "join_s": joins,
            "errors": {s.index: s.error for s in salles if s.error},
            "pid": os.getpid(),
        }
    )

    cmd = await _read_command(timeout=max(1.0, (deadline_ns - now_ns()) / 1e9))
    if cmd and cmd.get("cmd") == "window":
        for s in salles:
            s.probe.window = (cmd["start_ns"], cmd["end_ns"])
        await asyncio.sleep(max(0.0, (cmd["end_ns"] - now_ns()) / 1e9) + 0.05)
    _emit({"event": "result", "salles": [s.probe.result() for s in salles]})

    async def close_all() -> None:
        for s in salles:
            for task in s.probe.tasks:
                task.cancel()
            for obj in reversed(s.closables):
                try:
                    if hasattr(obj, "close"):
                        await obj.close()
                    else:
                        await obj.__aexit__(None, None, None)
                except Exception:
                    pass

    try:
        await asyncio.wait_for(close_all(), 5)
    except TimeoutError:
        pass
    wd.cancel()
    return 0


if __name__ == "__main__":
    config = json.loads(sys.argv[1])
    # the load generator's own loop: uvloop when installed (its receive path costs a
    # fifth of asyncio's per datagram, bench/loopbench.py), so one core carries more
    # salles; the orchestrator passes "client_loop" (see BenchConfig.client_loop)
    from sfu.eventloop import new_event_loop

    loop, _ = new_event_loop(config.get("client_loop", "auto"))
    try:
        code = loop.run_until_complete(main(config))
    finally:
        loop.close()
    sys.stdout.flush()
    os._exit(code)  # do not wait on the executor thread of a pending stdin read
