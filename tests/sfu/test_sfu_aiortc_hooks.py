"""Fails loudly when an aiortc/aioice upgrade moves what sfu/aiortc_hooks.py relies on."""

import queue
import threading
import tomllib
from pathlib import Path

import aiortc.rtcpeerconnection as pc_module
import aiortc.rtcrtpreceiver as rx_module

from sfu import aiortc_hooks
from sfu.metrics import SfuCounters


def test_aiortc_surface_unchanged():
    problems = aiortc_hooks.check_surface()
    assert problems == [], "aiortc internals moved, re-check sfu/aiortc_hooks.py:\n" + "\n".join(problems)


ROOT = Path(__file__).resolve().parents[2]


def test_the_three_libraries_are_pinned_to_the_versions_checked():
    """pyproject.toml and constraints.txt pin aiortc, aioice and pylibsrtp to exactly the
    versions check_surface() was written against (issue 11 point 8): an upgrade is a
    change of the pins and of the surface module together."""
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = {d.split("==")[0].strip(): d.split("==")[1].strip() for d in dependencies if "==" in d}
    constraints = dict(
        line.strip().split("==") for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line
    )
    for dist, checked in aiortc_hooks.PINNED.items():
        assert pins.get(dist) == checked, f"pyproject.toml pins {dist}=={pins.get(dist)}, checked {checked}"
        assert constraints.get(dist) == checked, f"constraints.txt pins {dist}=={constraints.get(dist)}"


def test_the_surface_check_refuses_another_installed_version(monkeypatch):
    monkeypatch.setitem(aiortc_hooks.PINNED, "aioice", "0.12.0")
    problems = aiortc_hooks.check_surface()
    assert problems == ["aioice 0.13.0 installed, checked against 0.12.0"]


def test_install_rebinds_the_names_in_rtcpeerconnection():
    aiortc_hooks.install()
    assert pc_module.RTCDtlsTransport is aiortc_hooks.SfuDtlsTransport
    assert pc_module.RTCRtpReceiver is aiortc_hooks.SfuRtpReceiver
    assert pc_module.RTCRtpSender is aiortc_hooks.SfuRtpSender
    assert pc_module.RTCIceGatherer is aiortc_hooks.SfuIceGatherer
    assert rx_module.get_decoder is aiortc_hooks._get_decoder
    assert rx_module.decoder_worker is aiortc_hooks._decoder_worker
    aiortc_hooks.install()  # idempotent
    assert aiortc_hooks.check_surface() == []


def test_decoder_calls_for_owned_receivers_are_counted():
    """frames_decoded is not vacuous: a decode on an owned receiver's queue counts."""
    aiortc_hooks.install()
    counters = SfuCounters()
    decoded = []

    class FakeDecoder:
        def decode(self, frame):
            decoded.append(frame)
            return []

    class Codec:
        name = "fake"
        mimeType = "video/fake"

    original = aiortc_hooks._original_get_decoder
    aiortc_hooks._original_get_decoder = lambda codec: FakeDecoder()
    try:
        q = queue.Queue()
        q._seance_counters = counters
        q.put((Codec(), "frame-1"))
        q.put((Codec(), "frame-2"))
        q.put(None)

        import asyncio

        loop = asyncio.new_event_loop()
        runner = threading.Thread(target=loop.run_forever)
        runner.start()
        try:
            output = asyncio.run_coroutine_threadsafe(_make_queue(), loop).result(5)
            t = threading.Thread(target=rx_module.decoder_worker, args=(loop, q, output, threading.Event()))
            t.start()
            t.join(5)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            runner.join(5)
            loop.close()
    finally:
        aiortc_hooks._original_get_decoder = original
    assert decoded == ["frame-1", "frame-2"]
    assert counters.frames_decoded == 2


async def _make_queue():
    import asyncio

    return asyncio.Queue()


async def test_owned_video_receivers_hold_no_bitrate_estimator_or_jitter_buffer():
    """An owned receiver never uses aiortc's receive path: its 1,000-bucket bitrate
    estimator and 512-entry jitter buffer would only lengthen full garbage collections
    (sfu.gc_policy). A client's receiver in the same process keeps them."""
    from aiortc.rtcdtlstransport import RTCCertificate, RTCDtlsTransport
    from aiortc.rtcicetransport import RTCIceGatherer, RTCIceTransport

    aiortc_hooks.install()

    class Owner:
        counters = SfuCounters()

    dtls = RTCDtlsTransport(RTCIceTransport(RTCIceGatherer()), [RTCCertificate.generateCertificate()])
    with aiortc_hooks.owned_by(Owner()):
        owned = aiortc_hooks.SfuRtpReceiver("video", dtls)
    client = aiortc_hooks.SfuRtpReceiver("video", dtls)
    assert owned._RTCRtpReceiver__remote_bitrate_estimator is None
    assert owned._RTCRtpReceiver__jitter_buffer is None
    assert client._RTCRtpReceiver__remote_bitrate_estimator is not None
    assert client._RTCRtpReceiver__jitter_buffer is not None


def test_gc_policy_freezes_the_built_process_and_spaces_full_collections():
    import subprocess
    import sys

    code = (
        "import gc; from sfu import gc_policy; before = gc.get_threshold(); gc_policy.apply(); "
        "print(gc.get_freeze_count() > 1000, before[2], gc.get_threshold()[2])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["True", "10", str(100)], out.stderr
