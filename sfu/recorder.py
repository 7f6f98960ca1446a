"""The recorder (R5): the public programme, as public viewers get it, muxed into WebM.

Nothing is decoded. A :class:`Recorder` attached to a :class:`sfu.router.Router`
(``router.start_recording(sink)``) subscribes like a public viewer: two taps, a
Consumer look-alike for the programme picture and one for the programme voice, are
attached to the Producers the viewers' policy (:func:`sfu.slots.assign_viewer`)
designates, so a sensitive passage (R19) feeds them nothing and a salle under
objection to broadcast (R20) never feeds the picture. The voice is the active speaker
when audible, else the loudest voice (one Opus track: a WebM player plays one).

Off the hot path: a tap's ``forward`` only puts the packet's bytes on a bounded queue
(dropped and counted when full); a thread depacketizes (:mod:`sfu.depacketize`) and
muxes with PyAV: Opus packets as they are, VP8 frames reassembled from their packets,
starting at a key frame (the tap asks the new source for one when the programme
switches, and again while a frame was lost). Timestamps are milliseconds from the
start of the recording (time base 1/1000): within one source they follow its RTP
timestamps, a new source is anchored on the arrival time, so the timeline is
continuous across switches. When no voice is forwarded (nobody speaking, R19) the
audio track carries a constant 20 ms Opus silence packet, encoded once with libopus at
start, so the audio has no gap; during R19 the picture track carries one black key
frame (encoded once per picture size) and then nothing until the passage ends.
"""

from __future__ import annotations

import fractions
import logging
import queue
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING, Any, BinaryIO

from .depacketize import Vp8Depacketizer, opus_samples, parse_rtp
from .slots import PROGRAMME, PolicyInput, assign_viewer

if TYPE_CHECKING:
    from .producer import Codec, Producer
    from .router import Router

logger = logging.getLogger(__name__)

MS = fractions.Fraction(1, 1000)
#: the timeline trails the arrival clock by this much (ms), so that silence is only
#: written where no voice packet can still arrive
LAG_MS = 200.0
SILENCE_MS = 20
#: a voice is never placed more than this far (ms) after its arrival: the spans of R19 are
#: decided on the server's clock, and a sender catching up after a stall (or a loop that
#: read a burst late) would otherwise push voice spoken before a span into it (the
#: recording test saw 0.6 s of voice inside a span on a loaded machine)
AHEAD_MS = 60.0
#: without a picture after this long (s), the video track is declared at this size
DEFAULT_SIZE = (640, 360)
HEADER_WAIT_S = 2.0


def opus_silence_packet() -> bytes:
    """A 20 ms stereo Opus packet of digital silence, encoded once with libopus."""
    import av

    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate = 48000
    enc.layout = "stereo"
    enc.format = "s16"
    enc.open()
    packets: list[bytes] = []
    for i in range(4):
        frame = av.AudioFrame(format="s16", layout="stereo", samples=960)
        frame.sample_rate = 48000
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.pts = i * 960
        packets += [bytes(p) for p in enc.encode(frame)]
    return packets[-1]


def black_vp8_keyframe(width: int, height: int) -> bytes:
    """One black VP8 key frame of this size, encoded with libvpx (for R19 spans)."""
    import av

    enc = av.CodecContext.create("libvpx", "w")
    enc.width, enc.height = width, height
    enc.pix_fmt = "yuv420p"
    enc.time_base = fractions.Fraction(1, 90000)
    enc.open()
    frame = av.VideoFrame(width, height, "yuv420p")
    for i, plane in enumerate(frame.planes):
        plane.update(bytes([16 if i == 0 else 128]) * plane.buffer_size)
    frame.pts = 0
    packets = list(enc.encode(frame)) + list(enc.encode(None))
    return bytes(packets[0])


