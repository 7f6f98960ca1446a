"""A Consumer: one receive slot of one subscriber (a salle kiosk or a viewer).

It owns a sender of its subscriber's connection (:class:`sfu.transport.connection.Sender`)
and rewrites each packet of its
current source Producer for the subscriber: SSRC, payload type, sequence number and
timestamp (continuous across source switches, :class:`sfu.rtp_rewrite.SequenceMapper`),
header extension ids (the publisher's ``mid`` stripped), VP8 PictureID/TL0PICIDX.

A video slot switches to a new source on the new source's key frame (a PLI is sent
to it at once), forwarding the old source until then; an audio slot switches at the
next packet. Towards the subscriber it answers NACKs (RFC 4585 section 6.2.1) from
the producer's packet cache — as RTX packets (RFC 4588) on the retransmission stream the
answer announces when the subscriber negotiated ``rtx`` (browsers do), as Chromium
expects them: counted apart from the media, its repairs not taken for the stream's
own packets — passes PLI/FIR on to the current source (which throttles
them: :meth:`sfu.producer.Producer.keyframe_wanted`; during a switch the pending
source's key frame answers them), feeds the subscriber's health from its receiver reports, and sends
RTCP sender reports mapped from the source's (RFC 3550 section 6.4.1) so the
browser can relate RTP time to wall-clock time (lip-sync). Its receiver reports' loss
and the browser's REMB feed the subscriber's downlink estimate (:mod:`sfu.adaptation`);
a video slot the subscriber cannot carry is *paused* (nothing forwarded) and resumes on
a key frame of its source, continuous as a switch is.
"""

from __future__ import annotations

import asyncio
import logging
import random
import struct
import time
from typing import TYPE_CHECKING, Any

import pylibsrtp
from aiortc import clock
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpByePacket,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSdesPacket,
    RtcpSenderInfo,
    RtcpSourceInfo,
    RtcpSrPacket,
    unpack_remb_fci,
)

from . import forwarding, library_surface
from .forwarding import HANDOFF, SENT, SRTP_REFUSED
from .rtp_rewrite import (
    SequenceMapper,
    extension_key,
    payload_end,
    payload_offset,
    translate_extensions,
    vp8_apply,
    vp8_picture_id,
    write_header,
)
from .temporal import TOP_TEMPORAL, TemporalFilter

if TYPE_CHECKING:
    from .peer import Peer
    from .producer import Codec, Producer

logger = logging.getLogger(__name__)

HISTORY = 1024  # output packets remembered to answer NACKs (power of two)
RETRANSMIT_RATE = 200.0  # packets a second a consumer may retransmit (about 2x a video stream)
RETRANSMIT_BURST = 100.0
#: a slot that sent nothing for this long and starts again (an audio-only salle's trial, a
#: slot reassigned or resumed) does not count against the link it finds the packets sent
#: before and never acknowledged (:meth:`Consumer._on_report`)
STALE_AFTER_S = 1.0
_SEQ_TS_SSRC = struct.Struct("!HII")


