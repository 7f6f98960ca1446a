"""A synthetic salle: an aiortc client that publishes pre-encoded Opus and VP8 and
counts what it receives, without encoding or decoding anything at run time.

Run by the orchestrator as ``python -m bench.synthetic_salle '<json config>'``, one
process per group of salles (one salle per process by default). It talks to the
orchestrator in JSON lines: it prints ``{"event": "joined", …}`` once every salle it
hosts is publishing and receiving, reads ``{"cmd": "window", "start_ns", "end_ns"}``
on stdin, measures over that window, prints ``{"event": "result", …}`` and exits. A
watchdog ends the process at ``deadline_ns`` whatever happens, so no load outlives a run.

Publishing (aiortc 1.16, ``RTCRtpSender._next_encoded_frame``): when a track's
``recv()`` returns an ``av.Packet`` instead of a frame, the sender only packetizes it
(``encoder.pack``), so pre-encoded media costs no codec time. aiortc sets the RFC 6464
audio level only for frames it encodes; :func:`hook_sender` fills it in for our
packets from the level stored with each Opus frame, and turns the sender's keyframe
requests (PLI/FIR) into a jump to the next keyframe of the VP8 sample.

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

Receiving: :class:`Probe` replaces the client DTLS transport's ``_handle_rtp_data``
(aiortc 1.16), so received packets are counted and timed, and never parsed by aiortc,
jitter-buffered or decoded. Loss is counted per SSRC from sequence-number gaps.

The fast client path (``client_path = "fast"``, the default; :func:`fast_client`): ICE,
DTLS and the SRTP keys are aiortc's, every packet is SRTP-protected and -unprotected
with them, but the per-packet Python of aiortc's client is skipped, as Séance's server
skips it (``sfu.library_surface``): packets are sent from a header template patched in
place (no ``RtpPacket`` object, no ``serialize``, no chain of four coroutines) and
received SRTP datagrams are unprotected and counted inside aioice's socket callback (no
queue, no receive coroutine). Per frame the work is aiortc's: ``encoder.pack`` of the
pre-encoded sample. Without it one load-generator core carries a few dozen salles, so
the load generator, not the server, is what a large sitting measures. ``"stock"`` keeps
aiortc's own per-packet path (for comparison).

``--simulcast`` (fast path only): the camera is three VP8 layers, each its own RTP stream
with its rid, offered as a Chromium kiosk offers them (:mod:`bench.simulcast`,
:func:`_simulcast_run_rtp`); received packets are counted per source and layer. Every
private name of aiortc, aioice and pylibsrtp used here is in :mod:`bench.aiortc_private`,
whose surface check runs when the process starts.
"""

from __future__ import annotations

import asyncio
import json
import os
import struct
import sys
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import aiortc_private as private
from bench.simulcast import RIDS, answered_rids, layer_header, layer_kind, rid_of_kind, simulcast_offer

MAGIC = b"SbT1"
TRAILER = struct.Struct("!4sHBxq")  # magic, salle index, kind (0 audio, 1 video), send ns
KIND_AUDIO, KIND_VIDEO = 0, 1  # then a simulcast layer's kind: bench.simulcast.layer_kind(rid)
#: keep at most this many delay samples per process (the run is bounded; this bounds memory)
MAX_DELAY_SAMPLES = 400_000


def now_ns() -> int:
    return time.monotonic_ns()  # CLOCK_MONOTONIC: one clock for every process of the machine


# -- aiortc / aioice hooks (their private names: bench/aiortc_private.py) --------------


def local_candidates_only(addresses: list[str]) -> None:
    """Gather ICE host candidates on ``addresses`` only (local ones), in this process.

    aioice 0.13 ``ice.get_host_addresses`` lists every interface but leaves 127.0.0.1
    out; benchmark traffic may only use loopback or our own namespace, so this client
    process announces only the addresses the orchestrator gives: 127.0.0.1 for Séance
    and the direct run, the namespace-side veth address of the benchmark's own network
    namespace for Janus (the process then runs inside that namespace, see
    :mod:`bench.netns`). Never an address of eth0. No STUN/TURN server either (see
    :func:`new_peer_connection`)."""
    private.gather_only_on(addresses)


