"""A thin test double of ``sfu.router.Router`` (docs/interfaces.md), for signaling unit
tests only: the end-to-end tests (tests/web/test_ws_real_router.py, tests/browser/) use
the real Router."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sfu.slots import layout


@dataclass
class FakeHealth:
    transmitting: bool = False
    packets_in: int = 0
    packets_out_acked: int = 0
    last_packet_at: float | None = None


class FakeRouter:
    def __init__(self, on_health, on_slots) -> None:
        self.on_health, self.on_slots = on_health, on_slots
        self.calls: list[tuple] = []
        self.muted: dict[str, bool] = {}
        self.audio_only: dict[str, bool] = {}
        self.pinned: str | None = None
        self.president: str | None = None
        self.floor: str | None = None
        self.closed = False
        self.voices = {"active": None, "speaking": []}
        self.recording: Any = None
        self.on_paused = None  # set by the room, as on the Router
        self.on_fallback = None
        self.ice_stalled: set[str] = set()  # peers whose ICE never completes (a test sets them)
        self.on_layers = None

    def slot_layout(self, kind):
        return layout(kind)  # the real slot names (sfu.slots), as the Router gives them

    async def connect_salle(self, salle_id, offer_sdp):
        self.calls.append(("connect_salle", salle_id))
        if "bad" in offer_sdp:
            raise ValueError("unsupported offer")
        return "v=0\r\nanswer-for-" + salle_id

    async def connect_viewer(self, viewer_id, offer_sdp):
        self.calls.append(("connect_viewer", viewer_id))
        return "v=0\r\nanswer-for-viewer"

    async def connect_monitor(self, monitor_id, offer_sdp):
        self.calls.append(("connect_monitor", monitor_id))
        return "v=0\r\nanswer-for-monitor"

    def voice_activity(self):
        return dict(self.voices)

    async def disconnect(self, peer_id):
        self.calls.append(("disconnect", peer_id))

    def connected(self, peer_id):
        return peer_id not in self.ice_stalled

    def set_muted(self, salle_id, muted):
        self.muted[salle_id] = muted

    def set_audio_only(self, salle_id, audio_only):
        self.audio_only[salle_id] = audio_only

    def pin(self, salle_id):
        self.pinned = salle_id

    def set_public_silenced(self, silenced):
        self.public_silenced = silenced

    def set_public_fed(self, fed):
        self.public_fed = fed

    def set_no_broadcast(self, salle_ids):
        self.no_broadcast = frozenset(salle_ids)

    def set_president_salle(self, salle_id):
        self.president = salle_id

    def set_floor_salle(self, salle_id):
        self.floor = salle_id

    def report_reception(
        self, salle_id, *, seconds, video_frames, video_slots, audio_samples, audio_concealed, outgoing_bps=None
    ):
        figures = {
            "seconds": seconds,
            "video_frames": video_frames,
            "video_slots": video_slots,
            "audio_samples": audio_samples,
            "audio_concealed": audio_concealed,
            "outgoing_bps": outgoing_bps,
        }
        self.calls.append(("report_reception", salle_id, {k: v for k, v in figures.items() if v is not None}))

    def health(self, salle_id):
        return FakeHealth()

    def stats(self):
        return {"hook_errors": {}}

    def start_recording(self, sink, **options):
        self.recording = sink
        self.calls.append(("start_recording", None))
        return sink

    async def stop_recording(self):
        if self.recording is None:
            return None
        self.recording = None
        self.calls.append(("stop_recording", None))
        return {"audio_frames": 0, "video_frames": 0, "error": None}

    def traffic(self):
        return {"salles": {}, "viewers": {"out_bytes": 0}, "totals": {"in_bytes": 0, "out_bytes": 0}}

    async def close(self):
        self.closed = True


def fake_router_factory(config, registry, sitting):
    return lambda on_health, on_slots: FakeRouter(on_health, on_slots)
