"""The web application's configuration: one frozen dataclass, built by the CLI or tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from signaling.mailer import SmtpSettings
from signaling.room import ViewerLimits


@dataclass(frozen=True)
class SalleSpec:
    id: str
    name: str


@dataclass(frozen=True)
class SittingSpec:
    """A sitting the server hosts media for: its salles and the president's salle."""

    id: str
    title: str
    salles: tuple[SalleSpec, ...]
    president_salle: str | None = None


@dataclass(frozen=True)
class TurnSettings:
    """TURN servers handed to the browsers (``RTCIceServer``), static or time-limited
    (coturn ``use-auth-secret``: see :mod:`web.turn`)."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = field(default=None, repr=False)
    shared_secret: str | None = field(default=None, repr=False)
    ttl_s: int = 12 * 3600


@dataclass(frozen=True)
class WebConfig:
    host: str = "127.0.0.1"
    port: int = 8443
    #: Serve HTTPS with the certificate in ``data_dir`` (self-signed on first start).
    tls: bool = True
    data_dir: Path = Path("var")
    #: Addresses the media server gathers ICE host candidates on (aioice leaves loopback
    #: out by default, so a demo on 127.0.0.1 must list it). Empty: aioice's default.
    ice_addresses: tuple[str, ...] = ()
    #: Address written in the candidates sent to browsers instead of the gathered one
    #: (behind NAT: the public address, like mediasoup's ``announcedAddress``).
    announced_address: str | None = None
    #: Receive slots for the N loudest voices per salle (besides president and speaker).
    voice_slots: int = 3
    #: How the media plane rewrites, protects and sends each forwarded packet
    #: (``RouterConfig.forwarding``, sfu/forwarding.py: ``python``, ``native``, ``auto``);
    #: None: the Router's default.
    forwarding: str | None = None
    sittings: tuple[SittingSpec, ...] = ()
    #: Session cookie lifetime, seconds.
    session_ttl_s: int = 12 * 3600
    #: Origins allowed to embed the public page in a frame (CSP frame-ancestors).
    public_frame_ancestors: tuple[str, ...] = ("*",)
    #: After a restart, seconds before the journaled transmission states are corrected from
    #: the Router's measures (None: never; kiosks need a few seconds to reconnect).
    reconcile_after_s: float | None = 20.0
    #: Cascading (web/relay.py): public viewers a node serves for one sitting before the
    #: next ones are sent to another node's edge; None: no cascading (one node serves all).
    public_viewers_per_node: int | None = None
    #: The anonymous public's media per sitting on this node (issue 12 point 10,
    #: signaling.room.ViewerLimits): viewers in all, viewers from one address (an IPv6
    #: address counts for its /64), and seconds a viewer's media connection may take.
    public_viewers_max: int = 500
    public_viewers_per_address: int = 20
    media_connect_timeout_s: float = 30.0
    #: Seconds an edge keeps its link to the holder after its last viewer left.
    edge_linger_s: float = 30.0
    #: The event loop (sfu/eventloop.py): ``auto`` runs on uvloop when it is installed (the
    #: media plane forwards inside the loop's datagram callback; docs/performance.md has the
    #: cost per datagram with each loop), ``asyncio`` forces the standard one.
    event_loop: str = "auto"
    #: TURN servers for the browsers (``[turn]``); None: direct UDP only.
    turn: TurnSettings | None = None
    #: The council's SMTP relay for the convocations (``[smtp]``); None: not configured,
    #: the admin prints the convocation and sends it by other means.
    smtp: SmtpSettings | None = None
    #: Privacy (CNIL), stated on /confidentialite from these same values:
    #: days the logs keep full IP addresses (journald/syslog retention, docs/operations.md)
    log_ip_retention_days: int = 30
    #: truncate IP addresses in the access log from the start (IPv4 /24, IPv6 /64)
    log_ip_truncate: bool = True
    #: days the recordings of sittings are kept (règlement intérieur, R5)
    recording_retention_days: int = 365
    #: the council's data protection officer (DPO): name, e-mail or postal address
    dpo_contact: str = (
        "le délégué à la protection des données de la communauté (adresse à configurer : [privacy] dpo_contact)"
    )
    #: The 256-bit AES key of the recordings (R5, signaling/recordings.py); None: the file
    #: ``<data_dir>/keys/recording-aes256.key``, created on first use (mode 0600).
    recording_key_path: Path | None = None
    #: Extra keyword arguments for ``sfu.router.RouterConfig`` (tests tune timings).
    router_options: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def viewer_limits(self) -> ViewerLimits:
        return ViewerLimits(self.public_viewers_max, self.public_viewers_per_address, self.media_connect_timeout_s)

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def base_url(self) -> str:
        host = "localhost" if self.tls and self.host in ("127.0.0.1", "::1", "localhost") else self.host
        return f"{self.scheme}://{host}:{self.port}"
