"""Media samples for the benchmark, generated once with PyAV and cached as encoded packets.

Nothing is downloaded: the video is FFmpeg's ``testsrc2`` pattern (through PyAV's
``lavfi`` input) encoded to VP8 at about 1 Mbit/s, 30 fps, a keyframe every 2 s; the
audio is a synthetic speech-like signal (a voiced harmonic series with a syllable-rate
envelope, talk spurts and pauses) encoded to Opus in 20 ms frames. For each Opus frame
we also keep its level in dBov (RFC 6464 section 3: ``-20 log10(rms / full scale)``,
0 loudest, -127 silence) so the synthetic salle can send it in the audio level header
extension without decoding anything at run time.

The cache is one small binary file per sample, named after the parameters that shaped
it (change a parameter and the file name changes): a JSON header line, then for each
packet ``<q pts><B keyframe><b level><I size>`` and the payload.
"""

from __future__ import annotations

import fractions
import json
import math
import os
import random
import struct
from array import array
from dataclasses import dataclass
from pathlib import Path

#: Bump when the generation changes in a way the parameters below do not capture.
SAMPLES_VERSION = 1

VIDEO_WIDTH, VIDEO_HEIGHT, VIDEO_FPS = 640, 360, 30
VIDEO_BITRATE = 1_000_000
VIDEO_GOP = 60  # frames between keyframes (2 s)
#: ``--simulcast``: the three encodings of a kiosk's camera (web/static/rtc.js ``SIMULCAST``,
#: ``RouterConfig.simulcast_max_bps``), smallest first: rid, width, height, bit rate. Each
#: layer is its own VP8 stream with its own keyframes (every ``VIDEO_GOP`` frames, at the
#: same instants in the three, as Chromium's simulcast encoder makes them)
SIMULCAST_LAYERS = (
    ("q", 320, 180, 150_000),
    ("h", 640, 360, 500_000),
    ("f", 1280, 720, 1_200_000),
)
AUDIO_RATE = 48_000
AUDIO_FRAME = 960  # samples per 20 ms frame at 48 kHz
SAMPLE_SECONDS = 12

_RECORD = struct.Struct("<qBbI")


@dataclass(frozen=True)
class EncodedPacket:
    """One encoded frame: ``pts`` in ``Sample.time_base`` units, its payload bytes."""

    pts: int
    data: bytes
    keyframe: bool = False
    level_dbov: int = -127  # audio only: RFC 6464 level of this frame, in [-127, 0]


@dataclass(frozen=True)
class Sample:
    """A loopable list of encoded packets; ``duration`` is the loop length in pts units."""

    kind: str  # "audio" | "video"
    codec: str  # "opus" | "vp8"
    time_base: fractions.Fraction
    duration: int
    packets: tuple[EncodedPacket, ...]

    @property
    def seconds(self) -> float:
        return float(self.duration * self.time_base)

    def bitrate(self) -> float:
        return sum(len(p.data) for p in self.packets) * 8 / self.seconds


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "seance-bench"


# -- generation ------------------------------------------------------------------------


def _encode_video(
    seconds: int, width: int = VIDEO_WIDTH, height: int = VIDEO_HEIGHT, bitrate: int = VIDEO_BITRATE
) -> Sample:
    import av

    time_base = fractions.Fraction(1, VIDEO_FPS)
    src = av.open(
        f"testsrc2=size={width}x{height}:rate={VIDEO_FPS}:duration={seconds}",
        format="lavfi",
    )
    enc = av.CodecContext.create("libvpx", "w")
    enc.width, enc.height, enc.pix_fmt = width, height, "yuv420p"
    enc.time_base = time_base
    enc.framerate = VIDEO_FPS
    enc.bit_rate = bitrate
    enc.gop_size = VIDEO_GOP
    enc.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    packets: list[EncodedPacket] = []
    try:
        for n, frame in enumerate(src.decode(video=0)):
            # lavfi marks its frames as I pictures, which libvpx obeys by making every
            # frame a keyframe: clear it so that gop_size decides.
            frame.pict_type = av.video.frame.PictureType.NONE
            frame.pts, frame.time_base = n, time_base
            for p in enc.encode(frame):
                data = bytes(p)
                # VP8 frame tag (RFC 6386 section 9.1): bit 0 of byte 0 is 0 on a keyframe.
                packets.append(EncodedPacket(int(p.pts), data, keyframe=(data[0] & 1) == 0))
        for p in enc.encode(None):
            data = bytes(p)
            packets.append(EncodedPacket(int(p.pts), data, keyframe=(data[0] & 1) == 0))
    finally:
        src.close()
    packets.sort(key=lambda p: p.pts)
    return Sample("video", "vp8", time_base, seconds * VIDEO_FPS, tuple(packets))