def new_peer_connection():
    from aiortc import RTCConfiguration, RTCPeerConnection

    # iceServers=[]: aiortc's default configuration would add a public STUN server.
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


class PacketTrack:
    """A ``MediaStreamTrack`` whose ``recv()`` returns the sample's ``av.Packet`` s, paced
    in real time, looping; ``start`` spreads salles over the sample (speakers differ)."""

    def __new__(cls, *args: Any, **kwargs: Any):  # build the subclass lazily: aiortc import
        from aiortc.mediastreams import MediaStreamTrack

        class _Track(MediaStreamTrack):
            kind = args[0].kind

            def __init__(self, sample, start: int = 0) -> None:
                super().__init__()
                self.sample = sample
                self.n = len(sample.packets)
                self.step = sample.duration // self.n
                self.index = start % self.n
                self.count = 0
                self.t0: float | None = None
                self.level: int | None = None
                self._keyframe_wanted = False

            def request_keyframe(self) -> None:
                self._keyframe_wanted = True

            async def recv(self):
                import av

                if self.readyState != "live":
                    from aiortc.mediastreams import MediaStreamError

                    raise MediaStreamError
                loop = asyncio.get_running_loop()
                if self.t0 is None:
                    self.t0 = loop.time()
                if self._keyframe_wanted:
                    self._keyframe_wanted = False
                    for k in range(self.n):
                        if self.sample.packets[(self.index + k) % self.n].keyframe:
                            self.index = (self.index + k) % self.n
                            break
                pts = self.count * self.step
                wait = self.t0 + float(pts * self.sample.time_base) - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                src = self.sample.packets[self.index]
                self.index = (self.index + 1) % self.n
                self.count += 1
                self.level = src.level_dbov if self.kind == "audio" else None
                packet = av.Packet(src.data)
                packet.pts = pts
                packet.time_base = self.sample.time_base
                return packet

        return _Track(*args, **kwargs)


def hook_sender(sender, track) -> None:
    """Per-instance hooks on an ``RTCRtpSender`` (:func:`bench.aiortc_private.hook_encoded_frames`).

    - Each ``RTCEncodedFrame(payloads, timestamp, audio_level)``: for an ``av.Packet``
      aiortc leaves ``audio_level`` None. We set it to the packet's stored dBov level (a
      negative number: aiortc writes ``-audio_level`` into the RFC 6464 extension), so
      the extension goes out.
    - What a PLI/FIR triggers would do nothing with pre-encoded media: it asks the track
      for its next keyframe instead.
    """

    def after(frame) -> None:
        if track.level is not None:
            frame.audio_level = track.level

    private.hook_encoded_frames(sender, after, track.request_keyframe)


@dataclass
class _Ssrc:
    count: int = 0
    base: int = -1  # extended sequence number of the first packet counted
    top: int = -1  # highest extended sequence number seen
    last: int = -1  # last 16-bit sequence number seen (for wrap detection)
    cycles: int = 0

    def add(self, seq: int) -> None:
        if self.count == 0:
            self.base = self.top = self.last = seq
        elif (seq - self.last) & 0xFFFF < 0x8000:  # in order (or after a gap): RFC 3550 A.1
            if seq < self.last:
                self.cycles += 1  # wrapped around 2^16
            self.last = seq
            self.top = self.cycles * 0x10000 + seq
        # else: a late (reordered) packet: counted, extends nothing
        self.count += 1


#: seconds between the receiver reports a probe sends (a browser sends about one a second)
RR_INTERVAL = 1.0


