"""A Producer: one incoming track (audio or video) of a salle.

Fed raw RTP bytes by its connection (:mod:`sfu.transport.connection`), it counts them for health and
metrics, reads the RFC 6464 audio level for speaker detection, drops what must not
be forwarded (server-side mute, audio-only, RTX probes), keeps a short packet cache
for NACKs, and hands each packet to the Consumers attached to it. Towards the
publisher it sends RTCP receiver reports (RFC 3550 section 6.4.2) with a REMB
(``remb_bps``: what its subscribers can take, set by the Router), and PLIs (RFC 4585 section 6.3.1) when a
consumer needs a key frame, rate-limited. A subscriber's own PLI/FIR is throttled
further (:meth:`Producer.keyframe_wanted`): one weak salle must not make every other
salle's camera emit key frames.
"""

from __future__ import annotations

import asyncio
import logging
import random
import struct
import time
from typing import TYPE_CHECKING, Any, Protocol

from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    pack_remb_fci,
)

from .adaptation import RateMeter
from .consumer import Consumer
from .packet_cache import PacketCache
from .rtp_rewrite import (
    TID_MASK,
    URI_AUDIO_LEVEL,
    audio_level,
    extension_table,
    is_keyframe_at,
    rtp_layout,
    vp8_descriptor,
    vp8_descriptor_fits,
    vp8_temporal,
)
from .simulcast import SimulcastOffer, rid_of

if TYPE_CHECKING:
    from .metrics import SfuCounters
    from .router import Router

logger = logging.getLogger(__name__)


class ProducerOwner(Protocol):
    """What a Producer needs of the salle that publishes it: a browser's
    :class:`sfu.peer.Peer`, or a cascade edge's :class:`sfu.cascade.UpstreamSlot`."""

    router: Router
    peer_id: str
    salle_id: str | None
    counters: SfuCounters
    health: Any
    producers: dict[str, Producer]

    def hook_error(self, where: str, exc: BaseException) -> None: ...


def start_producer(
    owner: ProducerOwner, receiver: Any, parameters: Any, simulcast: SimulcastOffer | None = None
) -> Producer:
    """The Producer of ``receiver`` (a :class:`sfu.transport.connection.Receiver` whose
    connection is keyed; its simulcast layers if the kiosk offered them) for ``owner``: it replaces the owner's previous one of that kind,
    takes the receiver's packets, and is announced to the Router."""
    kind = receiver.seance_kind
    old = owner.producers.pop(kind, None)
    if old is not None:
        old.close()
    producer = Producer(owner, receiver, kind, parameters, simulcast=simulcast)
    receiver.seance_handler = producer
    owner.producers[kind] = producer
    producer.start()
    owner.router.producer_added(owner, producer)
    return producer


def stop_producer(owner: ProducerOwner, producer: Producer) -> None:
    """``producer`` ends (its receiver stopped, or its owner goes): it no longer takes
    the receiver's packets, the owner forgets it, the Router is told."""
    if producer.receiver.seance_handler is producer:
        producer.receiver.seance_handler = None
    if owner.producers.get(producer.kind) is producer:
        del owner.producers[producer.kind]
    producer.close()
    owner.router.producer_removed(owner, producer)


_SEQ_TS_SSRC = struct.Struct("!HII")


class Codec:
    __slots__ = ("clock_rate", "name", "payload_type")

    def __init__(self, name: str, clock_rate: int, payload_type: int) -> None:
        self.name = name
        self.clock_rate = clock_rate
        self.payload_type = payload_type