def _speech_like_pcm(seconds: int, seed: int = 6464) -> array:
    """Mono s16 PCM at 48 kHz: talk spurts (1.5–4 s) of a voiced sound whose loudness
    follows a ~4 Hz syllable envelope, separated by pauses (0.4–2.5 s) of faint noise."""
    rng = random.Random(seed)
    total = seconds * AUDIO_RATE
    pcm = array("h", bytes(2 * total))
    t = 0
    phase = 0.0
    while t < total:
        talk = int(rng.uniform(1.5, 4.0) * AUDIO_RATE)
        f0 = rng.uniform(100.0, 220.0)
        peak = rng.uniform(0.25, 0.7)
        syll = rng.uniform(3.0, 5.5)
        for i in range(min(talk, total - t)):
            env = peak * (0.55 + 0.45 * math.sin(2 * math.pi * syll * i / AUDIO_RATE)) ** 2
            f = f0 * (1 + 0.03 * math.sin(2 * math.pi * 5 * i / AUDIO_RATE))
            phase += 2 * math.pi * f / AUDIO_RATE
            v = math.sin(phase) + 0.5 * math.sin(2 * phase) + 0.3 * math.sin(3 * phase)
            pcm[t + i] = int(max(-1.0, min(1.0, env * v / 1.8)) * 32767)
        t += talk
        pause = int(rng.uniform(0.4, 2.5) * AUDIO_RATE)
        for i in range(min(pause, total - t)):
            pcm[t + i] = rng.randint(-40, 40)
        t += pause
    return pcm


def _level_dbov(frame: array) -> int:
    """RFC 6464 section 3: level of a block of s16 samples in -dBov, as aiortc computes it."""
    rms = math.sqrt(sum(s * s for s in frame) / len(frame)) if len(frame) else 0.0
    if rms <= 0:
        return -127
    return max(-127, min(0, round(20 * math.log10(rms / 32768))))