@dataclass
class Probe:
    """Stamps outgoing RTP and counts incoming RTP for one salle (all its transports).

    Because received packets bypass aiortc's ``RTCRtpReceiver`` (which would send the
    RTCP receiver reports), the probe sends a minimal RR per transport every second
    (RFC 3550 section 6.4.2: cumulative loss and highest sequence; no jitter, no LSR),
    as a browser would: Séance's health (R7) counts packets acknowledged by them."""

    salle: int
    window: tuple[int, int] = (0, 0)  # [start_ns, end_ns); empty until the orchestrator says
    #: append the delay trailer; off for a server that decodes and re-encodes (the
    #: MediaRelay baseline), whose decoder the trailer would corrupt: no delay figures then
    trailer: bool = True
    #: the fast client path (:func:`fast_client`) instead of aiortc's per-packet path
    fast: bool = False
    sent: int = 0
    sent_window: int = 0
    #: packets the fast path did not send because the socket's buffer was full
    send_dropped: int = 0
    received: int = 0
    first_rx_ns: int | None = None
    ssrcs: dict[int, _Ssrc] = field(default_factory=dict)  # in the window
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
    #: ``--simulcast``: the id of the mid header extension in the video section we offered
    mid_extension_id: int = 0
    #: ``--simulcast --dynacast``: the layers Séance asked to keep sending (``layers``)
    active_layers: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(RIDS, True))
    #: ``--dynacast``: how many ``layers`` messages switched a layer off or on
    layer_changes: int = 0
    #: the transports hooked, and each one's per-SSRC counts over its life (for its RRs)
    _hooked: set[int] = field(default_factory=set)
    _lives: dict[int, dict] = field(default_factory=dict)

    def set_active_layers(self, active: list[bool]) -> None:
        """Séance's ``layers`` message (docs/protocol.md), as the kiosk applies it: the
        smallest layer always on, the others as asked (smallest first)."""
        for i, rid in enumerate(RIDS):
            on = i == 0 or (active[i] if i < len(active) else True)
            if self.active_layers[rid] != on:
                self.active_layers[rid] = on
                self.layer_changes += 1

    def count_sent(self, kind: int, t_ns: int) -> None:
        self.sent += 1
        if self.window[0] <= t_ns < self.window[1]:
            self.sent_window += 1
            self.sent_by_kind[kind] = self.sent_by_kind.get(kind, 0) + 1

    def attach(self, pc) -> None:
        """Hook every DTLS transport of ``pc`` (call before its connection starts)."""
        from aiortc.rtp import is_rtcp

        for t in pc.getTransceivers():
            if t.sender is not None and t.sender.track is not None:
                self.kinds[private.sender_ssrc(t.sender)] = KIND_AUDIO if t.kind == "audio" else KIND_VIDEO
            for dtls in {id(x): x for x in (t.sender.transport, t.receiver.transport) if x}.values():
                if id(dtls) in self._hooked:
                    continue
                self._hooked.add(id(dtls))

                def wrap(send):  # aiortc's own path: protects and sends one packet
                    async def send_rtp(data: bytes) -> None:
                        if not is_rtcp(data) and not (data[0] & 0x20):  # RTP without padding
                            t_ns = now_ns()
                            kind = self.kinds.get(int.from_bytes(data[8:12], "big"), 0)
                            if self.trailer:
                                data = data + TRAILER.pack(MAGIC, self.salle, kind, t_ns)
                            self.count_sent(kind, t_ns)
                        await send(data)

                    return send_rtp

                original_send = private.wrap_rtp_send(dtls, wrap)
                # the unprotected packet, counted: no parsing, jitter buffer or decoder
                life = self.life_of(dtls)
                private.replace_rtp_handler(dtls, lambda data, _life=life: self.count_rtp(data, _life))
                self.tasks.append(asyncio.ensure_future(self._receiver_reports(dtls, original_send, life)))
        if self.fast:
            fast_client(pc, self)
        elif self.simulcast:
            raise ValueError("--simulcast needs the fast client path")

    async def _receiver_reports(self, dtls, send, life: dict[int, _Ssrc]) -> None:
        from aiortc.rtp import RtcpReceiverInfo, RtcpRrPacket

        own = 0x5EA00000 | (self.salle & 0xFFFF)
        try:
            while dtls.state not in ("closed", "failed"):
                await asyncio.sleep(RR_INTERVAL)
                if dtls.state != "connected" or not life:
                    continue
                reports = [
                    RtcpReceiverInfo(
                        ssrc=ssrc,
                        fraction_lost=0,
                        packets_lost=max(0, st.top - st.base + 1 - st.count),
                        highest_sequence=st.top & 0xFFFFFFFF,
                        jitter=0,
                        lsr=0,
                        dlsr=0,
                    )
                    for ssrc, st in list(life.items())[:31]  # 5-bit report count
                ]
                try:
                    await send(bytes(RtcpRrPacket(ssrc=own, reports=reports)))
                except ConnectionError:
                    pass
        except asyncio.CancelledError:
            pass

    def life_of(self, dtls) -> dict[int, _Ssrc]:
        """The per-SSRC counts of one transport over its whole life (for its RRs)."""
        return self._lives.setdefault(id(dtls), {})

    def count_rtp(self, data: bytes, life: dict[int, _Ssrc]) -> None:
        """One received (unprotected) RTP packet: the transport's RR counts, then the
        window's counts and delay."""
        if len(data) >= 12:
            ssrc = int.from_bytes(data[8:12], "big")
            st = life.get(ssrc)
            if st is None:
                st = life[ssrc] = _Ssrc()
            st.add(int.from_bytes(data[2:4], "big"))
        self.handle_rtp(data)

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
            st = self.ssrcs[ssrc] = _Ssrc()
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


