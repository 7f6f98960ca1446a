"""The VP8 depacketizer, the Opus TOC, the encrypted writer, and the retention purge (R5)."""

from __future__ import annotations

import io
import json
import os
import random
from datetime import UTC, date, datetime

import pytest

from sfu.depacketize import Vp8Depacketizer, opus_samples, parse_rtp, vp8_keyframe_size
from signaling.recordings import EncryptedWriter, RecordingError, decrypt, new_recording_path
from web.cli import main as cli_main
from web.commands.recordings import purge

KEY_FRAME = b"\x50\x42\x00\x9d\x01\x2a\xa0\x00\x78\x00" + bytes(range(200))  # 160x120, P=0
DELTA = b"\x31\x02\x00" + bytes(range(100))  # P=1


def descriptor(start: bool, pid: int = 0, picture_id: int = 7) -> bytes:
    # X=1, S, PID; then I=1 and a 7-bit PictureID (RFC 7741 section 4.2)
    return bytes([0x80 | (0x10 if start else 0) | pid, 0x80, picture_id & 0x7F])


def packetize(frame: bytes, seq: int, size: int = 60) -> list[tuple[int, bool, bytes]]:
    parts = [frame[i : i + size] for i in range(0, len(frame), size)]
    return [(seq + i, i == len(parts) - 1, descriptor(i == 0) + p) for i, p in enumerate(parts)]


def test_vp8_frames_split_over_packets_are_reassembled_in_any_order():
    d = Vp8Depacketizer()
    packets = packetize(KEY_FRAME, 100)
    assert len(packets) == 4
    out = []
    for seq, marker, payload in [packets[2], packets[0], packets[3], packets[1]]:
        out += d.push(seq, 9000, marker, payload)
    assert len(out) == 1 and out[0].data == KEY_FRAME and out[0].keyframe
    assert (out[0].width, out[0].height) == (160, 120) == vp8_keyframe_size(KEY_FRAME)
    frames = [f for seq, m, p in packetize(DELTA, 104, 40) for f in d.push(seq, 12000, m, p)]
    assert [f.data for f in frames] == [DELTA] and not frames[0].keyframe


def test_a_lost_packet_drops_the_frame_and_output_waits_for_a_key_frame():
    d = Vp8Depacketizer()
    # output starts at a key frame: a delta frame first is dropped
    assert [f for s, m, p in packetize(DELTA, 1) for f in d.push(s, 100, m, p)] == []
    assert d.need_keyframe
    assert len([f for s, m, p in packetize(KEY_FRAME, 10) for f in d.push(s, 200, m, p)]) == 1
    lost = packetize(DELTA, 14, 30)
    assert len(lost) == 4
    for s, m, p in lost[:1] + lost[2:]:  # the second packet never arrives
        assert d.push(s, 300, m, p) == []
    # the next frame completes: the incomplete one is given up, and so is this delta frame
    assert [f for s, m, p in packetize(DELTA, 18) for f in d.push(s, 400, m, p)] == []
    assert d.need_keyframe and d.dropped_frames >= 2
    frames = [f for s, m, p in packetize(KEY_FRAME, 22) for f in d.push(s, 500, m, p)]
    assert len(frames) == 1 and frames[0].keyframe and not d.need_keyframe
    # a late packet of a frame already given up is ignored
    assert d.push(*lost[1][:1], 300, lost[1][1], lost[1][2]) == []


def test_parse_rtp_and_opus_durations():
    rtp = bytes([0x80, 0xE0, 0x01, 0x02]) + (1234).to_bytes(4, "big") + b"\x00\x00\x00\x01" + b"\xfc\xff\xfe"
    p = parse_rtp(rtp)
    assert (p.seq, p.ts, p.marker, p.payload) == (0x0102, 1234, True, b"\xfc\xff\xfe")
    assert parse_rtp(b"\x00" * 5) is None
    assert opus_samples(b"\xfc\xff\xfe") == 960  # CELT FB 20 ms, one frame
    assert opus_samples(bytes([0x08 << 3 | 1])) == 2 * 480  # two SILK 10 ms frames
    assert opus_samples(bytes([0x78 | 3, 3])) == 3 * 960  # code 3, three 20 ms frames
    assert opus_samples(b"") == 0