def _encode_audio(seconds: int) -> Sample:
    import av

    time_base = fractions.Fraction(1, AUDIO_RATE)
    pcm = _speech_like_pcm(seconds)
    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate = AUDIO_RATE
    enc.layout = "mono"
    enc.format = "s16"
    enc.bit_rate = 32_000
    enc.time_base = time_base
    enc.options = {"application": "voip", "frame_duration": "20"}
    levels: dict[int, int] = {}
    raw: list[tuple[int, bytes]] = []
    for n in range(len(pcm) // AUDIO_FRAME):
        chunk = pcm[n * AUDIO_FRAME : (n + 1) * AUDIO_FRAME]
        levels[n] = _level_dbov(chunk)
        frame = av.AudioFrame(format="s16", layout="mono", samples=AUDIO_FRAME)
        frame.planes[0].update(chunk.tobytes())
        frame.sample_rate = AUDIO_RATE
        frame.pts, frame.time_base = n * AUDIO_FRAME, time_base
        raw.extend((int(p.pts), bytes(p)) for p in enc.encode(frame))
    raw.extend((int(p.pts), bytes(p)) for p in enc.encode(None))
    # libopus reports a negative pts for its first packet (encoder pre-skip): renumber
    # the packets 20 ms apart and attach each frame's level in order.
    raw.sort()
    packets = tuple(
        EncodedPacket(i * AUDIO_FRAME, data, keyframe=True, level_dbov=levels.get(i, -127))
        for i, (_, data) in enumerate(raw[: len(levels)])
    )
    return Sample("audio", "opus", time_base, len(packets) * AUDIO_FRAME, packets)


# -- cache -------------------------------------------------------------------------------


def _write(path: Path, sample: Sample) -> None:
    head = {
        "version": SAMPLES_VERSION,
        "kind": sample.kind,
        "codec": sample.codec,
        "time_base": [sample.time_base.numerator, sample.time_base.denominator],
        "duration": sample.duration,
        "count": len(sample.packets),
    }
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(json.dumps(head).encode() + b"\n")
        for p in sample.packets:
            f.write(_RECORD.pack(p.pts, int(p.keyframe), p.level_dbov, len(p.data)))
            f.write(p.data)
    os.replace(tmp, path)  # atomic: concurrent salle processes never see a half file


def _read(path: Path) -> Sample:
    with open(path, "rb") as f:
        head = json.loads(f.readline())
        if head.get("version") != SAMPLES_VERSION:
            raise ValueError("stale sample cache")
        packets = []
        for _ in range(head["count"]):
            pts, key, level, size = _RECORD.unpack(f.read(_RECORD.size))
            data = f.read(size)
            if len(data) != size:
                raise ValueError("truncated sample cache")
            packets.append(EncodedPacket(pts, data, bool(key), level))
    return Sample(
        head["kind"],
        head["codec"],
        fractions.Fraction(*head["time_base"]),
        head["duration"],
        tuple(packets),
    )


def _cached(cache_dir: Path, name: str, make) -> Sample:
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / name
    if path.exists():
        try:
            return _read(path)
        except (ValueError, OSError, struct.error, KeyError):
            pass  # regenerate below
    sample = make()
    _write(path, sample)
    return sample


def video_sample(cache_dir: Path | None = None) -> Sample:
    name = f"vp8-{VIDEO_WIDTH}x{VIDEO_HEIGHT}-{VIDEO_FPS}fps-{VIDEO_BITRATE}-g{VIDEO_GOP}-{SAMPLE_SECONDS}s-v{SAMPLES_VERSION}.bin"
    return _cached(cache_dir or default_cache_dir(), name, lambda: _encode_video(SAMPLE_SECONDS))


def layer_samples(cache_dir: Path | None = None) -> dict[str, Sample]:
    """``--simulcast``: one VP8 sample per layer of :data:`SIMULCAST_LAYERS`, by rid."""
    out = {}
    for rid, width, height, bitrate in SIMULCAST_LAYERS:
        name = f"vp8-{width}x{height}-{VIDEO_FPS}fps-{bitrate}-g{VIDEO_GOP}-{SAMPLE_SECONDS}s-v{SAMPLES_VERSION}.bin"
        out[rid] = _cached(
            cache_dir or default_cache_dir(),
            name,
            lambda w=width, h=height, b=bitrate: _encode_video(SAMPLE_SECONDS, w, h, b),
        )
    return out


def audio_sample(cache_dir: Path | None = None) -> Sample:
    name = f"opus-{AUDIO_RATE}-20ms-speechlike-{SAMPLE_SECONDS}s-v{SAMPLES_VERSION}.bin"
    return _cached(cache_dir or default_cache_dir(), name, lambda: _encode_audio(SAMPLE_SECONDS))


def ensure_samples(cache_dir: Path | None = None) -> tuple[Sample, Sample]:
    """Generate (first time) or load both samples; returns ``(audio, video)``."""
    return audio_sample(cache_dir), video_sample(cache_dir)


if __name__ == "__main__":  # python -m bench.samples [cache_dir]
    import sys

    cache = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    a, v = ensure_samples(cache)
    for s in (a, v, *layer_samples(cache).values()):
        print(
            f"{s.codec}: {len(s.packets)} packets, {s.seconds:.1f} s, {s.bitrate() / 1000:.0f} kbit/s, "
            f"{sum(p.keyframe for p in s.packets)} keyframes"
        )
    print("levels (dBov) first 2 s:", [p.level_dbov for p in a.packets[:100:5]])