# -- the fast client path -------------------------------------------------------------


def fast_client(pc, probe: Probe) -> None:
    """Install the fast client path on every transport and sender of ``pc`` (call before
    the connection starts, like :meth:`Probe.attach`; the private names it needs are in
    :mod:`bench.aiortc_private`).

    - Sending: each sender's RTP loop (started by aiortc once DTLS is connected) is
      replaced by :func:`_fast_run_rtp`, or with ``--simulcast`` the video sender's by
      :func:`_simulcast_run_rtp` (three layers).
    - Receiving: every datagram aioice would queue for aiortc's receive coroutine is
      first looked at in aioice's socket callback: SRTP (first byte 128..191, not RTCP:
      RFC 7983, aiortc's ``is_rtcp``) is unprotected with the DTLS transport's receive
      session and counted at once; DTLS, SRTCP and anything before DTLS is connected
      keep aioice's queue."""
    for t in pc.getTransceivers():
        sender = t.sender
        if sender is not None and sender.track is not None and getattr(sender.track, "sample", None) is not None:
            if probe.simulcast and t.kind == "video":
                private.replace_rtp_loop(sender, _simulcast_run_rtp(sender, probe))
            else:
                private.replace_rtp_loop(sender, _fast_run_rtp(sender, probe))
        for dtls in {id(x): x for x in (t.sender.transport, t.receiver.transport) if x}.values():
            state: dict[str, Any] = {"session": None, "unprotect": None}
            life = probe.life_of(dtls)

            def datagram(data: bytes, queue, component: int, _dtls=dtls, _state=state, _life=life) -> None:
                if len(data) < 2 or not 127 < data[0] < 192 or 191 < data[1] < 209:
                    queue(data, component)
                    return
                session = private.rx_session_if_connected(_dtls)
                if session is None:
                    queue(data, component)
                    return
                if session is not _state["session"]:
                    _state["session"] = session
                    _state["unprotect"] = private.srtp_call(session, "unprotect")
                try:
                    plain = _state["unprotect"](data)
                except Exception:  # a bad tag or replay: what aiortc's receive loop drops
                    return
                probe.count_rtp(plain, _life)

            private.divert_datagrams(dtls, datagram)