class Consumer:
    def __init__(self, peer: Peer, sender: Any, slot: str, kind: str, parameters: Any) -> None:
        self.peer = peer
        self.router = peer.router
        self.sender = sender
        self.slot = slot
        self.kind = kind
        self.counters = peer.counters
        self.ssrc: int = sender.media_ssrc
        self.cname: str | None = parameters.rtcp.cname
        self.payload_types: dict[str, int] = {}
        for c in parameters.codecs:
            name = c.name.lower()
            if name != "rtx" and name not in self.payload_types:
                self.payload_types[name] = c.payloadType
        #: RTX payload type per original one (RFC 4588 section 8.6, ``apt``) the subscriber negotiated
        self.rtx_payload_types: dict[int, int] = {}
        for c in parameters.codecs:
            apt = c.parameters.get("apt") if c.name.lower() == "rtx" else None
            if isinstance(apt, int):
                self.rtx_payload_types[apt] = c.payloadType
        # the retransmission stream's SSRC, announced by aiortc's answer (a=ssrc-group:FID)
        self.rtx_ssrc: int | None = sender.retransmission_ssrc if self.rtx_payload_types else None
        self._rtx_seq = random.getrandbits(16)
        self.extensions: dict[str, int] = {e.uri: e.id for e in parameters.headerExtensions}
        clock_rate = next(
            (c.clockRate for c in parameters.codecs if c.name.lower() != "rtx"),
            90000 if kind == "video" else 48000,
        )
        self.mapper = SequenceMapper(clock_rate)
        self.source: Producer | None = None
        self.pending: Producer | None = None
        self.pending_since = 0.0
        self.keyframe_asked_at: float | None = None  # this subscriber's last PLI passed on
        self.paused = False  # the subscriber's budget cannot carry this slot (sfu.adaptation)
        #: the simulcast layer its subscriber's allocation gives it (None: the largest sent)
        self.layer: int | None = None
        #: the VP8 temporal layers it forwards (its allocation's ``Layer.temporal``, sfu.temporal)
        self.temporal = TemporalFilter()
        self._last_highest: int | None = None  # of its receiver reports (packets expected)
        #: the first output number after a silence of STALE_AFTER_S, until a report covers it
        self._resumed_at: int | None = None
        self.closed = False
        # producers translate their extension ids once per packet for all the
        # consumers that negotiated the same ids (see Producer.extension_table)
        self.extension_key = extension_key(self.extensions)
        # what each recent output packet was, to answer NACKs: (out_seq, seq, out_ts,
        # pid_off, tl0_off), ints only, and its producer apart. A tuple of ints only is
        # untracked by the garbage collector at its first young collection; with the
        # producer inside, HISTORY tracked tuples per consumer (a quarter of a million
        # at 48 salles) made every full collection walk them: 30 to 230 ms stalls of
        # the event loop, every packet of the sitting delayed (docs/performance.md).
        self._history: list[tuple[int, int, int, int, int] | None] = [None] * HISTORY
        self._history_source: list[Producer | None] = [None] * HISTORY
        self.packets_sent = 0
        self.octets_sent = 0
        self._first_seq: int | None = None
        self._acked_total = 0
        self._rtx_tokens = RETRANSMIT_BURST
        self._rtx_refill_at = time.monotonic()
        self._rtcp_task: asyncio.Task | None = None
        # SRTP-protect and sendto, synchronously (sfu.transport.connection.Connection.send_rtp)
        self._send_packet = sender.direct_sender()
        #: the connection whose native session protects and sends (RouterConfig.forwarding,
        #: sfu.forwarding: :meth:`fan_out`), or None: forward() rewrites, protects and
        #: sends in Python
        self.native_link: Any = sender.native_forwarder()

    # lifecycle ------------------------------------------------------------------
    def start(self) -> None:
        self._rtcp_task = asyncio.get_running_loop().create_task(self._run_rtcp())

    def close(self) -> None:
        if not self.closed:
            self.counters.retire(self)
        self.closed = True
        self.set_source(None)
        if self._rtcp_task is not None:
            self._rtcp_task.cancel()

    @property
    def source_salle(self) -> str | None:
        p = self.pending or self.source
        return p.salle_id if p is not None else None

    def set_source(self, producer: Producer | None) -> None:
        """Ask for a new source; video switches on its next key frame."""
        if producer is self.pending and producer is not None:
            return
        if producer is self.source and self.pending is None:
            return
        if self.pending is not None:
            if self.pending is not self.source:
                self.pending.detach(self)
            self.pending = None
        if producer is None or producer.closed:
            if self.source is not None:
                self.source.detach(self)
                self.source = None
            return
        if producer is self.source:
            return  # a pending switch was cancelled: keep the current source
        if self.kind == "audio" and self.source is not None:
            self.source.detach(self)
            self.source = None
        self.pending = producer
        self.pending_since = time.monotonic()
        producer.attach(self)
        if self.kind == "video" and not self.paused:
            producer.request_keyframe()

    def set_paused(self, paused: bool) -> None:
        """Stop forwarding (the subscriber cannot carry this slot), or resume: a video
        slot resumes on its source's next key frame (asked for at once), its sequence
        numbers, timestamps and picture ids continuing as after a switch.

        A slot given another source while paused (the allocator resumes a paused slot on
        the smallest encoding, so the Router switches it while it is paused) resumes on
        that source's key frame, never on the old source: the old one went on numbering
        its packets during the pause, and forwarding it again at once through the
        mapper's old offsets put a jump in the output sequence numbers as large as the
        pause (the receiver counts every number skipped as lost: 80 packets, 88 % in one
        Chromium report, after a pause on the largest encoding), in the middle of a
        picture the decoder cannot use."""
        if paused == self.paused:
            return
        self.paused = paused
        if paused or self.kind != "video":
            return
        if self.source is not None:
            if self.pending is None:
                self.pending = self.source
            else:
                self.source.detach(self)
            self.source = None
        if self.pending is not None:
            self.pending_since = time.monotonic()
            self.pending.request_keyframe()

    def source_gone(self, producer: Producer) -> None:
        if self.pending is producer:
            self.pending = None
        if self.source is producer:
            self.source = None

    def forwards_every_layer(self) -> bool:
        """Every temporal layer forwarded and no skipped packet behind the stream (most
        consumers): nothing to decide per packet, nothing to renumber."""
        filt = self.temporal
        return filt.target == TOP_TEMPORAL and filt.now == TOP_TEMPORAL and not self.mapper.skipped_seqs

    # hot path -------------------------------------------------------------------
    def forward(
        self,
        producer: Producer,
        data: bytes,
        codec: Codec,
        seq: int,
        ts: int,
        keyframe: bool,
        now: float,
        vp8: tuple[int, int, int] | None,
        bodies: dict,
        temporal: int = -1,
    ) -> None:
        """Rewrite one packet of ``producer`` for this consumer and send it.

        ``vp8``: (PictureID offset, its width in bits, TL0PICIDX offset) from the
        producer's single parse of the VP8 descriptor, or None (not VP8, or an empty
        payload). ``bodies``: per packet, the packet with its extension ids already
        translated, by translation table, shared by the consumers of the packet.
        ``temporal``: its VP8 temporal layer (:func:`sfu.rtp_rewrite.vp8_temporal`, -1
        without one); a packet above the layers this consumer forwards is left out and
        its numbers skipped (:mod:`sfu.temporal`)."""
        if self.paused:
            if producer is not self.source and producer is not self.pending:
                producer.detach(self)
            self.counters.dropped["paused"] += 1
            return
        if producer is not self.source:
            if producer is not self.pending:
                producer.detach(self)
                return
            if self.kind == "video" and not keyframe:
                self.counters.dropped["awaiting_keyframe"] += 1
                return
            old = self.source
            if old is not None:
                old.detach(self)
            self.source = producer
            self.pending = None
            if self.mapper.started and now - self.mapper.max_at >= STALE_AFTER_S:
                self._resumed_at = (self.mapper.max_seq + 1) & 0xFFFF
            self.mapper.switch(seq, ts, now)
            self.temporal.restart()
            self.counters.source_switches += 1
        mapper = self.mapper
        if temporal >= 0 and not self.forwards_every_layer():
            filt = self.temporal
            pid = vp8_picture_id(data, vp8[0], vp8[1]) if vp8 is not None else -1
            if not filt.keep(temporal, keyframe):
                mapper.skip(seq, pid)
                self.counters.dropped["temporal_layer"] += 1
                return
            if mapper.skipped_seqs:
                dseq, dpid = mapper.late(seq, pid)
                if dseq or dpid:
                    self._forward_late(producer, data, codec, seq, ts, now, vp8, bodies, dseq, dpid)
                    return
        if self.native_link is not None:
            self._forward_native(producer, data, codec, seq, ts, now, vp8, bodies)
            return
        self._forward_python(producer, data, codec, seq, ts, now, vp8, bodies)

    def _forward_late(
        self,
        producer: Producer,
        data: bytes,
        codec: Codec,
        seq: int,
        ts: int,
        now: float,
        vp8: tuple[int, int, int] | None,
        bodies: dict,
        dseq: int,
        dpid: int,
    ) -> None:
        """A packet older than ``dseq`` skipped packets and ``dpid`` skipped pictures
        (:meth:`sfu.rtp_rewrite.SequenceMapper.late`): numbered as before them, on
        either path (the offsets put back for this packet only)."""
        mapper = self.mapper
        mapper.seq_offset = (mapper.seq_offset + dseq) & 0xFFFF
        if dpid:
            mapper.pid_offset = (mapper.pid_offset + dpid) & 0x7FFF
        try:
            if self.native_link is not None:
                self._forward_native(producer, data, codec, seq, ts, now, vp8, bodies)
            else:
                self._forward_python(producer, data, codec, seq, ts, now, vp8, bodies)
        finally:
            mapper.seq_offset = (mapper.seq_offset - dseq) & 0xFFFF
            if dpid:
                mapper.pid_offset = (mapper.pid_offset - dpid) & 0x7FFF

    def _body(self, producer: Producer, data: bytes, bodies: dict) -> bytearray:
        """The packet with its header extension ids translated for this consumer, made
        once per translation table and shared by the packet's consumers (``bodies``)."""
        table = producer.extension_table(self)
        body = bodies.get(table)
        if body is None:
            body = bodies[table] = bytearray(data)
            translate_extensions(body, table)
        return body

    def _forward_python(
        self,
        producer: Producer,
        data: bytes,
        codec: Codec,
        seq: int,
        ts: int,
        now: float,
        vp8: tuple[int, int, int] | None,
        bodies: dict,
    ) -> None:
        """:meth:`forward`'s rewrite, protect and send, in Python."""
        mapper = self.mapper
        mapped = mapper.map(seq, ts, now)
        if mapped is None:
            self.counters.dropped["before_switch"] += 1
            return
        pt = self.payload_types.get(codec.name)
        if pt is None:
            self.counters.dropped["codec_mismatch"] += 1
            return
        out_seq, out_ts = mapped
        buf = bytearray(self._body(producer, data, bodies))
        buf[1] = (buf[1] & 0x80) | pt
        _SEQ_TS_SSRC.pack_into(buf, 2, out_seq, out_ts, self.ssrc)
        if vp8 is not None:
            pid_off, tl0_off = mapper.rewrite_vp8_at(buf, *vp8)
        else:
            pid_off = tl0_off = 0
        at = out_seq & (HISTORY - 1)
        self._history[at] = (out_seq, seq, out_ts, pid_off, tl0_off)
        self._history_source[at] = producer
        if self._first_seq is None:
            self._first_seq = out_seq
        try:
            size = self._send_packet(buf)  # protects the bytearray as it is: no bytes() copy
        except ConnectionError:
            self.counters.dropped["not_connected"] += 1
            return
        except library_surface.SendBufferFull:
            self.counters.dropped["send_buffer_full"] += 1
            return
        except pylibsrtp.Error:
            # libsrtp refuses to protect an index more than its replay window behind the
            # stream's highest (RFC 3711 section 3.3.2): a publisher's very late or forged
            # sequence number. Dropped and counted, not logged per packet (found by the
            # fuzz of tests/sfu/test_transport.py: one salle could flood the log)
            self.counters.dropped["srtp_refused"] += 1
            return
        except Exception as exc:
            self.counters.dropped["send_error"] += 1
            self.peer.hook_error("consumer.send", exc)
            return
        # per-consumer integers; the router's packets_out/bytes_out are their sums,
        # taken at scrape time (SfuCounters.packets_out)
        self.packets_sent += 1
        self.octets_sent += size
        health = self.peer.health
        if health is not None and health.oldest_unacked is None:
            health.packet_out(now)

    @staticmethod
    def fan_out(
        producer: Producer,
        consumers: tuple[Consumer, ...],
        data: bytes,
        codec: Codec,
        seq: int,
        ts: int,
        keyframe: bool,
        now: float,
        vp8: tuple[int, int, int] | None,
        temporal: int = -1,
    ) -> None:
        """One packet of ``producer`` to each of ``consumers``: those in steady state on
        the native path (its source, not paused, no switch pending, the codec
        negotiated, every temporal layer forwarded and none skipped behind it) with ONE
        native call (:data:`sfu.forwarding.fan_out`), the others through :meth:`forward`.
        Same bytes, history, mapper state and counters as :meth:`forward` gives each
        (tests/sfu/test_native_forwarding.py, tests/sfu/test_temporal.py)."""
        bodies: dict = {}
        by_ids: dict = {}  # the body per set of consumer extension ids (no table look-up each)
        jobs: list[tuple] = []
        steady: list[Consumer] = []
        name = codec.name
        for consumer in consumers:
            link = consumer.native_link  # None for the recorder's tap: it has no payload types
            pt = None if link is None else consumer.payload_types.get(name)
            if (
                pt is None
                or consumer.source is not producer
                or consumer.pending is not None
                or consumer.paused
                or (temporal >= 0 and not consumer.forwards_every_layer())
            ):
                consumer.forward(producer, data, codec, seq, ts, keyframe, now, vp8, bodies, temporal)
                continue
            body = by_ids.get(consumer.extension_key)
            if body is None:
                body = by_ids[consumer.extension_key] = consumer._body(producer, data, bodies)
            jobs.append((link.native_tx, link.native_route(), consumer.mapper, body, pt, consumer.ssrc))
            steady.append(consumer)
        if jobs:
            Consumer._native_jobs(producer, steady, jobs, vp8, now)

    def _forward_native(
        self,
        producer: Producer,
        data: bytes,
        codec: Codec,
        seq: int,
        ts: int,
        now: float,
        vp8: tuple[int, int, int] | None,
        bodies: dict,
    ) -> None:
        """:meth:`forward`'s rewrite, protect and send by the native step, for one
        consumer in a special state (its switching packet, a codec it did not negotiate)."""
        pt = self.payload_types.get(codec.name)
        if pt is None:
            # the Python path maps before it finds no payload type: the same state
            if self.mapper.map(seq, ts, now) is None:
                self.counters.dropped["before_switch"] += 1
            else:
                self.counters.dropped["codec_mismatch"] += 1
            return
        body = self._body(producer, data, bodies)
        link = self.native_link
        job = (link.native_tx, link.native_route(), self.mapper, body, pt, self.ssrc)
        Consumer._native_jobs(producer, [self], [job], vp8, now)

    @staticmethod
    def _native_jobs(
        producer: Producer, consumers: list[Consumer], jobs: list[tuple], vp8: tuple[int, int, int] | None, now: float
    ) -> None:
        """Run ``jobs`` (one per consumer) in one native call, then each consumer's
        bookkeeping in one loop: history, drops by reason, counters, health."""
        try:
            statuses, entries, datagrams = forwarding.fan_out(jobs, vp8, now)  # type: ignore[misc]
        except Exception as exc:
            for consumer in consumers:
                consumer.counters.dropped["send_error"] += 1
                consumer.peer.hook_error("consumer.send", exc)
            return
        mask = HISTORY - 1
        for consumer, status, entry, datagram, job in zip(consumers, statuses, entries, datagrams, jobs, strict=True):
            if entry is None:
                consumer.counters.dropped["before_switch"] += 1
                continue
            at = entry[0] & mask
            consumer._history[at] = entry
            consumer._history_source[at] = producer
            if consumer._first_seq is None:
                consumer._first_seq = entry[0]
            if status != SENT:
                dropped = consumer.counters.dropped
                if status == HANDOFF:
                    try:
                        consumer.native_link.send_protected(datagram)
                    except ConnectionError:
                        dropped["not_connected"] += 1
                        continue
                    except library_surface.SendBufferFull:
                        dropped["send_buffer_full"] += 1
                        continue
                    except Exception as exc:  # as forward() counts what the transport raises
                        dropped["send_error"] += 1
                        consumer.peer.hook_error("consumer.send", exc)
                        continue
                elif status == SRTP_REFUSED:
                    dropped["srtp_refused"] += 1
                    continue
                else:  # TOO_LONG: the Python path's protect raises, counted as a send error
                    dropped["send_error"] += 1
                    continue
            consumer.packets_sent += 1
            consumer.octets_sent += len(job[3])
            health = consumer.peer.health
            if health is not None and health.oldest_unacked is None:
                health.packet_out(now)

    # RTCP from the subscriber ---------------------------------------------------------
    def on_rtcp(self, packet: Any) -> None:
        if isinstance(packet, (RtcpRrPacket, RtcpSrPacket)):
            for report in packet.reports:
                if report.ssrc == self.ssrc:
                    self._on_report(report)
        elif isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            self.counters.nacks_received += 1
            self.retransmit(list(packet.lost))
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, _ = unpack_remb_fci(packet.fci)
            except (ValueError, struct.error):
                return  # an APP feedback that is not a REMB
            self.peer.downlink.on_remb(time.monotonic(), bitrate)
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            self.counters.plis_received += 1
            if self.paused or self.pending is not None:
                self.counters.plis_absorbed += 1  # the switch waits for a key frame already
            elif self.source is not None:
                self.source.keyframe_wanted(self)

    def _on_report(self, report: Any) -> None:
        if self._first_seq is None:
            return
        ext_highest = report.highest_sequence
        last, self._last_highest = self._last_highest, ext_highest
        expected = 0 if last is None else (ext_highest - last) & 0xFFFFFFFF
        if expected < (1 << 16):  # a wild jump says nothing about this interval
            fraction_lost, expected = self._fresh_loss(report.fraction_lost, expected, last)
            self.peer.downlink.on_report(fraction_lost, expected)
            if self.kind == "audio" and self.source is not None:
                self.router.audio_received(self.peer, fraction_lost / 256)
        received = ((ext_highest - self._first_seq) & 0xFFFFFFFF) + 1 - report.packets_lost
        if received > (1 << 31):
            return
        delta = received - self._acked_total
        if delta > 0:
            self._acked_total = received
            health = self.peer.health
            if health is not None:
                health.acknowledged(delta, time.monotonic())

    def _fresh_loss(self, fraction_lost: int, expected: int, last: int | None) -> tuple[int, int]:
        """A report's loss (``fraction_lost`` in 1/256 of ``expected``, RFC 3550 section
        6.4.1) without the packets sent before a resume after a silence.

        The receiver counts a packet lost only when a later one arrives: the last packets
        sent before a slot fell silent (an audio-only salle, a slot unassigned or paused)
        and dropped on the way are counted in the first report after it starts again, as
        if the link it finds had lost them. In the lab (crawl-120) the tail of a trial
        that failed at 120 kbit/s made the next trial, on the restored link, fail on its
        first report (22 % loss, none on the link). The numbers sent before the resume
        and beyond the previous report's highest are taken out of the interval, and as
        many of its losses (at most): what is left is the loss after the resume."""
        resumed = self._resumed_at
        if resumed is None or last is None:
            return fraction_lost, expected
        stale = (resumed - 1 - last) & 0xFFFF
        if stale >= 0x8000:  # the previous report already went past the resume
            self._resumed_at = None
            return fraction_lost, expected
        if stale >= expected:  # this report does not reach the resume yet
            return fraction_lost, expected
        self._resumed_at = None
        lost = (fraction_lost * expected + 128) >> 8
        fresh = expected - stale
        return min(255, (max(0, lost - stale) << 8) // fresh), fresh

    def retransmit(self, lost: list[int]) -> int:
        """Resend lost packets, rewritten as first sent, from the producers' caches,
        within the consumer's retransmission budget (RETRANSMIT_RATE packets a second,
        RETRANSMIT_BURST at once): one NACK may list thousands of sequence numbers, and
        a subscriber (a compromised kiosk) must not make the server resend its whole
        history on every RTCP packet. What is over budget is dropped
        (``nack_over_budget``). A paused slot answers nothing: its subscriber's link is
        the reason it is paused, and its next picture starts on a key frame."""
        if self.paused:
            return 0
        sent = 0
        now = time.monotonic()
        self._rtx_tokens = min(RETRANSMIT_BURST, self._rtx_tokens + (now - self._rtx_refill_at) * RETRANSMIT_RATE)
        self._rtx_refill_at = now
        for i, out_seq in enumerate(lost):
            if self._rtx_tokens < 1:
                self.counters.dropped["nack_over_budget"] += len(lost) - i
                break
            at = out_seq & (HISTORY - 1)
            entry = self._history[at]
            if entry is None or entry[0] != out_seq:
                continue
            _, seq, out_ts, pid_off, tl0_off = entry
            producer = self._history_source[at]
            data = producer.cache.get(seq, now)
            if data is None:
                continue
            codec = producer.codecs.get(data[1] & 0x7F)
            pt = self.payload_types.get(codec.name) if codec else None
            if pt is None:
                continue
            buf = bytearray(data)
            write_header(buf, pt, out_seq, out_ts, self.ssrc)
            translate_extensions(buf, producer.extension_table(self))
            if codec.name == "vp8":
                vp8_apply(buf, payload_offset(buf), pid_off, tl0_off)
            rtx_pt = self.rtx_payload_types.get(pt)
            if rtx_pt is not None and self.rtx_ssrc is not None:
                buf = self._rtx_packet(buf, rtx_pt, self.rtx_ssrc)
            try:
                self._send_packet(buf)
            except (ConnectionError, library_surface.SendBufferFull):
                break
            except Exception as exc:
                self.counters.dropped["send_error"] += 1
                self.peer.hook_error("consumer.retransmit", exc)
                break
            sent += 1
            self._rtx_tokens -= 1
            self.counters.retransmitted += 1
        return sent

    def _rtx_packet(self, buf: bytearray, rtx_pt: int, rtx_ssrc: int) -> bytearray:
        """``buf`` (the packet as first sent) as an RTX packet (RFC 4588 section 4): the
        RTX payload type, the retransmission stream's own sequence number and SSRC, the
        original sequence number (OSN) in front of the original payload; the padding is
        not carried over (the P bit cleared)."""
        p, end = payload_offset(buf), payload_end(buf)
        out = bytearray(buf[:p]) + buf[2:4] + buf[p:end]
        out[0] &= ~0x20
        write_header(out, rtx_pt, self._rtx_seq, int.from_bytes(buf[4:8], "big"), rtx_ssrc)
        self._rtx_seq = (self._rtx_seq + 1) & 0xFFFF
        return out

    # RTCP to the subscriber ---------------------------------------------------------
    def sender_report(self) -> RtcpSrPacket | None:
        """An SR whose (NTP, RTP) pair is the source's last one, mapped (lip-sync)."""
        if self._first_seq is None:
            return None
        source = self.source
        if source is not None and source.last_sr is not None:
            ntp, rtp_ts, _ = source.last_sr
            rtp_out = self.mapper.out_ts(rtp_ts)
        else:
            ntp = clock.current_ntp_time()
            elapsed = time.monotonic() - self.mapper.max_at
            rtp_out = (self.mapper.max_ts + int(elapsed * self.mapper.clock_rate)) & 0xFFFFFFFF
        return RtcpSrPacket(
            ssrc=self.ssrc,
            sender_info=RtcpSenderInfo(
                ntp_timestamp=ntp,
                rtp_timestamp=rtp_out,
                packet_count=self.packets_sent & 0xFFFFFFFF,
                octet_count=self.octets_sent & 0xFFFFFFFF,
            ),
        )

    async def _run_rtcp(self) -> None:
        try:
            while not self.closed:
                await asyncio.sleep(0.5 + random.random())
                sr = self.sender_report()
                if sr is None:
                    continue
                data = bytes(sr)
                if self.cname:
                    data += bytes(
                        RtcpSdesPacket(chunks=[RtcpSourceInfo(ssrc=self.ssrc, items=[(1, self.cname.encode())])])
                    )
                try:
                    await self.sender.send_rtcp(data)
                except ConnectionError:
                    pass
        except asyncio.CancelledError:
            if self._first_seq is not None:
                try:
                    await self.sender.send_rtcp(bytes(RtcpByePacket(sources=[self.ssrc])))
                except Exception:
                    pass
        except Exception as exc:
            self.peer.hook_error("consumer.rtcp_task", exc)