class Producer:
    def __init__(
        self,
        peer: ProducerOwner,
        receiver: Any,
        kind: str,
        parameters: Any,
        simulcast: SimulcastOffer | None = None,
        track: Producer | None = None,
        rid: str | None = None,
        spatial: int = 0,
    ) -> None:
        self.peer = peer
        #: the salle's track this producer is a simulcast layer of (itself when it is the track)
        self.track: Producer = track if track is not None else self
        self.rid = rid
        self.spatial = spatial  #: 0: the smallest picture
        self.arrived_at: float | None = None  # its last packet (an active layer)
        self.started_at: float | None = None  # its first packet after a second without any
        self.router = peer.router
        self.receiver = receiver
        self.kind = kind
        self.salle_id: str = peer.salle_id or peer.peer_id
        self.counters = peer.counters
        self.codecs: dict[int, Codec] = {}
        self.rtx_payload_types: set[int] = set()
        self.rtx_apt: dict[int, int] = {}  # RTX payload type -> original (RFC 4588)
        for c in parameters.codecs:
            if c.name.lower() == "rtx":
                self.rtx_payload_types.add(c.payloadType)
                apt = c.parameters.get("apt")
                if isinstance(apt, int):
                    self.rtx_apt[c.payloadType] = apt
            else:
                self.codecs[c.payloadType] = Codec(c.name.lower(), c.clockRate, c.payloadType)
        # payload types whose packets carry a VP8 payload descriptor (RTX ones after
        # their 2-byte original sequence number): checked before anything reads it
        self.vp8_payload_types = {pt for pt, c in self.codecs.items() if c.name == "vp8"}
        self.vp8_payload_types |= {r for r, apt in self.rtx_apt.items() if apt in self.vp8_payload_types}
        self.extensions: dict[int, str] = {e.id: e.uri for e in parameters.headerExtensions}
        self._tables: dict[int, bytes] = {}  # by Consumer.extension_key
        self.audio_level_id = next((i for i, uri in self.extensions.items() if uri == URI_AUDIO_LEVEL), 0)
        self.ssrc: int | None = next((e.ssrc for e in parameters.encodings), None)
        self.cache = PacketCache(peer.router.config.packet_cache_size)
        self.consumers: list[Consumer] = []
        self.muted = False  # audio: server-side mute
        self.paused = False  # video: audio-only salle
        self.closed = False
        self.octets_in = 0  # RTP octets received (sfu.traffic)
        self.rate = RateMeter()  # its bitrate, sampled by the Router (sfu.adaptation)
        # VP8 temporal layers (RFC 7741 section 4.2, the TID of each packet): octets and
        # last arrival per TID, and each TID's bitrate (the Router samples them)
        self.temporal_octets = [0] * (TID_MASK + 1)
        self.temporal_at: list[float | None] = [None] * (TID_MASK + 1)
        self.temporal_rates = tuple(RateMeter() for _ in range(TID_MASK + 1))
        #: the REMB sent to the publisher (the Router's adaptation sets it from demand)
        self.remb_bps: int = peer.router.config.max_video_bitrate
        # sender report of the publisher: (ntp, rtp timestamp, monotonic arrival)
        self.last_sr: tuple[int, int, float] | None = None
        self._last_keyframe_request = -1e9
        self.keyframe_at: float | None = None  # when the last key frame's packets arrived
        self.loss_fraction: float | None = None  # of its last receiver report (the salle's uplink)
        # receive statistics (RFC 3550 appendix A.3 and A.8)
        self._base_seq: int | None = None
        self._max_seq = 0
        self._cycles = 0
        self._received = 0
        self._expected_prior = 0
        self._received_prior = 0
        self._transit: float | None = None
        self._jitter = 0.0
        self._clock_rate = next(iter(self.codecs.values())).clock_rate if self.codecs else 90000
        self._rtcp_task: asyncio.Task | None = None
        self._pending: set[asyncio.Task] = set()
        # simulcast (sfu.simulcast): the track holds one Producer per layer, smallest first,
        # and hands each packet to its layer by SSRC, learned from the rid extensions
        self.simulcast = simulcast if kind == "video" and track is None else None
        self.layers: tuple[Producer, ...] = ()
        self._by_ssrc: dict[int, Producer] = {}
        self._rtx_ssrcs: set[int] = set()
        if self.simulcast is not None:
            self.ssrc = None
            self.layers = tuple(
                Producer(peer, receiver, kind, parameters, track=self, rid=r, spatial=i)
                for i, r in enumerate(self.simulcast.rids)
            )

    # lifecycle ----------------------------------------------------------------
    def start(self) -> None:
        self._rtcp_task = asyncio.get_running_loop().create_task(self._run_rtcp())

    def close(self) -> None:
        self.closed = True
        if self._rtcp_task is not None:
            self._rtcp_task.cancel()
        for layer in self.layers:
            layer.close()
        for consumer in list(self.consumers):
            consumer.source_gone(self)
        self.consumers.clear()
        self.cache.clear()

    def attach(self, consumer: Consumer) -> None:
        if consumer not in self.consumers:
            self.consumers.append(consumer)

    def detach(self, consumer: Consumer) -> None:
        try:
            self.consumers.remove(consumer)
        except ValueError:
            pass

    # hot path -------------------------------------------------------------------
    def on_rtp(self, data: bytes, arrival_time_ms: int, layout: tuple[int, int] | None = None) -> None:
        """One unprotected RTP packet of this track; ``layout`` is its
        :func:`sfu.rtp_rewrite.rtp_layout` when the caller already checked it."""
        counters = self.counters
        if layout is None:
            layout = rtp_layout(data)
        if self.layers and layout is not None:
            layer = self._by_ssrc.get(int.from_bytes(data[8:12], "big"))
            if layer is None:
                layer = self._learn_layer(data)
                if layer is None:
                    counters.dropped["unknown_layer"] += 1
                    return
            layer.on_rtp(data, arrival_time_ms, layout)
            return
        pt = data[1] & 0x7F if layout is not None else -1
        codec = self.codecs.get(pt)
        if layout is None or (
            pt in self.vp8_payload_types
            and not vp8_descriptor_fits(data, layout[0] + (2 if codec is None else 0), layout[1])
        ):
            counters.dropped["malformed"] += 1
            return
        p, end = layout
        now = time.monotonic()
        kind = self.kind
        counters.packets_in[kind] += 1
        counters.bytes_in[kind] += len(data)
        size = len(data)
        track = self.track
        track.octets_in += size  # per salle traffic (sfu.traffic)
        if track is not self:
            track.arrived_at = now
        health = self.peer.health
        if health is not None:
            health.packet_in(now)
        if codec is None:
            if pt in self.rtx_apt:
                data = self._unwrap_rtx(data, p, end)
                if data is None:
                    counters.dropped["rtx"] += 1
                    return
                end -= 2
                pt = data[1] & 0x7F
                codec = self.codecs.get(pt)
            if codec is None:
                counters.dropped["unknown_payload_type"] += 1
                return
            seq, ts, ssrc = _SEQ_TS_SSRC.unpack_from(data, 2)
            counters.recovered += 1
        else:
            seq, ts, ssrc = _SEQ_TS_SSRC.unpack_from(data, 2)
            if ssrc != self.ssrc:
                if self.ssrc is not None and self._base_seq is not None:
                    self._base_seq = None  # the publisher restarted its stream
                self.ssrc = ssrc
            if kind == "video" and self._base_seq is not None:
                gap = (seq - self._max_seq) & 0xFFFF
                if 1 < gap <= 64:  # lost upstream: ask the publisher (RFC 4585 6.2.1)
                    self._nack([(self._max_seq + i) & 0xFFFF for i in range(1, gap)])
            self._update_stats(seq, ts, arrival_time_ms)
        if track is not self:
            # a layer's rate is what forwarding it costs: its media and repairs, not the
            # padding probes of the publisher's bandwidth estimation (dropped above), which
            # Chromium sends on its smallest layer's RTX stream while its estimate ramps up
            self.octets_in += size
            if self.arrived_at is None or now - self.arrived_at > 1.0:
                self.started_at = now  # a layer (re)started: its rate is not measured yet
            self.arrived_at = now
        if kind == "audio":
            if self.audio_level_id:
                level = audio_level(data, self.audio_level_id)
                if level is not None and not self.muted:
                    self.router.observe_level(self.salle_id, level, now)
            if self.muted:
                counters.dropped["muted"] += 1
                return
        elif track.paused:
            counters.dropped["audio_only"] += 1
            return
        vp8 = None
        temporal = -1
        if kind != "video":
            keyframe = False
        elif codec.name == "vp8" and p < end:
            # one parse of the descriptor for every consumer (checked to fit above)
            h, pid_at, bits, tl0_at = vp8_descriptor(data, p)
            b0 = data[p]
            keyframe = bool(b0 & 0x10) and not b0 & 0x07 and h < end and not data[h] & 0x01
            vp8 = (pid_at, bits, tl0_at)
            temporal = vp8_temporal(data, p, h)
            if temporal >= 0:
                tid = temporal & TID_MASK
                self.temporal_octets[tid] += size
                self.temporal_at[tid] = now
        else:
            keyframe = is_keyframe_at(codec.name, data, p, end)
        if keyframe:
            self.keyframe_at = now
        self.cache.put(seq, data, now)
        consumers = self.consumers
        if not consumers:
            return
        Consumer.fan_out(self, tuple(consumers), data, codec, seq, ts, keyframe, now, vp8, temporal)

    def _learn_layer(self, data: bytes) -> Producer | None:
        """The layer of a packet from an SSRC not seen yet, by its rid extension (its
        ``repaired-rtp-stream-id`` for an RTX packet, RFC 8852 section 3.2); the SSRC is
        then that layer's (a publisher that restarts a layer's stream replaces it)."""
        offer = self.simulcast
        assert offer is not None
        ssrc = int.from_bytes(data[8:12], "big")
        rtx = (data[1] & 0x7F) in self.rtx_apt
        ext_id = offer.repaired_rid_id if rtx else offer.rid_id
        rid = rid_of(data, ext_id) if ext_id else None
        layer = next((layer for layer in self.layers if layer.rid == rid), None)
        if layer is None:
            return None
        for old in [k for k, v in self._by_ssrc.items() if v is layer and (k in self._rtx_ssrcs) == rtx]:
            del self._by_ssrc[old]
            self._rtx_ssrcs.discard(old)
        self._by_ssrc[ssrc] = layer
        if rtx:
            self._rtx_ssrcs.add(ssrc)
        return layer

    def sample_rates(self, now: float) -> None:
        """Sample its bitrate and each temporal layer's (the Router's adaptation tick)."""
        self.rate.sample(now, self.octets_in)
        for tid, at in enumerate(self.temporal_at):
            if at is not None:
                self.temporal_rates[tid].sample(now, self.temporal_octets[tid])

    def temporal_top(self, now: float, within: float = 1.0) -> int:
        """The highest TID it sent within ``within`` seconds (RFC 7741: a VP8 encoder with
        temporal layers, Chromium's L1T3 gives 0..2); -1 when its packets carry none."""
        top = -1
        for tid, at in enumerate(self.temporal_at):
            if at is not None and now - at < within:
                top = tid
        return top

    def temporal_bps(self, tid: int) -> float:
        """What forwarding its temporal layers up to ``tid`` costs: their bitrates summed
        (a temporal layer is decoded with the ones below it)."""
        return sum(r.bps() for r in self.temporal_rates[: tid + 1])

    def streams(self) -> tuple[Producer, ...]:
        """The RTP streams of this track: its layers, or itself without simulcast."""
        return self.layers or (self,)

    def active_layers(self, now: float, within: float = 1.0) -> list[Producer]:
        """Its layers that sent a packet within ``within`` seconds, smallest first (a
        publisher short of uplink, or told to, stops its larger encodings)."""
        return [p for p in self.streams() if p.arrived_at is not None and now - p.arrived_at < within]

    def select(self, spatial: int | None, now: float | None = None) -> Producer:
        """The stream to forward for a wish of layer ``spatial`` (None: the largest): the
        largest active layer at or below it, else the smallest active one; before any
        layer is active, the smallest (the one a browser starts with)."""
        if not self.layers:
            return self
        active = self.active_layers(time.monotonic() if now is None else now)
        if not active:
            return self.layers[0]
        if spatial is None:
            return active[-1]
        fitting = [p for p in active if p.spatial <= spatial]
        return fitting[-1] if fitting else active[0]

    def extension_table(self, consumer: Consumer) -> bytes:
        """The translation of this producer's extension ids into ``consumer``'s, one
        object per distinct set of consumer ids (so ``bodies`` is shared)."""
        table = self._tables.get(consumer.extension_key)
        if table is None:
            table = self._tables[consumer.extension_key] = extension_table(self.extensions, consumer.extensions)
        return table

    def _unwrap_rtx(self, data: bytes, p: int, end: int) -> bytes | None:
        """Original packet of an RTX retransmission (RFC 4588 section 4), or None for
        padding probes, unknown streams and packets already forwarded. ``data[p:end]``
        is the RTX payload (a well-formed packet: see :func:`rtp_layout`)."""
        if end - p < 2 or self.ssrc is None:
            return None
        osn = (data[p] << 8) | data[p + 1]
        if self.cache.get(osn) is not None:
            return None  # already have it
        buf = bytearray(data[:p]) + data[p + 2 :]
        buf[1] = (buf[1] & 0x80) | self.rtx_apt[data[1] & 0x7F]
        struct.pack_into("!H", buf, 2, osn)
        struct.pack_into("!I", buf, 8, self.ssrc)
        return bytes(buf)

    def _nack(self, lost: list[int]) -> None:
        rtcp_ssrc = self.receiver.seance_rtcp_ssrc
        if rtcp_ssrc is None or self.ssrc is None:
            return
        # aiortc packs each lost number's distance to its PID (RFC 4585 6.2.1) without the
        # modulo: a list across the sequence wrap (…, 0xFFFF, 0, …) raised, the packet that
        # revealed the loss lost with it. One NACK each side of the wrap.
        wrap = next((i for i in range(1, len(lost)) if lost[i] < lost[i - 1]), len(lost))
        data = b""
        for part in (lost[:wrap], lost[wrap:]):
            if part:
                packet = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=rtcp_ssrc, media_ssrc=self.ssrc)
                packet.lost = part
                data += bytes(packet)
        self.counters.nacks_sent += 1
        self._send_soon(data)

    def _update_stats(self, seq: int, ts: int, arrival_time_ms: int) -> None:
        if self._base_seq is None:
            self._base_seq = seq
            self._max_seq = seq
            self._cycles = 0
            self._received = 0
            self._expected_prior = 0
            self._received_prior = 0
            self._transit = None
        else:
            delta = (seq - self._max_seq) & 0xFFFF
            if 0 < delta < 0x8000:
                if seq < self._max_seq:
                    self._cycles += 0x10000
                self._max_seq = seq
        self._received += 1
        transit = arrival_time_ms * self._clock_rate / 1000.0 - ts
        if self._transit is not None:
            d = abs(transit - self._transit)
            if d < self._clock_rate * 10:  # ignore timestamp jumps
                self._jitter += (d - self._jitter) / 16.0
        self._transit = transit

    # RTCP from the publisher -------------------------------------------------------
    def on_rtcp(self, packet: Any) -> None:
        if isinstance(packet, RtcpSrPacket):
            info = packet.sender_info
            stream = self._by_ssrc.get(packet.ssrc, self) if self.layers else self
            stream.last_sr = (info.ntp_timestamp, info.rtp_timestamp, time.monotonic())

    # RTCP to the publisher ---------------------------------------------------------
    def request_keyframe(self, force: bool = False) -> bool:
        """Send a PLI to the publisher, at most once per configured interval (to every
        layer of a simulcast track)."""
        if self.layers:
            sent = [layer.request_keyframe(force) for layer in self.layers]  # every layer asked
            return any(sent)
        if self.kind != "video" or self.closed or self.ssrc is None:
            return False
        now = time.monotonic()
        interval = self.router.config.keyframe_request_interval
        if now - self._last_keyframe_request < interval:
            return False
        self._send_pli(now)
        return True

    def keyframe_wanted(self, consumer: Consumer, now: float | None = None) -> bool:
        """A subscriber lost its picture (its PLI, RFC 4585 section 6.3.1, or FIR, RFC 5104
        section 4.3.1): ask the publisher only when nothing already answers it, as
        mediasoup's ``KeyFrameRequestManager`` and LiveKit's PLI throttle do. Returns
        whether a PLI was sent. Absorbed (``plis_absorbed``):

        - while a request is outstanding (sent less than ``keyframe_retry_interval`` ago,
          no key frame since): the coming key frame answers every subscriber at once;
        - a subscriber's request within ``subscriber_keyframe_interval`` of its previous
          one: a salle whose link is too small for the stream loses pictures again and
          again, and each key frame it causes is a burst of several frames' size for every
          other salle (issue 11 measured 12.7 key frames a minute instead of 1-3). Its
          allocation (a lower layer, or the slot paused) is the remedy, not more key frames;
        - any request within ``keyframe_relay_interval`` of the last one sent to this
          publisher, whoever asked.
        """
        if self.kind != "video" or self.closed or self.ssrc is None:
            return False
        now = time.monotonic() if now is None else now
        config = self.router.config
        last = self._last_keyframe_request
        outstanding = now - last < config.keyframe_retry_interval and (
            self.keyframe_at is None or self.keyframe_at < last
        )
        asked = consumer.keyframe_asked_at
        too_soon = asked is not None and now - asked < config.subscriber_keyframe_interval
        if outstanding or too_soon or now - last < config.keyframe_relay_interval:
            self.counters.plis_absorbed += 1
            return False
        consumer.keyframe_asked_at = now
        self._send_pli(now)
        return True

    def _send_pli(self, now: float) -> None:
        self._last_keyframe_request = now
        rtcp_ssrc = self.receiver.seance_rtcp_ssrc or 0
        pli = RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=rtcp_ssrc, media_ssrc=self.ssrc)
        self.counters.keyframe_requests_sent += 1
        self._send_soon(bytes(pli))

    def _send_soon(self, data: bytes) -> None:
        task = asyncio.get_running_loop().create_task(self._send_rtcp(data))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _send_rtcp(self, data: bytes) -> None:
        try:
            await self.receiver.send_rtcp(data)
        except ConnectionError:
            pass
        except Exception as exc:
            self.peer.hook_error("producer.rtcp_send", exc)

    def receiver_report(self) -> RtcpReceiverInfo | None:
        if self._base_seq is None or self.ssrc is None:
            return None
        extended_max = self._cycles + self._max_seq
        expected = extended_max - self._base_seq + 1
        lost = expected - self._received
        expected_interval = expected - self._expected_prior
        received_interval = self._received - self._received_prior
        self._expected_prior = expected
        self._received_prior = self._received
        lost_interval = expected_interval - received_interval
        fraction = 0
        if expected_interval > 0 and lost_interval > 0:
            fraction = min(255, (lost_interval << 8) // expected_interval)
        # nothing expected (a camera stopped, audio-only): no figure rather than a stale one
        self.loss_fraction = fraction / 256 if expected_interval > 0 else None
        lsr = dlsr = 0
        if self.last_sr is not None:
            ntp, _, at = self.last_sr
            lsr = (ntp >> 16) & 0xFFFFFFFF
            dlsr = int((time.monotonic() - at) * 65536) & 0xFFFFFFFF
        return RtcpReceiverInfo(
            ssrc=self.ssrc,
            fraction_lost=fraction,
            packets_lost=max(-(1 << 23), min((1 << 23) - 1, lost)),
            highest_sequence=extended_max & 0xFFFFFFFF,
            jitter=int(self._jitter) & 0xFFFFFFFF,
            lsr=lsr,
            dlsr=dlsr,
        )

    async def _run_rtcp(self) -> None:
        try:
            while not self.closed:
                await asyncio.sleep(0.5 + random.random())
                reports = [r for p in self.streams() if (r := p.receiver_report()) is not None]
                rtcp_ssrc = self.receiver.seance_rtcp_ssrc
                if not reports or rtcp_ssrc is None:
                    continue
                if self.layers:
                    # the track's uplink loss is its smallest layer's: what the salle needs
                    # to send a picture at all (R3). A larger layer squeezed by a small
                    # uplink loses most of its packets while the smallest goes through (the
                    # worst of the layers, 97 % at 600/300 kbit/s, sent a salle audio-only)
                    self.loss_fraction = self.layers[0].loss_fraction
                data = bytes(RtcpRrPacket(ssrc=rtcp_ssrc, reports=reports))
                if self.kind == "video":
                    data += bytes(
                        RtcpPsfbPacket(
                            fmt=RTCP_PSFB_APP,
                            ssrc=rtcp_ssrc,
                            media_ssrc=0,
                            fci=pack_remb_fci(self.remb_bps, [r.ssrc for r in reports]),
                        )
                    )
                await self._send_rtcp(data)
        except asyncio.CancelledError:
            pass
        except Exception as exc:
            self.peer.hook_error("producer.rtcp_task", exc)