def test_the_encrypted_writer_survives_seeks_back_and_detects_changes(tmp_path):
    key = os.urandom(32)
    rng = random.Random(5)
    path = tmp_path / "r.webm.enc"
    w = EncryptedWriter(path, key, chunk_size=100, keep=2)
    ref = bytearray()
    for _ in range(40):
        if ref and rng.random() < 0.25:
            w.seek(rng.randrange(len(ref)))
        pos = w.tell()
        data = os.urandom(rng.randrange(1, 90))
        w.write(data)
        ref[pos : pos + len(data)] = data
    w.seek(0, io.SEEK_END)
    w.close()
    assert decrypt(path, key) == bytes(ref) and w.reopened > 0
    raw = path.read_bytes()
    with pytest.raises(RecordingError):
        decrypt(path, os.urandom(32))
    chunk = 12 + 100 + 16
    # two chunks swapped, the last chunk dropped
    swapped = raw[:28] + raw[28 + chunk : 28 + 2 * chunk] + raw[28 : 28 + chunk] + raw[28 + 2 * chunk :]
    for damaged in (swapped, raw[: 28 + chunk * ((len(raw) - 28) // chunk)]):
        path.write_bytes(damaged)
        with pytest.raises(RecordingError):
            decrypt(path, key)


def _journal(data_dir, sitting, days):
    p = data_dir / "sittings" / sitting / "journal.jsonl"
    p.parent.mkdir(parents=True)
    p.write_text(json.dumps({"seq": 0, "council": {"reglement": {"retention_days": days, "recording": True}}}) + "\n")


def test_purge_deletes_what_the_reglement_no_longer_keeps(tmp_path, capsys):
    _journal(tmp_path, "s1", 30)
    old = new_recording_path(tmp_path, "s1", now=datetime(2026, 1, 1, 18, 0, tzinfo=UTC))
    new = new_recording_path(tmp_path, "s1", now=datetime(2026, 2, 20, 18, 0, tzinfo=UTC))
    for p in (old, new):
        p.write_bytes(b"x")
    today = date(2026, 3, 1)  # old: kept until 2026-01-31; new: until 2026-03-22
    assert purge(tmp_path, dry_run=True, today=today) == [old]
    assert old.exists() and new.exists() and "supprimerait" in capsys.readouterr().out
    assert cli_main(["recordings", "purge", "--data-dir", str(tmp_path), "--dry-run", "--today", "2026-03-01"]) == 0
    assert old.exists() and str(old) in capsys.readouterr().out
    assert cli_main(["recordings", "purge", "--data-dir", str(tmp_path), "--today", "2026-03-01"]) == 0
    out = capsys.readouterr().out
    assert not old.exists() and new.exists() and f"supprimé {old}" in out and str(new) not in out
    # a sitting without a journal: nothing deleted unless the period is given
    orphan = new_recording_path(tmp_path, "s2", now=datetime(2020, 1, 1, tzinfo=UTC))
    orphan.write_bytes(b"x")
    assert purge(tmp_path, today=today) == [] and orphan.exists()
    assert purge(tmp_path, retention_days=365, today=today) == [orphan] and not orphan.exists()


def test_purge_with_the_installation_s_config(tmp_path, capsys):
    """--config: the data dir of seance.toml, and its [privacy] recording_retention_days for
    a sitting without a journal (what /confidentialite states for it); no default data dir."""
    data = tmp_path / "data"
    _journal(data, "s1", 30)
    journaled = new_recording_path(data, "s1", now=datetime(2026, 1, 1, tzinfo=UTC))
    orphan = new_recording_path(data, "s2", now=datetime(2025, 12, 1, tzinfo=UTC))
    kept = new_recording_path(data, "s2", now=datetime(2026, 2, 25, tzinfo=UTC))
    for p in (journaled, orphan, kept):
        p.write_bytes(b"x")
    conf = tmp_path / "seance.toml"
    conf.write_text(
        f'[server]\ndata_dir = "{data}"\n[proxy]\ntrusted = ["127.0.0.1"]\n[privacy]\nrecording_retention_days = 60\n'
    )
    assert cli_main(["recordings", "purge", "--config", str(conf), "--today", "2026-03-01"]) == 0
    assert not journaled.exists() and not orphan.exists() and kept.exists()
    assert "conservation 60 jours" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # neither --config nor --data-dir: refused, nothing scanned
        cli_main(["recordings", "purge", "--dry-run"])
    assert "--config" in capsys.readouterr().err
    conf.write_text("[server]\n")
    assert cli_main(["recordings", "purge", "--config", str(conf)]) == 2 and kept.exists()


def test_the_recorders_queue_is_bounded_and_its_drops_counted():
    from sfu.recorder import Recorder

    class Producer:
        def __init__(self):
            self.consumers = []

        def attach(self, c):
            self.consumers.append(c)

        def detach(self, c):
            self.consumers.remove(c)

    recorder = Recorder(router=None, sink=io.BytesIO(), queue_size=3)  # thread not started
    producer = Producer()
    recorder.audio.set_source(producer)
    assert producer.consumers == [recorder.audio]
    for i in range(10):
        recorder.audio.forward(producer, b"x", None, i, i, False, 0.0, None, {})
    assert recorder.queue.qsize() == 3 and recorder.counters["queue_full"] == 7
    other = Producer()
    other.consumers.append(recorder.audio)
    recorder.audio.forward(other, b"x", None, 0, 0, False, 0.0)  # not its source: detached
    assert other.consumers == []
