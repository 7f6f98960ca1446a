"""R5, R19, R20: the public programme recorded without decoding, encrypted at rest.

aiortc clients send real Opus and VP8 through a real Router; the recorder depacketizes
and muxes what public viewers get into WebM, through the AES-GCM writer. The test then
decrypts the file and checks with PyAV (decoding here, in the test, proves it plays).
"""

from __future__ import annotations

import asyncio
import time

import av
import pytest

from sfu.config import HealthSettings, IceSettings, RouterConfig, SpeakerSettings
from sfu.router import Router
from signaling.recordings import (
    EncryptedWriter,
    RecordingError,
    decrypt,
    new_recording_path,
    recording_key,
    sha256_file,
)
from tests.recording.decoded_frames import luma, rms
from tests.sfu.sfu_clients import Client, wait_for


async def test_a_sitting_is_recorded_encrypted_with_silence_and_no_image_while_sensitive(loopback, tmp_path):
    router = Router(
        RouterConfig(
            ice=IceSettings(listen_addresses=("127.0.0.1",)),
            health=HealthSettings(uplink_timeout=2.0, downlink_timeout=8.0, recover_after=0.5),
            speaker=SpeakerSettings(hold=0.3, smoothing=0.2),
            keyframe_request_interval=0.2,
        )
    )
    router.set_president_salle("belcourt")
    clients = []
    try:
        for name, amplitude, shade in (("belcourt", 0.3, 40), ("vaux", 0.0, 200)):
            c = Client(name, router.slot_layout("salle"), amplitude=amplitude)
            c.video.shade = shade
            await c.answer(await router.connect_salle(name, await c.offer()))
            clients.append(c)
        assert await wait_for(
            lambda: router.stats()["packets_in_by_kind"].get("video", 0) > 30 and router.speaker.active == "belcourt",
            20,
        )

        path = new_recording_path(tmp_path, "demo")
        key = recording_key(tmp_path)
        writer = EncryptedWriter(path, key)
        recorder = router.start_recording(writer)
        t0 = recorder.started_at

        def at() -> float:
            return (time.monotonic() - t0) * 1000

        await asyncio.sleep(2.5)
        s_start = at()
        router.set_public_silenced(True)  # R19
        await asyncio.sleep(2.0)
        s_end = at()
        router.set_public_silenced(False)
        await asyncio.sleep(1.5)
        r20 = at()
        router.set_no_broadcast({"belcourt"})  # R20: the picture comes from vaux
        await asyncio.sleep(1.5)
        stats = await router.stop_recording()
        end = at()
        writer.close()
        assert router.stats()["hook_errors"] == {}
    finally:
        for c in clients:
            await c.close()
        await router.close()

    assert stats["error"] is None and stats.get("queue_full", 0) == 0, stats
    assert stats["video_keyframes"] >= 2 and stats["black_frames"] == 1, stats
    assert (
        key == recording_key(tmp_path) and (tmp_path / "keys" / "recording-aes256.key").stat().st_mode & 0o777 == 0o600
    )
    assert path.stat().st_mode & 0o777 == 0o600

    # the file is encrypted: no WebM magic at rest; decrypted, PyAV opens and plays it
    raw = path.read_bytes()
    assert b"\x1a\x45\xdf\xa3" not in raw[:64] and b"webm" not in raw
    webm = decrypt(path, key)
    assert webm[:4] == b"\x1a\x45\xdf\xa3"
    out = tmp_path / "plain.webm"
    out.write_bytes(webm)
    with av.open(str(out)) as container:
        kinds = sorted((s.type, s.codec_context.name) for s in container.streams)
        assert kinds == [("audio", "opus"), ("video", "vp8")]
        duration = container.duration / av.time_base
    print(
        f"recording: {len(raw)} bytes encrypted, {len(webm)} bytes WebM, duration {duration:.2f} s "
        f"for {end / 1000:.2f} s recorded; stats {stats}"
    )
    assert abs(duration - end / 1000) < 1.0

    with av.open(str(out)) as container:
        audio = [(float(f.pts * f.time_base) * 1000, rms(f)) for f in container.decode(audio=0)]
    with av.open(str(out)) as container:
        video = [(float(f.pts * f.time_base) * 1000, luma(f)) for f in container.decode(video=0)]

    def audio_in(lo, hi):
        return [r for t, r in audio if lo <= t <= hi]

    def video_in(lo, hi):
        return [y for t, y in video if lo <= t <= hi]

    margin = 500
    before, during, after = (
        audio_in(margin, s_start - margin),
        audio_in(s_start + margin, s_end - margin),
        audio_in(s_end + margin, end - margin),
    )
    assert before and during and after
    assert max(during) < 1e-4, "R19: the sensitive span carries silence"
    # the voice outside the span (a packet lost on a loaded machine is a 20 ms silence)
    assert sum(r > 0.02 for r in before) >= 0.9 * len(before), before
    assert sum(r > 0.02 for r in after) >= 0.9 * len(after), after
    # R19: no video frame in the span; one black key frame marks its start (its time stamp
    # trails the switch by up to the recorder's lag, 200 ms)
    assert video_in(s_start + 100, s_end - margin) == []
    assert [y for y in video_in(s_start - 300, s_start + 100) if y < 20]
    assert len(video_in(margin, s_start - margin)) >= 10 and len(video_in(s_end + margin, r20)) >= 5
    # the president's salle (shade 40) in the picture, then vaux (shade 200) under R20
    assert all(30 < y < 90 for y in video_in(margin, s_start - margin))
    assert all(y > 150 for y in video_in(r20 + margin, end - 100)) and video_in(r20 + margin, end - 100)

    # tampering one byte of the encrypted file, or cutting it, is detected
    for damaged in (raw[: len(raw) // 2] + bytes([raw[len(raw) // 2] ^ 1]) + raw[len(raw) // 2 + 1 :], raw[:-5]):
        path.write_bytes(damaged)
        with pytest.raises(RecordingError):
            decrypt(path, key)
    path.write_bytes(raw)
    assert sha256_file(path) == __import__("hashlib").sha256(raw).hexdigest()