def _fast_run_rtp(sender, probe: Probe):
    """aiortc 1.16 ``RTCRtpSender._run_rtp`` without its per-packet objects: the same
    frames (``track.recv()``, ``encoder.pack``), sequence numbers, timestamps, marker
    bit, mid and audio-level extensions and sender-report bookkeeping; each packet is
    a copy of a header serialized once by aiortc, patched in place, then protected and
    sent synchronously (:func:`bench.aiortc_private.direct_rtp_sender`). aiortc's RTP history is
    not filled, so a NACK from the server is not answered: a packet lost on the way in
    stays lost and counts in ``loss_pct``, as it should for a benchmark."""
    from aiortc import clock
    from aiortc.rtcrtpsender import random_sequence_number
    from aiortc.rtp import RtpPacket
    from aiortc.utils import random32, uint16_add, uint32_add

    track = sender.track
    kind = KIND_AUDIO if track.kind == "audio" else KIND_VIDEO
    state = private.SenderState(sender)

    async def run_rtp(codec) -> None:
        state.started()
        try:
            send = private.direct_rtp_sender(sender.transport)
            # the header aiortc would write, once: seq/timestamp at 2..7, the marker bit
            # in byte 1, the audio level (RFC 6464: V bit + level) at a found offset
            template_packet = RtpPacket(payload_type=codec.payloadType, sequence_number=0, timestamp=0)
            template_packet.ssrc = private.sender_ssrc(sender)
            template_packet.extensions.mid = state.mid
            level_at = None
            if kind == KIND_AUDIO:
                template_packet.extensions.audio_level = (False, 0x55)
            header = bytearray(template_packet.serialize(state.extensions_map))
            if kind == KIND_AUDIO:
                level_at = header.find(b"\x55", 12)
                level_at = level_at if level_at >= 12 else None
            seq = random_sequence_number()
            origin = random32()
            trailer = TRAILER.pack(MAGIC, probe.salle, kind, 0)[:-8] if probe.trailer else None
            pack_into = struct.pack_into
            while True:
                enc = await private.next_encoded_frame(sender, codec)
                if enc is None:
                    continue
                payloads, ts = enc.payloads, uint32_add(origin, enc.timestamp)
                last = len(payloads) - 1
                octets = 0
                for i, payload in enumerate(payloads):
                    packet = header + payload
                    pack_into("!HI", packet, 2, seq, ts)
                    if i == last:
                        packet[1] |= 0x80
                    if level_at is not None and enc.audio_level is not None:
                        packet[level_at] = (-enc.audio_level) & 0x7F
                    t_ns = now_ns()
                    if trailer is not None:
                        packet += trailer
                        packet += t_ns.to_bytes(8, "big", signed=True)
                    try:
                        send(packet)
                    except private.SendBufferFull:
                        probe.send_dropped += 1
                    probe.count_sent(kind, t_ns)
                    octets += len(payload)
                    seq = uint16_add(seq, 1)
                # what aiortc's sender reports are made of (RFC 3550 6.4.1)
                state.report(clock.current_ntp_time(), ts, octets, last + 1)
        except (asyncio.CancelledError, ConnectionError):
            pass
        finally:
            state.exited()

    return run_rtp


