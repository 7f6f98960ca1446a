"""The naive baseline of the benchmark: aiortc's decode/re-encode path with ``MediaRelay``.

``python -m bench.mediarelay_server --port P --salles N`` — a tiny server, kept out of
``sfu/`` on purpose, that speaks the subset of Séance's ``/ws`` protocol the synthetic
salles use (``hello``, ``join`` → ``slots`` with the layout, ``offer`` → ``answer``, the
``slots`` assignments pushed), so the same load generator drives it. It is what an SFU
built the obvious way on aiortc does: every incoming track is **decoded** by aiortc's
receiver, ``MediaRelay`` hands each decoded frame to every subscriber, and every
subscriber's sender **re-encodes** it (VP8, Opus). No tokens are checked.

Slots are fixed, as in the Janus run (``bench.synthetic_salle.subscriptions``): video
of the president's salle and of the next salle, audio of the ``voices`` next salles.
Stopped by its PID (SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys

from bench.seance_server import SITTING, salle_id
from bench.synthetic_salle import subscriptions


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--salles", type=int, required=True)
    p.add_argument("--data-dir", default=None)  # accepted for SeanceServer, unused
    p.add_argument("--voices", type=int, default=3)
    p.add_argument("--sittings", type=int, default=1)  # accepted, unused (one sitting)
    p.add_argument("--loop", default="asyncio")  # accepted, unused
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    import aioice.ice
    from aiohttp import WSMsgType, web
    from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    from aiortc.contrib.media import MediaRelay
    from aiortc.mediastreams import MediaStreamTrack

    # loopback only, like the Séance server of the benchmark (aioice leaves 127.0.0.1 out)
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

    n, voices = args.salles, args.voices
    relay = MediaRelay()
    sources: dict[tuple[int, str], MediaStreamTrack] = {}  # (salle, kind) -> its incoming track
    waiting: dict[tuple[int, str], list] = {}  # (salle, kind) -> slot tracks wanting it
    pcs: set = set()

    class SlotTrack(MediaStreamTrack):
        """What a subscriber's sender encodes: the decoded frames of a source, through
        ``MediaRelay`` (latest frame, unbuffered), once the source has published."""

        def __init__(self, kind: str) -> None:
            super().__init__()
            self.kind = kind
            self.source: MediaStreamTrack | None = None
            self.ready = asyncio.Event()

        def set_source(self, track: MediaStreamTrack) -> None:
            self.source = relay.subscribe(track, buffered=False)
            self.ready.set()

        async def recv(self):
            await self.ready.wait()
            return await self.source.recv()

    def want(key: tuple[int, str], slot: SlotTrack) -> None:
        if key in sources:
            slot.set_source(sources[key])
        else:
            waiting.setdefault(key, []).append(slot)

    def layout() -> list[dict]:
        out = [
            {"kind": "audio", "direction": "sendonly", "slot": "audio-out"},
            {"kind": "video", "direction": "sendonly", "slot": "video-out"},
        ]
        out += [{"kind": "video", "direction": "recvonly", "slot": f"video-{i}"} for i in range(2)]
        out += [{"kind": "audio", "direction": "recvonly", "slot": f"audio-{i}"} for i in range(voices)]
        return out

    async def ws_handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=1 << 20)
        await ws.prepare(request)
        index: int | None = None
        pc: RTCPeerConnection | None = None
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            rid = data.get("id")
            kind = data.get("type")
            if kind == "hello":
                token = str(data.get("token", ""))
                index = int(token[1:]) if token[:1] == "s" and token[1:].isdigit() else None
                await ws.send_json({"type": "welcome", "re": rid, "role": "kiosk", "salle": token, "sitting": SITTING})
            elif kind == "join" and index is not None:
                video, audio = subscriptions(index, n, voices)
                assignments = {f"video-{i}": salle_id(j) for i, j in enumerate(video)}
                assignments |= {f"audio-{i}": salle_id(j) for i, j in enumerate(audio)}
                await ws.send_json(
                    {
                        "type": "slots",
                        "re": rid,
                        "as": "salle",
                        "peer": salle_id(index),
                        "layout": layout(),
                        "assignments": assignments,
                    }
                )
            elif kind == "offer" and index is not None:
                # max-bundle, as sfu/peer.py: with aiortc 1.16's default "balanced"
                # policy the second video m-line's transport is discarded by BUNDLE and
                # the incoming video is never decoded
                pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
                pcs.add(pc)
                me = index

                @pc.on("track")
                def on_track(track: MediaStreamTrack, me: int = me) -> None:
                    key = (me, track.kind)
                    sources[key] = track
                    for slot in waiting.pop(key, []):
                        slot.set_source(track)

                await pc.setRemoteDescription(RTCSessionDescription(data["sdp"], "offer"))
                video, audio = subscriptions(index, n, voices)
                want_by_kind = {"video": list(video), "audio": list(audio)}
                # the client adds its transceivers in layout() order: its two sendonly
                # tracks, then its recvonly slots, where we send the relayed source
                for t in pc.getTransceivers()[2:]:
                    if want_by_kind[t.kind]:
                        src = want_by_kind[t.kind].pop(0)
                        slot = SlotTrack(t.kind)
                        t.direction = "sendonly"
                        t.sender.replaceTrack(slot)
                        want((src, t.kind), slot)
                    else:
                        t.direction = "inactive"
                await pc.setLocalDescription(await pc.createAnswer())
                await ws.send_json({"type": "answer", "re": rid, "sdp": pc.localDescription.sdp})
            else:
                await ws.send_json({"type": "error", "re": rid, "code": "unsupported", "message": kind})
        if pc is not None:
            await pc.close()
            pcs.discard(pc)
        return ws

    async def announce(_app: web.Application) -> None:
        tokens = {salle_id(i): salle_id(i) for i in range(n)}
        print(json.dumps({"event": "ready", "sitting": SITTING, "tokens": tokens, "loop": "asyncio"}), flush=True)

    async def close_all(_app: web.Application) -> None:
        await asyncio.gather(*(pc.close() for pc in list(pcs)), return_exceptions=True)

    app = web.Application()
    app.router.add_get("/ws", ws_handler)
    app.on_startup.append(announce)
    app.on_shutdown.append(close_all)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, handle_signals=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
