"""What the media plane moved, per salle: the raw counters of sobriety (signaling.sobriety).

The hot path only adds integers: each :class:`sfu.producer.Producer` counts the octets
it received (``octets_in``; the packets of a salle are its health monitor's
``packets_in``, counted there already), each :class:`sfu.consumer.Consumer`
the octets it sent (``octets_sent``). A :class:`TrafficMeter` samples them from the
router's tick (at most once a second) and turns the deltas into per-salle totals that
survive the producers and consumers (a kiosk that reconnects keeps its figures):

- ``in_audio_bytes``, ``in_video_bytes``: received from the salle's kiosk (``in_packets``
  is added by :meth:`TrafficMeter.snapshot`, from the salle's health monitor);
- ``out_bytes`` (``out_audio_bytes``, ``out_video_bytes``): delivered to the salle;
- ``mesh_in_bytes``: what the salle would have received if every salle were sent every
  other salle's audio and video (a full mesh through the server), each delta of a
  producer counted once for every other salle connected at that sample — time-weighted
  at the sampling interval. Audio-only choices and server-side mutes are kept in that
  counterfactual (video neither from nor to an audio-only salle, no audio from a muted
  one), so that the saving of the slots and the saving of audio-only salles do not overlap;
- ``connected_seconds``, ``audio_only_seconds``;
- ``video_seconds``, ``video_active_bytes``: time with a live video producer while not
  audio-only, and the video octets received meanwhile (an average camera bitrate);
- ``forgone_video_stream_seconds``: while audio-only, the seconds × video streams the
  salle would have received (its video slots, capped by the other salles with video);
- ``video_uplink_audio_only_bytes``: video the kiosk uploaded anyway while audio-only
  (the server drops it).

Every field is additive, so the figures of several runs of a sitting (a restart) add up.
"""

from __future__ import annotations

import time
from typing import Any

FIELDS = (
    "in_audio_bytes",
    "in_video_bytes",
    "out_bytes",
    "out_audio_bytes",
    "out_video_bytes",
    "mesh_in_bytes",
    "connected_seconds",
    "audio_only_seconds",
    "video_seconds",
    "video_active_bytes",
    "forgone_video_stream_seconds",
    "video_uplink_audio_only_bytes",
)

#: seconds between two samples (the router ticks every 0.25 s; sampling is cheaper)
SAMPLE_INTERVAL = 1.0
#: seconds a closed producer is still sampled (its peer connection closes meanwhile)
PRODUCER_GRACE = 10.0


def _empty() -> dict[str, float]:
    return dict.fromkeys(FIELDS, 0)


class TrafficMeter:
    def __init__(self) -> None:
        self.salles: dict[str, dict[str, float]] = {}
        self.viewers_out_bytes = 0
        self._producers: dict[int, list] = {}  # id -> [producer, octets seen, closed at]
        self._consumers: dict[int, list] = {}  # id -> [consumer, octets seen]
        self._last: float | None = None

    def salle(self, salle_id: str) -> dict[str, float]:
        s = self.salles.get(salle_id)
        if s is None:
            s = self.salles[salle_id] = _empty()
        return s

    # registration (from the router's hooks) ------------------------------------
    def producer_added(self, producer: Any) -> None:
        self._producers.setdefault(id(producer), [producer, 0, None])
        self.salle(producer.salle_id)

    def consumer_added(self, consumer: Any) -> None:
        self._consumers.setdefault(id(consumer), [consumer, 0])

    # sampling ---------------------------------------------------------------------
    def maybe_sample(self, router: Any, now: float) -> None:
        if self._last is None or now - self._last >= SAMPLE_INTERVAL:
            self.sample(router, now)

    def sample(self, router: Any, now: float | None = None) -> None:
        """Fold the counters' deltas since the last sample into the per-salle totals."""
        now = time.monotonic() if now is None else now
        dt = 0.0 if self._last is None else max(0.0, now - self._last)
        self._last = now
        audio_only = router.audio_only
        muted = router.muted
        salles = [p for p in router.peers.values() if p.kind == "salle" and not getattr(p, "closed", False)]
        connected = [p.salle_id for p in salles]
        with_video = {p.salle_id for p in salles if "video" in p.producers and p.salle_id not in audio_only}
        video_slots = router.config.video_slots
        for salle_id in connected:
            s = self.salle(salle_id)
            s["connected_seconds"] += dt
            if salle_id in audio_only:
                s["audio_only_seconds"] += dt
                s["forgone_video_stream_seconds"] += dt * min(video_slots, len(with_video - {salle_id}))
            elif salle_id in with_video:
                s["video_seconds"] += dt
        for key, entry in list(self._producers.items()):
            producer, seen, closed_at = entry
            octets = getattr(producer, "octets_in", 0)
            delta = octets - seen
            entry[1] = octets
            src = producer.salle_id
            s = self.salle(src)
            if producer.kind == "video":
                s["in_video_bytes"] += delta
                if src in audio_only:
                    s["video_uplink_audio_only_bytes"] += delta
                else:
                    s["video_active_bytes"] += delta
            else:
                s["in_audio_bytes"] += delta
            if delta:
                for dst in connected:
                    if dst != src and (
                        src not in muted
                        if producer.kind == "audio"
                        else src not in audio_only and dst not in audio_only
                    ):
                        self.salles[dst]["mesh_in_bytes"] += delta
            if producer.closed:
                # a closed producer may still see the packets in flight while its
                # connection closes (and count them, as the router's totals do)
                if closed_at is None:
                    entry[2] = now
                elif now - closed_at > PRODUCER_GRACE:
                    del self._producers[key]
        for key, entry in list(self._consumers.items()):
            consumer, seen = entry
            octets = consumer.octets_sent
            delta = octets - seen
            entry[1] = octets
            peer = consumer.peer
            if delta:
                if peer.kind == "salle":
                    s = self.salle(peer.salle_id)
                    s["out_bytes"] += delta
                    s["out_audio_bytes" if consumer.kind == "audio" else "out_video_bytes"] += delta
                else:
                    self.viewers_out_bytes += delta
            if consumer.closed:
                del self._consumers[key]

    def snapshot(self, router: Any, now: float | None = None) -> dict[str, Any]:
        """Sample now, then the totals (see :meth:`sfu.router.Router.traffic`)."""
        self.sample(router, now)
        salles = {}
        for salle_id, s in sorted(self.salles.items()):
            row = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in s.items()}
            row["in_bytes"] = s["in_audio_bytes"] + s["in_video_bytes"]
            monitor = router.monitors.get(salle_id)
            row["in_packets"] = monitor.packets_in if monitor is not None else 0
            salles[salle_id] = row
        total_in = sum(r["in_bytes"] for r in salles.values())
        total_out_salles = sum(r["out_bytes"] for r in salles.values())
        return {
            "salles": salles,
            "viewers": {"out_bytes": self.viewers_out_bytes},
            "totals": {
                "in_bytes": total_in,
                "out_bytes": total_out_salles + self.viewers_out_bytes,
                "salles_out_bytes": total_out_salles,
                "mesh_in_bytes": sum(r["mesh_in_bytes"] for r in salles.values()),
            },
            "video_slots": router.config.video_slots,
        }