def _simulcast_run_rtp(sender, probe: Probe):
    """``--simulcast``: the video sender's RTP loop sends three layers instead of one, as
    Chromium's simulcast encoder does (:mod:`bench.simulcast`): each layer its own
    pre-encoded sample (``bench.samples.SIMULCAST_LAYERS``) paced in real time, its own
    SSRC, sequence numbers, VP8 picture ids (its own aiortc VP8 payloader) and keyframes,
    every packet carrying the mid and its rid. The largest layer takes the sender's own
    SSRC, so aiortc's sender reports describe it. A PLI or FIR for a layer's SSRC makes
    that layer jump to its next keyframe (aiortc routes feedback only to the SSRC it
    knows: :func:`bench.aiortc_private.watch_rtcp` sees it first)."""
    import random

    from aiortc import clock
    from aiortc.codecs import get_encoder
    from aiortc.rtcrtpsender import random_sequence_number
    from aiortc.rtp import RTCP_PSFB_PLI, RtcpPacket, RtcpPsfbPacket
    from aiortc.utils import random32, uint16_add, uint32_add

    state = private.SenderState(sender)
    start = probe.salle * 173  # as the other tracks: speakers differ, layers stay aligned
    layers = []
    for rid in RIDS:
        ssrc = private.sender_ssrc(sender) if rid == RIDS[-1] else random.getrandbits(32)
        layers.append({"rid": rid, "ssrc": ssrc, "track": PacketTrack(probe.simulcast[rid], start=start)})
        probe.kinds[ssrc] = layer_kind(rid)
    by_ssrc = {layer["ssrc"]: layer for layer in layers}

    def rtcp(data: bytes) -> None:
        try:
            packets = RtcpPacket.parse(data)
        except ValueError:
            return
        for packet in packets:
            # PLI (RFC 4585 6.3.1) or FIR (RFC 5104 4.3.1, fmt 4)
            if isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, 4):
                layer = by_ssrc.get(packet.media_ssrc)
                if layer is not None:
                    layer["track"].request_keyframe()

    private.watch_rtcp(sender.transport, rtcp)

    async def run_layer(layer: dict, codec, send, mid_id: int) -> None:
        kind = layer_kind(layer["rid"])
        encoder = get_encoder(codec)  # aiortc's VP8 payloader: descriptor, picture ids
        header = layer_header(codec.payloadType, layer["ssrc"], mid_id, state.mid or "", layer["rid"])
        seq, origin = random_sequence_number(), random32()
        trailer = TRAILER.pack(MAGIC, probe.salle, kind, 0)[:-8] if probe.trailer else None
        own = layer["ssrc"] == private.sender_ssrc(sender)
        was_on = True
        while True:
            on = probe.active_layers[layer["rid"]]
            if on and not was_on:  # an encoding switched back on starts with a keyframe
                layer["track"].request_keyframe()
            was_on = on
            frame = await layer["track"].recv()  # paced even when off: the layers stay aligned
            if not on:
                continue
            payloads, timestamp = encoder.pack(frame)
            ts = uint32_add(origin, timestamp)
            last = len(payloads) - 1
            octets = 0
            for i, payload in enumerate(payloads):
                packet = header + payload
                struct.pack_into("!HI", packet, 2, seq, ts)
                if i == last:
                    packet[1] |= 0x80
                t_ns = now_ns()
                if trailer is not None:
                    packet += trailer
                    packet += t_ns.to_bytes(8, "big", signed=True)
                try:
                    send(packet)
                except private.SendBufferFull:
                    probe.send_dropped += 1
                probe.count_sent(kind, t_ns)
                octets += len(payload)
                seq = uint16_add(seq, 1)
            if own:
                state.report(clock.current_ntp_time(), ts, octets, last + 1)

    async def run_rtp(codec) -> None:
        state.started()
        try:
            send = private.direct_rtp_sender(sender.transport)
            mid_id = probe.mid_extension_id
            await asyncio.gather(*(run_layer(layer, codec, send, mid_id) for layer in layers))
        except (asyncio.CancelledError, ConnectionError):
            pass
        finally:
            state.exited()

    return run_rtp


# -- targets ------------------------------------------------------------------------


