"""The Router: the media plane of one sitting (mediasoup vocabulary).

One Router per sitting; a Peer per browser (salle kiosk or public viewer); a
Producer per incoming track; a Consumer per (subscriber, slot). Packets are
forwarded as they are, never decoded (see :mod:`sfu.transport`).

Public API (docs/interfaces.md, used by signaling)::

    router = Router(RouterConfig(...), on_health=cb(salle_id, transmitting),
                    on_slots=cb(peer_id, {slot: salle_id | None}), registry=registry)
    router.on_paused = cb(peer_id, [slot, ...])  # the video slots paused for that subscriber
    router.on_fallback = cb(salle_id, audio_only, reason, figures)  # automatic R3 switch
    router.on_layers = cb(salle_id, [bool, ...])  # its simulcast encodings to keep sending
    router.report_reception(salle_id, seconds=…, video_frames=…, …)  # the kiosk's own figures
    router.slot_layout("salle" | "viewer") -> list[dict]
    answer_sdp = await router.connect_salle(salle_id, offer_sdp)
    answer_sdp = await router.connect_viewer(viewer_id, offer_sdp)
    answer_sdp = await router.connect_monitor(monitor_id, offer_sdp)  (every salle's picture)
    router.voice_activity() -> {"active", "speaking"}
    await router.disconnect(peer_id)
    router.connected(peer_id) -> bool  (its ICE and DTLS completed)
    router.set_muted(salle_id, bool); router.set_audio_only(salle_id, bool)
    router.set_public_silenced(bool); router.set_public_fed(bool)  (R19; R2, R11)
    router.pin(salle_id | None); router.set_president_salle(salle_id)
    router.set_floor_salle(salle_id | None)  (the salle of whoever has the floor)
    router.health(salle_id) -> SalleHealth
    router.stats() -> dict
    router.traffic() -> dict  (per salle octets, for sobriety: sfu.traffic)
    await router.close()

Callbacks are plain callables invoked on the event loop; an exception in one is
logged and swallowed (the media plane never dies of a listener).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from prometheus_client.registry import CollectorRegistry

from . import library_surface
from .adaptation import SlotSource, affordable, layers_of, lowest_bps, priority_of, proven, tested
from .bandwidth import TOP_TEMPORAL, FallbackMachine, Layer, LinkSample, ProducerLayers, State, UplinkDemand, UplinkFit
from .config import HealthSettings, IceSettings, RouterConfig, SpeakerSettings
from .consumer import Consumer
from .forwarding import SETTINGS as FORWARDING_SETTINGS
from .forwarding import native_available
from .health import HealthMonitor, SalleHealth
from .metrics import SfuCounters, register
from .peer import Peer
from .producer import Producer
from .reception import KioskFigures, Reception
from .slots import PolicyInput, assign_monitor, assign_salle, assign_viewer, layout
from .speaker import SpeakerDetector
from .traffic import TrafficMeter
from .transport.certificate import Certificate

__all__ = [
    "HealthSettings",
    "IceSettings",
    "Router",
    "RouterConfig",
    "SalleHealth",
    "SpeakerSettings",
]

logger = logging.getLogger(__name__)

HealthCallback = Callable[[str, bool], Any]
SlotsCallback = Callable[[str, dict[str, str | None]], Any]
PausedCallback = Callable[[str, list[str]], Any]
LayersCallback = Callable[[str, list[bool]], Any]
#: what a simulcast publisher's REMB leaves above ``min_video_bitrate`` for its voice
UPLINK_AUDIO_ROOM = 100_000
#: a consumer whose allocation grants a higher VP8 temporal layer waits this long for a
#: frame to go up at (layer sync, RFC 7741 section 4.2) before asking for a key frame
TEMPORAL_UP_WAIT_S = 2.0
FallbackCallback = Callable[[str, bool, str, dict], Any]


class Router:
    def __init__(
        self,
        config: RouterConfig | None = None,
        on_health: HealthCallback | None = None,
        on_slots: SlotsCallback | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.config = config or RouterConfig()
        if self.config.forwarding not in FORWARDING_SETTINGS:
            raise ValueError(f"forwarding must be one of {', '.join(FORWARDING_SETTINGS)}")
        if self.config.forwarding == "native" and not native_available():
            raise ValueError("forwarding = native, but sfu._forward was not built (gcc, python3-dev, libsrtp2-dev)")
        problems = library_surface.check_surface()  # about 5 ms, once per sitting
        if problems:
            raise RuntimeError(
                "aiortc, aioice or pylibsrtp moved from what sfu/library_surface.py was checked against: "
                + "; ".join(problems)
            )
        #: the DTLS certificate of its connections (RFC 8827 section 6.5:
        #: one per endpoint is enough, as a browser keeps one per RTCPeerConnection);
        #: generating one costs about 9 ms of the event loop, once per sitting, not per join
        self.dtls_certificate = Certificate.generate()
        self.on_health = on_health
        self.on_slots = on_slots
        #: the video slots paused for a subscriber, when they change (sfu.adaptation):
        #: signaling tells the page, which shows « image suspendue : débit insuffisant »
        self.on_paused: PausedCallback | None = None
        #: an automatic audio-only switch of a salle, or its return to video (R3), with
        #: the reason and figures to journal; signaling issues the SetAudioOnly command,
        #: which comes back as set_audio_only. Without a listener it is applied here
        self.on_fallback: FallbackCallback | None = None
        #: dynacast: which of a salle's simulcast encodings to keep sending (smallest first),
        #: when it changes; signaling tells the kiosk, which sets ``active`` on each encoding
        self.on_layers: LayersCallback | None = None
        self.uplink = UplinkDemand(self.config.demand)
        self.layers_sent: dict[str, list[bool]] = {}  # per salle, as last told to signaling
        #: per simulcast salle: what its uplink carries (sfu.bandwidth.uplink_fit), for its current track
        self.uplink_fits: dict[str, tuple[Producer, UplinkFit]] = {}
        self.receptions: dict[str, Reception] = {}  # per salle: what it receives, by quality
        self.fallbacks: dict[str, FallbackMachine] = {}  # per salle: the automatic R3 switch
        self.auto_audio_only: set[str] = set()  # switched by the fallback (not by an agent)
        self.trials: set[str] = set()  # audio-only salles receiving video again on trial
        self._adapted_at = -1e9
        self.counters = SfuCounters()
        self.counters.live_consumers = self._live_consumers
        self.collector = register(registry, self.counters, self._gauges)
        self.peers: dict[str, Peer] = {}
        self.monitors: dict[str, HealthMonitor] = {}
        self.speaker = SpeakerDetector(self.config.speaker)
        self.muted: set[str] = set()
        self.audio_only: set[str] = set()
        self.public_silenced = False  # R19
        self.public_fed = True  # False outside the open sitting: public viewers get nothing
        self.no_broadcast: frozenset[str] = frozenset()  # R20
        self.pinned: str | None = None
        self.president_salle: str | None = None
        self.floor_salle: str | None = None  # the salle of whoever has the floor
        self.closed = False
        self._tick_task: asyncio.Task | None = None
        self._locks: dict[str, asyncio.Lock] = {}
        self._background: set[asyncio.Task] = set()
        self.recorder = None  # sfu.recorder.Recorder while the programme is recorded (R5)
        self.upstream = None  # sfu.cascade.UpstreamLink on an edge (cascading)
        self.traffic_meter = TrafficMeter()  # per salle octets (sobriety, see traffic())

    # --- public API -------------------------------------------------------------------
    def slot_layout(self, kind: str) -> list[dict]:
        """Transceivers the browser must add, in order (see :func:`sfu.slots.layout`)."""
        return layout(kind, self.config.video_slots, self.config.audio_slots)

    async def connect_salle(self, salle_id: str, offer_sdp: str) -> str:
        """Answer a salle kiosk's offer; replaces a previous peer of that salle."""
        monitor = self.monitors.get(salle_id)
        if monitor is None:
            monitor = self.monitors[salle_id] = HealthMonitor(self.config.health)
        self.receptions[salle_id] = Reception(self.config.reception)
        self.fallbacks.setdefault(salle_id, FallbackMachine(self.config.fallback))
        return await self._connect(salle_id, "salle", offer_sdp, monitor)

    async def connect_viewer(self, viewer_id: str, offer_sdp: str) -> str:
        """Answer a public viewer's offer (receive only: programme and voices)."""
        return await self._connect(viewer_id, "viewer", offer_sdp, None)

    async def connect_monitor(self, monitor_id: str, offer_sdp: str) -> str:
        """Answer a monitor's offer (the president's and the moderator's mosaic): every
        salle's picture, no audio (see :func:`sfu.slots.assign_monitor`)."""
        return await self._connect(monitor_id, "monitor", offer_sdp, None)

    def voice_activity(self) -> dict[str, Any]:
        """Who speaks now, from the RFC 6464 levels the speaker detector tracks:
        ``{"active": salle | None, "speaking": [salles above the silence threshold]}``."""
        now = time.monotonic()
        threshold = self.config.speaker.silence_threshold
        speaking = sorted(
            p.salle_id
            for p in self.peers.values()
            if p.kind == "salle"
            and p.salle_id not in self.muted
            and self.speaker.loudness(p.salle_id, now) >= threshold
        )
        return {"active": self.speaker.active, "speaking": speaking}

    async def disconnect(self, peer_id: str) -> None:
        peer = self.peers.get(peer_id)
        if peer is not None:
            await self._remove(peer)

    def connected(self, peer_id: str) -> bool:
        """Whether the peer's ICE and DTLS completed (RFC 8445 § 8, RFC 8827 § 6.5: its
        connection is ``connected``); False for a peer still connecting, or unknown."""
        peer = self.peers.get(peer_id)
        return peer is not None and peer.connected

    def set_muted(self, salle_id: str, muted: bool) -> None:
        """Server-side mute: the salle's audio is dropped here, whatever its kiosk does."""
        if muted:
            self.muted.add(salle_id)
        else:
            self.muted.discard(salle_id)
        peer = self._salle_peer(salle_id)
        if peer is not None and "audio" in peer.producers:
            peer.producers["audio"].muted = muted
        self._reassign()

    def set_public_silenced(self, silenced: bool) -> None:
        """R19: while a passage is sensitive, public viewers receive no audio and no video."""
        if silenced != self.public_silenced:
            self.public_silenced = silenced
            self._reassign()

    def set_public_fed(self, fed: bool) -> None:
        """R2, R11: public viewers (and the relays to other nodes) are fed only while the
        sitting is open; before the opening, during a suspension and after the closing no
        packet from the salles is forwarded to them. Salles keep hearing and seeing each other."""
        if fed != self.public_fed:
            self.public_fed = fed
            self._reassign()

    def set_no_broadcast(self, salle_ids: set[str] | frozenset[str]) -> None:
        """R20: these salles' cameras are never sent to public viewers."""
        salle_ids = frozenset(salle_ids)
        if salle_ids != self.no_broadcast:
            self.no_broadcast = salle_ids
            self._reassign()

    def set_audio_only(self, salle_id: str, audio_only: bool) -> None:
        """R3: the salle's video is neither forwarded nor does it receive video."""
        if audio_only:
            self.audio_only.add(salle_id)
        else:
            self.audio_only.discard(salle_id)
            self.auto_audio_only.discard(salle_id)
        self.trials.discard(salle_id)
        peer = self._salle_peer(salle_id)
        if peer is not None and "video" in peer.producers:
            peer.producers["video"].paused = audio_only
        self._reassign()

    def pin(self, salle_id: str | None) -> None:
        self.pinned = salle_id
        self._reassign()

    def set_president_salle(self, salle_id: str | None) -> None:
        self.president_salle = salle_id
        self._reassign()

    def set_floor_salle(self, salle_id: str | None) -> None:
        """The salle of the councillor the chair gave the floor to: it goes on the public
        programme (unless a salle is pinned) and into every kiosk's slots."""
        if salle_id != self.floor_salle:
            self.floor_salle = salle_id
            self._reassign()

    def start_recording(self, sink: Any, **options: Any) -> Any:
        """R5: record the public programme into ``sink`` (see :mod:`sfu.recorder`)."""
        from .recorder import Recorder

        if self.recorder is None:
            self.recorder = Recorder(self, sink, **options)
            self.recorder.start()
            self.recorder.reassign(self._policy_input())
        return self.recorder

    async def stop_recording(self) -> dict | None:
        """Finish the recording (the sink stays open for its owner); its stats."""
        recorder, self.recorder = self.recorder, None
        return await recorder.stop() if recorder is not None else None

    def report_reception(
        self,
        salle_id: str,
        *,
        seconds: float,
        video_frames: int,
        video_slots: int,
        audio_samples: int,
        audio_concealed: int,
        outgoing_bps: float | None = None,
    ) -> None:
        """The kiosk's own reception figures over the last ``seconds`` (its ``getStats``,
        sent over signaling): judged with its receiver reports (:mod:`sfu.reception`)."""
        reception = self.receptions.get(salle_id)
        if reception is not None and self._salle_peer(salle_id) is not None:
            figures = KioskFigures(seconds, video_frames, video_slots, audio_samples, audio_concealed, outgoing_bps)
            reception.kiosk_report(time.monotonic(), figures)

    def audio_received(self, peer: Peer, fraction_lost: float) -> None:
        """A receiver report of a salle's kiosk about a voice we send it (Consumer)."""
        reception = self.receptions.get(peer.salle_id) if peer.salle_id is not None else None
        if reception is not None:
            reception.audio_report(time.monotonic(), fraction_lost)

    def health(self, salle_id: str) -> SalleHealth:
        monitor = self.monitors.get(salle_id)
        if monitor is None:
            return SalleHealth(False, 0, 0, None)
        return monitor.snapshot(time.monotonic(), time.time())

    def stats(self) -> dict:
        c = self.counters
        g = self._gauges()
        return {
            "peers": sum(g["peers"].values()),
            "producers": sum(g["producers"].values()),
            "consumers": sum(g["consumers"].values()),
            "peers_by_kind": g["peers"],
            "packets_in": sum(c.packets_in.values()),
            "bytes_in": sum(c.bytes_in.values()),
            "packets_out": sum(c.packets_out.values()),
            "bytes_out": sum(c.bytes_out.values()),
            "packets_in_by_kind": dict(c.packets_in),
            "packets_out_by_kind": dict(c.packets_out),
            "dropped": dict(c.dropped),
            "nacks_received": c.nacks_received,
            "nacks_sent": c.nacks_sent,
            "rtx_recovered": c.recovered,
            "retransmitted": c.retransmitted,
            "plis_received": c.plis_received,
            "keyframe_requests_sent": c.keyframe_requests_sent,
            "source_switches": c.source_switches,
            "hook_errors": dict(c.hook_errors),
            "active_speaker": self.speaker.active,
            "transmitting": g["transmitting"],
            "slots": {pid: dict(p.assignments) for pid, p in self.peers.items()},
            "paused": {pid: sorted(p.paused_slots) for pid, p in self._subscribers() if p.paused_slots},
            "downlink_kbps": {
                pid: round(p.downlink.estimator.estimate(time.monotonic()) / 1000) for pid, p in self._subscribers()
            },
            "upstream": self.upstream.stats() if self.upstream is not None else None,
        }

    def traffic(self) -> dict:
        """What the sitting moved, per salle and in total (see :mod:`sfu.traffic`):
        ``{"salles": {id: {in_bytes, in_audio_bytes, in_video_bytes, out_bytes,
        audio_only_seconds, mesh_in_bytes, ...}}, "viewers": {out_bytes}, "totals": {...}}``.
        Its sums equal :meth:`stats`' ``bytes_in`` and ``bytes_out``; still valid after close."""
        return self.traffic_meter.snapshot(self)

    async def close(self) -> None:
        self.closed = True
        await self.stop_recording()
        if self.upstream is not None:
            await self.upstream.close()
        if self._tick_task is not None:
            self._tick_task.cancel()
            try:
                await self._tick_task
            except (asyncio.CancelledError, Exception):
                pass
            self._tick_task = None
        for peer in list(self.peers.values()):
            await self._remove(peer)
        if self._background:
            await asyncio.wait(list(self._background), timeout=5.0)

    # --- hooks from peers (sfu.peer.Peer, sfu.cascade.UpstreamSlot) ---------------------
    def observe_level(self, salle_id: str, level: int, now: float) -> None:
        self.speaker.observe(salle_id, level, now)

    def producer_added(self, peer: Peer, producer: Producer) -> None:
        self.traffic_meter.producer_added(producer)
        if producer.layers and peer.salle_id is not None:
            self.layers_sent.pop(peer.salle_id, None)  # a new connection sends every encoding
        if producer.kind == "audio":
            producer.muted = peer.salle_id in self.muted
        else:
            producer.paused = peer.salle_id in self.audio_only
        self._reassign()

    def producer_removed(self, peer: Peer, producer: Producer) -> None:
        if not self.closed:
            self._reassign()

    def consumer_added(self, peer: Peer, consumer: Consumer) -> None:
        self.traffic_meter.consumer_added(consumer)
        self._apply(peer, consumer)

    def peer_gone(self, peer: Peer) -> None:
        """The peer's connection failed or was closed by the browser."""
        if self.peers.get(peer.peer_id) is peer and not self.closed:
            task = asyncio.get_running_loop().create_task(self._remove(peer))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    # --- peers built outside connect_* (a cascade's pseudo-salles, the fuzz harness) -----
    def register_peer(self, peer: Any) -> None:
        """Count ``peer`` among this Router's peers under its ``peer_id`` (its producers
        and consumers then announce themselves through the hooks above)."""
        if self.peers.get(peer.peer_id) is not peer:
            self.peers[peer.peer_id] = peer

    def unregister_peer(self, peer: Any) -> None:
        """Forget ``peer`` if it is still the one registered under its id."""
        if self.peers.get(peer.peer_id) is peer:
            del self.peers[peer.peer_id]

    def reassign(self) -> None:
        """Assign every subscriber's slots again from the current state (after peers
        were registered or unregistered from outside)."""
        self._reassign()

    # --- cascading (sfu.cascade) ------------------------------------------------------------
    def attach_upstream(self, link: Any) -> None:
        """Make ``link`` (a :class:`sfu.cascade.UpstreamLink`) this edge's one upstream
        link; the Router ticks from now on (the link's slots are adapted like salles)."""
        if self.closed:
            raise RuntimeError("router closed")
        if self.upstream is not None:
            raise RuntimeError("this router already has an upstream link")
        self.upstream = link
        self._ensure_ticking()

    def detach_upstream(self, link: Any) -> None:
        """``link`` closed for good (its pseudo-salles unregistered): viewers reassigned."""
        if self.upstream is link:
            self.upstream = None
        self._reassign()

    # --- internals ------------------------------------------------------------------------
    async def _connect(self, peer_id: str, kind: str, offer_sdp: str, monitor: HealthMonitor | None) -> str:
        if self.closed:
            raise RuntimeError("router closed")
        self._ensure_ticking()
        lock = self._locks.setdefault(peer_id, asyncio.Lock())
        async with lock:
            old = self.peers.get(peer_id)
            if old is not None:
                await self._remove(old, replaced=True)
            peer = Peer(self, peer_id, kind, monitor)
            self.peers[peer_id] = peer
            if monitor is not None:
                monitor.connect()
            try:
                answer = await peer.negotiate(offer_sdp)
            except BaseException:
                await self._remove(peer)
                raise
            self._reassign()
            return answer

    async def _remove(self, peer: Peer, replaced: bool = False) -> None:
        current = self.peers.get(peer.peer_id) is peer
        if current:
            del self.peers[peer.peer_id]
        await peer.close()
        # a peer already replaced by a newer one of the same salle says nothing
        if peer.salle_id is not None and current and not replaced:
            self.speaker.forget(peer.salle_id)
            monitor = self.monitors.get(peer.salle_id)
            if monitor is not None and monitor.lost() is False:
                self._emit_health(peer.salle_id, False)
        if not self.closed:
            self._reassign()

    def _salle_peer(self, salle_id: str) -> Peer | None:
        peer = self.peers.get(salle_id)
        return peer if peer is not None and peer.kind == "salle" else None

    def _ensure_ticking(self) -> None:
        if self._tick_task is None or self._tick_task.done():
            self._tick_task = asyncio.get_running_loop().create_task(self._tick_loop())

    async def _tick_loop(self) -> None:
        while not self.closed:
            await asyncio.sleep(self.config.tick_interval)
            try:
                self.tick(time.monotonic())
            except Exception as exc:
                self.counters.hook_errors["router.tick"] += 1
                logger.exception("router tick failed: %r", exc)

    def tick(self, now: float) -> None:
        """Periodic work: speaker, slots, health, key frame retries."""
        eligible = {
            p.salle_id
            for p in self.peers.values()
            if p.kind == "salle" and "audio" in p.producers and p.salle_id not in self.muted
        }
        self.speaker.update(now, eligible)
        self._reassign()
        for salle_id, monitor in self.monitors.items():
            changed = monitor.evaluate(now)
            if changed is not None:
                self._emit_health(salle_id, changed)
        if self.config.adaptation and now - self._adapted_at >= self.config.adapt_interval:
            self._adapted_at = now
            self.adapt(now)
        self._select_layers(now)
        retry = self.config.keyframe_retry_interval
        for peer in self.peers.values():
            for consumer in peer.consumers.values():
                if consumer.pending is not None and not consumer.paused and now - consumer.pending_since >= retry:
                    consumer.pending_since = now
                    consumer.pending.request_keyframe()
        self.traffic_meter.maybe_sample(self, now)

    # --- adaptation (sfu.adaptation) --------------------------------------------------------
    def adapt(self, now: float) -> None:
        """Each subscriber's estimate spent on its slots (a slot it cannot carry paused),
        then each publisher's REMB set to the highest budget a subscriber has for it."""
        for peer in self.peers.values():
            for producer in peer.producers.values():
                producer.sample_rates(now)
                for layer in producer.layers:
                    layer.sample_rates(now)
        first = (self.pinned, self.president_salle)
        speaker = self.speaker.active
        wanted: dict[int, float] = {}  # id(producer) -> the most a subscriber could take of it
        received: list[tuple[str, Layer | None]] = []  # (salle, layer) per consumer of a simulcast track
        for _, peer in self._subscribers():
            slots: list[SlotSource] = []
            audio_bps = 0.0
            octets = 0
            for consumer in peer.consumers.values():
                octets += consumer.octets_sent
                source = consumer.pending or consumer.source
                if consumer.kind == "audio":
                    audio_bps += source.rate.bps() if source is not None else 0.0
                elif source is None:
                    slots.append(SlotSource(consumer.slot, None, 0.0, 2))
                else:
                    salle = source.salle_id
                    slots.append(
                        SlotSource(
                            consumer.slot,
                            salle,
                            source.rate.bps(),
                            priority_of(salle, first, speaker),
                            layers_of(source.track, now, self.config.simulcast_max_bps, self._switched_off(salle)),
                            self.config.monitor_max_layer if peer.kind == "monitor" else None,
                        )
                    )
            machine = self.fallbacks.get(peer.salle_id) if peer.kind == "salle" else None
            floor = machine.probe_bps if machine is not None else 0.0
            allocation = peer.downlink.decide(now, octets, audio_bps, slots, floor)
            if peer.kind == "salle":
                self._judge_salle(now, peer, audio_bps, slots)
            for consumer in peer.consumers.values():
                if consumer.kind == "video":
                    consumer.set_paused(consumer.slot in allocation.paused)
                    granted = allocation.slots.get(consumer.slot)
                    consumer.layer = granted.spatial if granted is not None else 0  # resumes on the smallest
                    consumer.temporal.set_target(granted.temporal if granted is not None else TOP_TEMPORAL)
                    source = consumer.pending or consumer.source
                    if source is not None and source.track.layers:
                        received.append((source.salle_id, granted))
            for slot, bps in affordable(peer.downlink, slots).items():
                source = peer.consumers[slot].pending or peer.consumers[slot].source
                if source is not None:
                    wanted[id(source.track)] = max(wanted.get(id(source.track), 0.0), bps)
            if peer.downlink.paused != peer.paused_slots:
                peer.paused_slots = peer.downlink.paused
                self._emit_paused(peer.peer_id, sorted(peer.paused_slots))
        cfg = self.config
        recorded = self.recorder.video.source if self.recorder is not None else None
        if recorded is not None:
            recorded = recorded.track
            if recorded.layers:  # the recording keeps the programme's largest picture
                received.append((recorded.salle_id, Layer(len(recorded.layers) - 1, TOP_TEMPORAL)))
        self._uplink_demand(now, received)
        for peer in self.peers.values():
            producer = peer.producers.get("video")
            if producer is None or producer.layers:
                continue
            want = wanted.get(id(producer))
            if producer is recorded or want is None:
                producer.remb_bps = cfg.max_video_bitrate  # the recording, or nobody to fit
            else:
                producer.remb_bps = int(min(max(want, cfg.min_video_bitrate), cfg.max_video_bitrate))

    def _switched_off(self, salle: str) -> list[int]:
        """The layers of ``salle`` switched off at the source because nobody received them
        (dynacast: offered to the allocators, so that a subscriber that can carry one asks
        for it again), not those its own uplink cannot carry (sfu.bandwidth.uplink_fit)."""
        fit = self.uplink_fits.get(salle)
        top = fit[1].top if fit is not None else None
        return [i for i, on in enumerate(self.layers_sent.get(salle, ())) if not on and (top is None or i <= top)]

    def _uplink_top(self, salle: str, track: Producer, now: float) -> int:
        """The largest encoding ``salle``'s uplink carries now (sfu.bandwidth.uplink_fit),
        judged on the worst loss of the encodings it sends; a new track starts with all."""
        fit = self.uplink_fits.get(salle)
        if fit is None or fit[0] is not track:
            fit = self.uplink_fits[salle] = (track, UplinkFit(len(track.layers), self.config.uplink_fit))
        on = self.layers_sent.get(salle)
        losses = [
            layer.loss_fraction
            for layer in track.active_layers(now)
            if layer.loss_fraction is not None and (on is None or layer.spatial >= len(on) or on[layer.spatial])
        ]
        before = fit[1].top
        top = fit[1].observe(now, max(losses) if losses else None)
        if top != before:
            logger.info("salle %s uplink: largest encoding sent %d (was %d), loss %s", salle, top, before, losses)
        return top

    def _uplink_demand(self, now: float, received: list[tuple[str, Layer | None]]) -> None:
        """Uplink follows demand (issue 11, point 3; LiveKit's dynacast): each simulcast
        publisher's REMB covers the encodings some subscriber received lately, and one
        nobody received for ``demand.off_after_s`` is switched off at the source."""
        caps = dict(enumerate(self.config.simulcast_max_bps))
        tracks = {
            peer.salle_id: producer
            for peer in self.peers.values()
            if peer.salle_id is not None and (producer := peer.producers.get("video")) is not None and producer.layers
        }
        producers = {
            salle: ProducerLayers(
                salle,
                layers_of(track, now, self.config.simulcast_max_bps, self._switched_off(salle)),
                max_bps={i: float(bps) for i, bps in caps.items() if i < len(track.layers)},
            )
            for salle, track in tracks.items()
        }
        for salle, demand in self.uplink.update(now, producers, received).items():
            track = tracks[salle]
            top = self._uplink_top(salle, track, now)
            active = [demand.active.get(i, True) and i <= top for i in range(len(track.layers))]
            remb = (
                sum(caps.get(i, 0) for i, on in enumerate(active) if on) if top < len(active) - 1 else demand.remb_bps
            )
            # never below what the R3 fallback asks of a salle's uplink (its voice plus
            # min_video_bitrate, judged on the browser's own estimate, which our REMB caps):
            # at 150 kbit/s an unshaped salle went audio-only in the lab
            track.remb_bps = int(max(min(remb, demand.remb_bps), self.config.min_video_bitrate + UPLINK_AUDIO_ROOM))
            if active != self.layers_sent.get(salle, [True] * len(active)):
                self.layers_sent[salle] = active
                logger.info("salle %s simulcast layers on: %s", salle, active)
                if self.on_layers is not None:
                    try:
                        self.on_layers(salle, list(active))
                    except Exception:
                        logger.exception("on_layers callback failed")
        for salle in set(self.layers_sent) - set(tracks):
            del self.layers_sent[salle]
        for salle in set(self.uplink_fits) - set(tracks):
            del self.uplink_fits[salle]

    def _judge_salle(self, now: float, peer: Peer, audio_bps: float, slots: list[SlotSource]) -> None:
        """A salle's reception by quality (R7, R17) and its automatic audio fallback (R3)."""
        salle = peer.salle_id
        assert salle is not None
        reception = self.receptions.get(salle)
        monitor = self.monitors.get(salle)
        if reception is None or monitor is None:
            return
        usable = reception.audio_usable(now)
        if usable is None and any(
            c.kind == "audio" and c.source is not None and c.packets_sent > 0 for c in peer.consumers.values()
        ):
            usable = False  # voices are sent to it and nothing says yet that they arrive usable
        monitor.audio_usable = usable
        machine = self.fallbacks[salle]
        if salle in self.audio_only and salle not in self.auto_audio_only:
            return  # switched by its agent: theirs to undo
        others = [
            lowest_bps(p.producers["video"], now)
            for _, p in self._subscribers()
            if p.kind == "salle" and p.salle_id != salle and "video" in p.producers
        ]
        cheapest = min((bps for bps in others if bps > 0), default=None)
        if cheapest is None:
            return  # no picture to receive: nothing to judge
        own_audio = peer.producers["audio"].rate.bps() if "audio" in peer.producers else 0.0
        own_video = peer.producers.get("video")
        est = peer.downlink.estimator
        # (the kiosk's decoded frames are not used here: a picture frozen at a salle with a
        # good link is the publisher's uplink, judged on the publisher's side; the lab's
        # first run sent an unshaped salle audio-only because the weak salle's picture froze)
        down_loss = est.loss
        # the estimate judges the downlink once a probe has tried it (or while the salle is
        # audio-only: the machine's own trial does); loss and frozen pictures judge it always
        judged = tested(peer.downlink, now) or machine.state is not State.VIDEO
        sample = LinkSample(
            down_bps=max(est.estimate(now), machine.probe_bps) if judged else None,
            down_need_bps=audio_bps + cheapest,
            # audio-only, its camera is off: its browser's send estimate does not grow while
            # it sends only its voice and says nothing of what the camera would need (in the
            # lab it kept video from coming back for a minute after the link was restored)
            up_bps=reception.outgoing_bps(now) if machine.state is State.VIDEO else None,
            up_need_bps=own_audio + self.config.min_video_bitrate,
            down_loss=down_loss,
            # a simulcast publisher still sending larger encodings sheds them first
            # (sfu.bandwidth.uplink_fit): its loss judges the salle once it sends its smallest alone
            up_loss=self._judged_uplink_loss(now, salle, own_video.loss_fraction if own_video is not None else None),
        )
        switch = machine.observe(now, sample)
        trial = machine.state is State.TRIAL
        if trial != (salle in self.trials):
            (self.trials.add if trial else self.trials.discard)(salle)
            # trials are not journaled (the salle stays audio-only for R3 until one succeeds):
            # the log is where a DSI sees them tried and why one failed
            if trial:
                logger.info("salle %s: video trial begins", salle)
            elif switch is None:
                logger.info("salle %s: video trial failed, next in %.0f s: %s", salle, machine.retry_after, sample)
            self._reassign()
        if switch is None:
            return
        if switch.reason == "trial":
            proven(peer.downlink, now, sample.down_need_bps)
        if switch.audio_only:
            self.auto_audio_only.add(salle)
        logger.info(
            "salle %s audio_only=%s by itself (%s): %s", salle, switch.audio_only, switch.reason, switch.figures
        )
        if self.on_fallback is None:
            self.set_audio_only(salle, switch.audio_only)
            if switch.audio_only:
                self.auto_audio_only.add(salle)
            return
        try:
            self.on_fallback(salle, switch.audio_only, switch.reason, dict(switch.figures))
        except Exception:
            logger.exception("on_fallback callback failed")

    def _judged_uplink_loss(self, now: float, salle: str, loss: float | None) -> float | None:
        """The uplink loss R3 judges ``salle`` on: all of it when it sends one encoding (no
        simulcast, or nobody needs the larger ones), else as its uplink's shedding says
        (sfu.bandwidth.uplink_fit: once the smallest is alone, or at once when severe)."""
        fit = self.uplink_fits.get(salle)
        on = self.layers_sent.get(salle)
        if fit is None or (on is not None and not any(on[1:])):
            return loss
        return fit[1].judged_loss(now, loss)

    def _subscribers(self) -> list[tuple[str, Peer]]:
        """The browsers' peers (not a cascade's upstream pseudo-salles), by id."""
        return [(pid, p) for pid, p in self.peers.items() if isinstance(p, Peer)]

    def _emit_paused(self, peer_id: str, slots: list[str]) -> None:
        if self.on_paused is None:
            return
        try:
            self.on_paused(peer_id, slots)
        except Exception:
            logger.exception("on_paused callback failed")

    def _policy_input(self) -> PolicyInput:
        now = time.monotonic()
        salles = [p for p in self.peers.values() if p.kind == "salle"]
        video = {p.salle_id for p in salles if "video" in p.producers and p.salle_id not in self.audio_only}
        audio = {p.salle_id for p in salles if "audio" in p.producers and p.salle_id not in self.muted}
        ids = [p.salle_id for p in salles]
        recency = self.speaker.recency(ids)
        # loudest first, in 6 dB steps so that noise does not reorder silent salles
        loudest = sorted(ids, key=lambda s: (-int(self.speaker.loudness(s, now) // 6), recency.index(s)))
        return PolicyInput(
            video_sources=video,
            audio_sources=audio,
            president=self.president_salle,
            pinned=self.pinned,
            speaker=self.speaker.active,
            floor=self.floor_salle,
            recency=recency,
            loudest=loudest,
            public_silenced=self.public_silenced or not self.public_fed,
            no_broadcast=self.no_broadcast,
        )

    def _reassign(self) -> None:
        if self.closed:
            return
        inp = self._policy_input()
        cfg = self.config
        for peer in list(self.peers.values()):
            if peer.kind == "salle":
                new = assign_salle(
                    peer.salle_id,
                    inp,
                    peer.assignments,
                    cfg.video_slots,
                    cfg.audio_slots,
                    receives_video=peer.salle_id not in self.audio_only or peer.salle_id in self.trials,
                )
            elif peer.kind == "monitor":
                new = assign_monitor(inp, peer.assignments)
            else:
                new = assign_viewer(inp, peer.assignments, cfg.audio_slots)
            new = {slot: new.get(slot) for slot in new if slot in peer.slots}
            if new != peer.assignments:
                peer.assignments = new
                for consumer in peer.consumers.values():
                    self._apply(peer, consumer)
                self._emit_slots(peer.peer_id, dict(new))
        if self.recorder is not None:
            self.recorder.reassign(inp)

    def _apply(self, peer: Peer, consumer: Consumer) -> None:
        salle = peer.assignments.get(consumer.slot)
        producer = None
        if salle is not None:
            source_peer = self._salle_peer(salle)
            if source_peer is not None:
                producer = source_peer.producers.get(consumer.kind)
        consumer.set_source(producer.select(consumer.layer) if producer is not None else None)

    def _select_layers(self, now: float) -> None:
        """Each video consumer of a simulcast track on the layer it should forward: its
        allocation's, within what the publisher sends now (a layer that stops is left for
        the next one down; the switch waits for that layer's key frame, Consumer.forward).
        A consumer whose allocation grants a higher VP8 temporal layer and that found no
        layer-sync frame to go up at for :data:`TEMPORAL_UP_WAIT_S` asks for a key frame."""
        for peer in self.peers.values():
            for consumer in peer.consumers.values():
                current = consumer.pending or consumer.source
                if consumer.kind != "video" or current is None:
                    continue
                if consumer.temporal.stalled(now, TEMPORAL_UP_WAIT_S) and consumer.source is not None:
                    consumer.source.keyframe_wanted(consumer, now)  # no layer-sync frame came: start again
                if current.track is current:
                    continue
                wanted = current.track.select(consumer.layer, now)
                if wanted is not current:
                    consumer.set_source(wanted)

    def _emit_health(self, salle_id: str, transmitting: bool) -> None:
        if self.on_health is None:
            return
        try:
            self.on_health(salle_id, transmitting)
        except Exception:
            logger.exception("on_health callback failed")

    def _emit_slots(self, peer_id: str, assignments: dict[str, str | None]) -> None:
        if self.on_slots is None:
            return
        try:
            self.on_slots(peer_id, assignments)
        except Exception:
            logger.exception("on_slots callback failed")

    def _live_consumers(self) -> list[Consumer]:
        return [c for p in self.peers.values() for c in p.consumers.values()]

    def _gauges(self) -> dict[str, Any]:
        peers: dict[str, int] = {"salle": 0, "viewer": 0}
        producers: dict[str, int] = {"audio": 0, "video": 0}
        consumers: dict[str, int] = {"audio": 0, "video": 0}
        for p in self.peers.values():
            peers[p.kind] = peers.get(p.kind, 0) + 1
            for k in p.producers:
                producers[k] = producers.get(k, 0) + 1
            for c in p.consumers.values():
                consumers[c.kind] = consumers.get(c.kind, 0) + 1
        return {
            "peers": peers,
            "producers": producers,
            "consumers": consumers,
            "transmitting": {s: m.transmitting for s, m in self.monitors.items()},
        }