class _Tap:
    """A Consumer look-alike fed by one Producer: the recorder's receive slot."""

    def __init__(self, recorder: Recorder, kind: str) -> None:
        self.recorder = recorder
        self.kind = kind
        self.slot = f"recording-{kind}"
        self.source: Producer | None = None
        self.generation = 0
        self.keyframe_asked_at = 0.0
        #: no native send session: Consumer.fan_out hands every packet to forward()
        self.native_link = None

    def set_source(self, producer: Producer | None) -> None:
        if producer is self.source:
            return
        if self.source is not None:
            self.source.detach(self)
        self.source = producer
        self.generation += 1
        if producer is not None:
            producer.attach(self)
            if self.kind == "video":
                self.keyframe_asked_at = time.monotonic()
                producer.request_keyframe()

    def source_gone(self, producer: Producer) -> None:
        if self.source is producer:
            self.source = None
            self.generation += 1

    # called by Producer.on_rtp on the event loop, like Consumer.forward (whose further
    # arguments, precomputed for rewriting, the recorder does not need): keep it this small
    def forward(
        self, producer: Producer, data: bytes, codec: Codec, seq: int, ts: int, keyframe: bool, now: float, *_: Any
    ) -> None:
        if producer is not self.source:
            producer.detach(self)
            return
        try:
            self.recorder.queue.put_nowait((self.kind, self.generation, data, now))
        except queue.Full:
            self.recorder.counters["queue_full"] += 1