async def _wait_connected(pc, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while pc.connectionState != "connected":
        if pc.connectionState in ("failed", "closed") or time.monotonic() > deadline:
            raise ConnectionError(f"peer connection {pc.connectionState}")
        await asyncio.sleep(0.02)


def _add_media(pc, audio, video, salle: int):
    tracks = []
    for sample in (audio, video):
        track = PacketTrack(sample, start=salle * 173)  # 173: coprime with both loop lengths
        tr = pc.addTransceiver(track, direction="sendonly")
        hook_sender(tr.sender, track)
        tracks.append(track)
    return tracks


@dataclass
class Salle:
    index: int
    probe: Probe
    t_start: int = 0
    t_published: int | None = None
    expected_streams: int = 0
    pcs: list = field(default_factory=list)
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


def offer_simulcast(probe: Probe, sdp: str) -> tuple[str, str]:
    """``--simulcast``: aiortc's offer rewritten as Chromium offers three layers
    (:func:`bench.simulcast.simulcast_offer`); returns it and the video section's mid."""
    offer, mid, probe.mid_extension_id = simulcast_offer(sdp)
    return offer, mid


async def join_janus(s: Salle, cfg: dict, audio, video) -> None:
    from aiortc import RTCSessionDescription

    from bench.janus import JanusError, JanusSession

    n, room = cfg["n_salles"], cfg["room"]
    session = JanusSession(cfg["url"])
    await session.__aenter__()
    s.pcs.append(session)
    pub = new_peer_connection()
    s.pcs.append(pub)
    h = await session.attach()
    await session.message(
        h, {"request": "join", "ptype": "publisher", "room": room, "id": 1000 + s.index, "display": f"salle-{s.index}"}
    )
    _add_media(pub, audio, video, s.index)
    s.probe.attach(pub)
    await pub.setLocalDescription(await pub.createOffer())
    offer: dict[str, Any] = {"type": "offer", "sdp": pub.localDescription.sdp}
    if s.probe.simulcast:
        offer["sdp"], mid = offer_simulcast(s.probe, offer["sdp"])
        offer["rid_order"] = "lmh"  # Janus 1.1 takes the first rid as the largest unless told
    _, jsep = await session.message(h, {"request": "publish", "audio": True, "video": True}, jsep=offer)
    if s.probe.simulcast:
        s.probe.answered_rids = answered_rids(jsep["sdp"], mid)
    await pub.setRemoteDescription(RTCSessionDescription(jsep["sdp"], "answer"))
    await _wait_connected(pub, cfg.get("join_timeout", 20))
    s.t_published = now_ns()

    vids, auds = subscriptions(s.index, n, cfg.get("voices", 3))
    video: dict[str, Any] = {"mid": "1"}
    if s.probe.simulcast:  # the layer each subscriber receives (substream 0 the smallest)
        video["substream"] = RIDS.index(cfg.get("simulcast_layer", RIDS[-1]))
    streams = [{"feed": 1000 + j, **video} for j in vids] + [{"feed": 1000 + j, "mid": "0"} for j in auds]
    s.expected_streams = len(streams)
    if not streams:
        return
    sh = await session.attach()
    deadline = time.monotonic() + cfg.get("join_timeout", 20)
    while True:  # the others may not have published yet: retry, bounded
        try:
            _, offer = await session.message(
                sh, {"request": "join", "ptype": "subscriber", "room": room, "streams": streams}
            )
            break
        except JanusError as exc:
            if time.monotonic() > deadline:
                raise
            if exc.code not in (428, 429, 432):  # no such feed / missing element / not published
                raise
            await asyncio.sleep(0.2)
    sub = new_peer_connection()
    s.pcs.append(sub)
    await sub.setRemoteDescription(RTCSessionDescription(offer["sdp"], offer["type"]))
    s.probe.attach(sub)
    await sub.setLocalDescription(await sub.createAnswer())
    await session.message(sh, {"request": "start"}, jsep={"type": "answer", "sdp": sub.localDescription.sdp})
    await _wait_connected(sub, cfg.get("join_timeout", 20))
    await _await_streams(s, cfg.get("join_timeout", 20))


async def join_direct(pair: tuple[Salle, Salle], cfg: dict, audio, video) -> None:
    """The zero of the delay: salle 0 publishes straight to salle 1, no server."""
    pub_s, sub_s = pair
    pub, sub = new_peer_connection(), new_peer_connection()
    pub_s.pcs.append(pub)
    sub_s.pcs.append(sub)
    _add_media(pub, audio, video, pub_s.index)
    pub_s.probe.attach(pub)
    await pub.setLocalDescription(await pub.createOffer())
    await sub.setRemoteDescription(pub.localDescription)
    sub_s.probe.attach(sub)
    await sub.setLocalDescription(await sub.createAnswer())
    await pub.setRemoteDescription(sub.localDescription)
    await _wait_connected(pub, cfg.get("join_timeout", 20))
    pub_s.t_published = sub_s.t_published = now_ns()
    sub_s.expected_streams = 2
    await _await_streams(sub_s, cfg.get("join_timeout", 20))


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
    try:
        private.require_surface()  # a library upgrade stops the run here, saying what moved
    except private.SurfaceError as exc:
        _emit({"event": "error", "error": str(exc)})
        return 4
    local_candidates_only(cfg.get("ice_addresses") or ["127.0.0.1"])
    audio, video = ensure_samples(Path(cfg["cache_dir"]))
    layers = layer_samples(Path(cfg["cache_dir"])) if cfg.get("simulcast") and cfg["target"] != "direct" else {}
    salles = [
        Salle(
            i,
            Probe(i, trailer=cfg.get("trailer", True), fast=cfg.get("client_path", "fast") == "fast", simulcast=layers),
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
            for obj in reversed(s.pcs):
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
    os._exit(code)  # do not wait on aiortc's decoder threads of unused receivers
