"""Configuration of the media plane: one frozen value per Router (no globals)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .bandwidth import AllocatorSettings, DemandSettings, EstimatorSettings, FallbackSettings, UplinkFitSettings
from .reception import ReceptionSettings


@dataclass(frozen=True)
class IceSettings:
    """Which addresses the server gathers ICE candidates on and announces.

    See :mod:`sfu.ice` for what aioice 0.13 does by default and why these exist.

    - ``listen_addresses``: the IP addresses to bind UDP sockets on, e.g.
      ``("127.0.0.1",)`` for a loopback demo or test, ``("10.0.0.5",)`` behind a NAT.
      ``None`` means every interface address aioice finds (it leaves out 127.0.0.1),
      plus 127.0.0.1 when ``include_loopback`` is true.
    - ``announced_address``: the address written into the SDP answer instead of the
      bound one (mediasoup's ``announcedAddress``): the public IP of a server behind
      1:1 NAT. The port stays the bound port, so the NAT must keep ports.
    - ``use_ipv6``: also gather IPv6 addresses (only with ``listen_addresses=None``).
    - ``resolve_mdns``: resolve the browser's mDNS ``.local`` host candidates with
      aioice's own multicast resolver (up to 1 s each, and it needs multicast on the
      host). Off by default: the ``.local`` candidates are dropped from the offer and
      the browser's address is learned as a peer-reflexive candidate from its first
      connectivity check, which works everywhere the browser can reach the server.
    """

    listen_addresses: tuple[str, ...] | None = None
    include_loopback: bool = True
    announced_address: str | None = None
    use_ipv6: bool = False
    resolve_mdns: bool = False


@dataclass(frozen=True)
class HealthSettings:
    """Thresholds of the salle transmission health state machine (:mod:`sfu.health`).

    - ``uplink_timeout``: seconds without any RTP from the salle before it is lost.
    - ``downlink_timeout``: seconds a packet sent to the salle may stay unacknowledged
      by its RTCP receiver reports (Chromium sends them every 1 s for video and every
      5 s, randomised, for audio only) before it is lost.
    - ``recover_after``: seconds both directions must flow before it is transmitting
      again (hysteresis: one late packet does not flip the state back and forth).
    """

    uplink_timeout: float = 2.5
    downlink_timeout: float = 10.0
    recover_after: float = 1.0


@dataclass(frozen=True)
class SpeakerSettings:
    """Active-speaker detection (:mod:`sfu.speaker`).

    Levels are RFC 6464 ``-dBov`` values (0 loudest, 127 silence), turned into a
    loudness ``127 - level`` and smoothed with an exponential moving average of time
    constant ``smoothing`` seconds. A new speaker must be louder than the current one
    by ``switch_margin`` (dB) for ``hold`` seconds; below ``silence_threshold``
    (loudness) nobody takes the floor.
    """

    smoothing: float = 0.3
    switch_margin: float = 6.0
    hold: float = 0.8
    silence_threshold: float = 30.0
    stale_after: float = 0.5


@dataclass(frozen=True)
class RouterConfig:
    """Everything a :class:`sfu.router.Router` needs; one per sitting."""

    audio_slots: int = 3
    video_slots: int = 2
    #: how a Consumer rewrites, protects and sends its packets (:mod:`sfu.forwarding`,
    #: issue 17): ``"auto"`` (the default: native when ``sfu._forward`` was built, else
    #: Python), ``"python"`` or ``"native"`` (C and libsrtp2, refused when it was not built)
    forwarding: str = "auto"
    ice: IceSettings = field(default_factory=IceSettings)
    health: HealthSettings = field(default_factory=HealthSettings)
    speaker: SpeakerSettings = field(default_factory=SpeakerSettings)
    packet_cache_size: int = 512
    keyframe_request_interval: float = 0.5
    keyframe_retry_interval: float = 1.0
    #: a subscriber's PLI/FIR (RFC 4585 section 6.3.1, RFC 5104 section 4.3.1) reaches its
    #: publisher at most once per ``keyframe_relay_interval`` per publisher, and each
    #: subscriber's at most once per ``subscriber_keyframe_interval`` (see
    #: :meth:`sfu.producer.Producer.keyframe_wanted`)
    keyframe_relay_interval: float = 1.0
    subscriber_keyframe_interval: float = 4.0
    max_video_bitrate: int = 1_500_000
    tick_interval: float = 0.25
    #: per-subscriber adaptation (:mod:`sfu.adaptation`): every ``adapt_interval`` each
    #: subscriber's estimate is spent on its slots, a slot it cannot carry is paused, and
    #: each publisher's REMB follows the highest budget its subscribers have for it (at
    #: least ``min_video_bitrate``). Off: every slot forwarded, a fixed REMB (the old way)
    adaptation: bool = True
    adapt_interval: float = 0.5
    #: take Chromium's REMB below the video sent as a decrease (sfu.adaptation). Off: on
    #: the shared lab machine its delay-based estimate read CPU starvation as queueing and
    #: paused every picture of unshaped links (docs/media.md); loss alone drives it
    remb_decreases: bool = False
    min_video_bitrate: int = 150_000
    #: the kiosk's simulcast encodings' ``maxBitrate``, smallest first (web/static/rtc.js,
    #: SIMULCAST): a layer switched off at the source costs this when a subscriber asks for it
    simulcast_max_bps: tuple[int, ...] = (150_000, 500_000, 1_200_000)
    #: the largest simulcast layer sent to the president's mosaic (``connect_monitor``):
    #: one small tile per salle, for which the middle layer (360p) is enough
    monitor_max_layer: int = 1
    #: uplink follows demand (sfu.bandwidth.demand): a layer nobody received for
    #: ``off_after_s`` is switched off at the source (``on_layers``), the REMB covers the rest
    demand: DemandSettings = field(default_factory=DemandSettings)
    #: a simulcast publisher whose uplink loses sheds its larger encodings before R3 judges it
    uplink_fit: UplinkFitSettings = field(default_factory=UplinkFitSettings)
    #: optimistic start (two 720p slots and the voices): loss and the browser's REMB
    #: bring a small link down within seconds, whereas a low start would pause every
    #: slot of a good link until probes raised it
    estimator: EstimatorSettings = field(default_factory=lambda: EstimatorSettings(initial_bps=3_500_000))
    #: a paused subscriber is probed after 2 s of calm (not 5): the audio fallback waits
    #: for a probe to fail before it believes a low estimate (sfu.adaptation.tested)
    allocator: AllocatorSettings = field(
        default_factory=lambda: AllocatorSettings(up_all_at_once=True, probe_interval_s=2.0)
    )
    #: what a salle receives, by quality (R7, R17), and its automatic audio fallback (R3)
    reception: ReceptionSettings = field(default_factory=ReceptionSettings)
    fallback: FallbackSettings = field(default_factory=FallbackSettings)