class Recorder:
    """Records the public programme of one Router into ``sink`` (a seekable binary file
    object, e.g. :class:`signaling.recordings.EncryptedWriter`). The caller closes the
    sink after :meth:`stop`."""

    def __init__(self, router: Router, sink: BinaryIO, queue_size: int = 4000, black_frames: bool = True) -> None:
        self.router = router
        self.sink = sink
        self.queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self.video = _Tap(self, "video")
        self.audio = _Tap(self, "audio")
        self.black_frames = black_frames
        self.silenced = False
        self.assignments: dict[str, str | None] = {}
        self.counters: Counter[str] = Counter()
        self.error: BaseException | None = None
        self.started_at = 0.0
        self.stopped_at: float | None = None
        self.video_needs_keyframe = False
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="seance-recorder", daemon=True)
        self._silence = opus_silence_packet()
        # muxer state (thread only)
        self._container: Any = None
        self._astream: Any = None
        self._vstream: Any = None
        self._backlog: list[tuple[str, bytes, int, int, bool]] = []
        self._size: tuple[int, int] | None = None
        self._black: dict[tuple[int, int], bytes] = {}
        self._a_gen = -1
        self._a_anchor: tuple[int, float] | None = None
        self._a_next = 0.0
        self._a_late = 0
        self._v_gen = -1
        self._v_anchor: tuple[int, float] | None = None
        self._v_last = -1
        self._v_black_gen = -1
        self._depack = Vp8Depacketizer()
        self._silenced_seen = False

    # --- on the event loop -------------------------------------------------------------
    def start(self) -> None:
        self.started_at = time.monotonic()
        self._thread.start()

    def reassign(self, inp: PolicyInput) -> None:
        """Follow the viewers' policy (called by the Router at each reassignment)."""
        router = self.router
        self.assignments = assign_viewer(inp, self.assignments, 1)
        voice = self.assignments.get("audio-0")
        if not inp.public_silenced and inp.speaker in inp.audio_sources:
            voice = inp.speaker
        if inp.public_silenced != self.silenced:
            self.silenced = inp.public_silenced
            try:  # in order with the packets; the thread also reads the flag
                self.queue.put_nowait(("silenced", inp.public_silenced, b"", time.monotonic()))
            except queue.Full:
                self.counters["queue_full"] += 1
        for tap, salle in ((self.video, self.assignments.get(PROGRAMME)), (self.audio, voice)):
            producer = None
            if salle is not None:
                peer = router.peers.get(salle)
                if peer is not None and peer.kind == "salle":
                    producer = peer.producers.get(tap.kind)
            tap.set_source(producer.select(None) if producer is not None else None)  # its largest layer
        source = self.video.source
        now = time.monotonic()
        if source is not None and self.video_needs_keyframe and now - self.video.keyframe_asked_at >= 0.5:
            self.video.keyframe_asked_at = now
            if source.request_keyframe():
                self.counters["keyframe_requests"] += 1

    async def stop(self) -> dict[str, Any]:
        """Detach, let the thread mux what is queued and finish the file; returns stats."""
        import asyncio

        self.stopped_at = time.monotonic()
        self.video.set_source(None)
        self.audio.set_source(None)
        self._stopping.set()
        await asyncio.get_running_loop().run_in_executor(None, self._thread.join)
        return self.stats()

    def stats(self) -> dict[str, Any]:
        return {
            **dict(self.counters),
            "vp8_frames_dropped": self._depack.dropped_frames,
            "duration_s": round(((self.stopped_at or time.monotonic()) - self.started_at), 3),
            "error": repr(self.error) if self.error is not None else None,
        }

    # --- muxing thread ---------------------------------------------------------------
    def _ms(self, t: float) -> float:
        return (t - self.started_at) * 1000.0

    def _run(self) -> None:
        try:
            while True:
                try:
                    item = self.queue.get(timeout=0.05)
                except queue.Empty:
                    if self._stopping.is_set():
                        break
                    self._tick(time.monotonic())
                    continue
                kind, gen, data, arrival = item
                if kind == "silenced":
                    self._on_silenced(bool(gen), arrival)
                elif kind == "audio":
                    self._on_audio(gen, data, arrival)
                else:
                    self._on_video(gen, data, arrival)
                self._tick(arrival)
            end = self._ms(self.stopped_at or time.monotonic())
            self._fill_silence(end)
            self._ensure_started(force=True)
        except BaseException as exc:  # the sitting goes on without its recording
            self.error = exc
            logger.exception("recording failed")
        finally:
            self.counters["mux_thread_cpu_ms"] = int(time.thread_time() * 1000)
            if self._container is not None:
                try:
                    self._container.close()
                except Exception as exc:
                    self.error = self.error or exc
                    logger.exception("closing the recording")
            while True:  # nothing stays queued
                try:
                    self.queue.get_nowait()
                except queue.Empty:
                    break

    def _tick(self, clock: float) -> None:
        self._fill_silence(self._ms(clock) - LAG_MS)
        if self._container is None and time.monotonic() - self.started_at > HEADER_WAIT_S:
            self._ensure_started(force=True)

    # audio
    def _fill_silence(self, upto: float) -> None:
        while self._a_next + SILENCE_MS <= upto:
            self._emit("audio", self._silence, round(self._a_next), SILENCE_MS, True)
            self._a_next += SILENCE_MS
            self.counters["silence_frames"] += 1
            self._a_anchor = None  # a voice resuming after silence is anchored again

    def _on_audio(self, gen: int, data: bytes, arrival: float) -> None:
        rtp = parse_rtp(data)
        if rtp is None or not rtp.payload:
            return
        samples = opus_samples(rtp.payload)
        if samples <= 0:
            self.counters["audio_malformed"] += 1
            return
        dur = samples / 48.0
        if gen != self._a_gen or self._a_anchor is None or self._a_late > 5:
            self._a_gen = gen
            self._a_late = 0
            self._a_anchor = (rtp.ts, max(self._a_next, self._ms(arrival) - LAG_MS))
        anchor_ts, anchor_ms = self._a_anchor
        delta = ((rtp.ts - anchor_ts + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)
        pts = anchor_ms + delta / 48.0
        if pts < self._a_next - dur / 2:
            self._a_late += 1
            self.counters["audio_late"] += 1
            return
        self._a_late = 0
        limit = self._ms(arrival) + AHEAD_MS
        if pts > limit:  # ahead of the server's clock: anchored again on the arrival
            self._a_anchor = (rtp.ts, max(self._a_next, self._ms(arrival) - LAG_MS))
            pts = self._a_anchor[1]
            if pts > limit:  # its time is already written: a burst's excess is dropped
                self.counters["audio_early"] += 1
                return
        while pts - self._a_next >= SILENCE_MS:  # a gap (loss, DTX): fill it
            self._emit("audio", self._silence, round(self._a_next), SILENCE_MS, True)
            self._a_next += SILENCE_MS
            self.counters["silence_frames"] += 1
        pts = max(pts, self._a_next)
        self._emit("audio", rtp.payload, round(pts), round(dur), True)
        self._a_next = pts + dur
        self.counters["audio_frames"] += 1

    # video
    def _on_video(self, gen: int, data: bytes, arrival: float) -> None:
        rtp = parse_rtp(data)
        if rtp is None:
            return
        if gen != self._v_gen:
            self._v_gen = gen
            self._depack.reset()
            self._v_anchor = None
        frames = self._depack.push(rtp.seq, rtp.ts, rtp.marker, rtp.payload)
        self.video_needs_keyframe = self._depack.need_keyframe
        for frame in frames:
            if frame.keyframe:
                self._size = self._size or (frame.width, frame.height)
            if self._v_anchor is None:
                self._v_anchor = (frame.ts, max(self._v_last + 1.0, self._ms(arrival) - LAG_MS))
            anchor_ts, anchor_ms = self._v_anchor
            delta = ((frame.ts - anchor_ts + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)
            pts = round(anchor_ms + delta / 90.0)
            if pts > self._ms(arrival) + AHEAD_MS:  # ahead of the server's clock (see AHEAD_MS)
                self._v_anchor = (frame.ts, max(self._v_last + 1.0, self._ms(arrival) - LAG_MS))
                pts = round(self._v_anchor[1])
            if pts <= self._v_last:
                pts = self._v_last + 1
            self._v_last = pts
            self._emit("video", frame.data, pts, 0, frame.keyframe)
            self.counters["video_frames"] += 1
            self.counters["video_keyframes"] += frame.keyframe

    def _on_silenced(self, silenced: bool, at: float) -> None:
        if silenced and not self._silenced_seen:
            self._black_frame(self._ms(at) - LAG_MS)
        self._silenced_seen = silenced

    def _black_frame(self, at: float) -> None:
        if not self.black_frames or self._size is None:
            return
        frame = self._black.get(self._size)
        if frame is None:
            frame = self._black[self._size] = black_vp8_keyframe(*self._size)
        pts = max(self._v_last + 1, round(at))
        self._v_last = pts
        self._v_gen = -1  # whatever comes next starts again at a key frame
        self._emit("video", frame, pts, 0, True)
        self.counters["black_frames"] += 1

    # muxing
    def _emit(self, kind: str, payload: bytes, pts: int, duration: int, key: bool) -> None:
        if self._container is None:
            self._backlog.append((kind, payload, pts, duration, key))
            if kind == "video" or len(self._backlog) > 2000:
                self._ensure_started(force=True)
            return
        self._mux(kind, payload, pts, duration, key)

    def _ensure_started(self, force: bool = False) -> None:
        if self._container is not None or not force:
            return
        import av

        width, height = self._size or DEFAULT_SIZE
        container = av.open(self.sink, "w", format="webm")
        astream = container.add_stream("libopus", rate=48000, layout="stereo")
        vstream = container.add_mux_stream("vp8", width=width, height=height)
        astream.time_base = MS
        vstream.time_base = MS
        self._container, self._astream, self._vstream = container, astream, vstream
        container.start_encoding()  # the header, even for a recording with no packet
        backlog, self._backlog = self._backlog, []
        for entry in backlog:
            self._mux(*entry)

    def _mux(self, kind: str, payload: bytes, pts: int, duration: int, key: bool) -> None:
        import av

        packet = av.Packet(payload)
        packet.stream = self._astream if kind == "audio" else self._vstream
        packet.pts = packet.dts = pts
        packet.time_base = MS
        if duration:
            packet.duration = duration
        if key:
            packet.is_keyframe = True
        self._container.mux(packet)
