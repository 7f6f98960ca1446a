"""``seance serve --config FILE``: serve an installation from its ``seance.toml``.

One process by default. ``server.workers`` (or ``--workers N``, ``auto``: one per core)
runs N worker processes under a supervisor (:mod:`web.workers`), worker *i* on port
``port + i``; ``server.redis`` (or ``--redis URL``) makes this process a node of an
installation of several machines sharing one Redis and one data dir (docs/operations.md,
"Several nodes"). Two ways to face browsers, chosen by the file:

- ``[tls]``: Séance serves HTTPS itself with the council's certificate;
- ``[proxy]``: plain HTTP on loopback behind nginx (``deploy/nginx/seance.conf``), whose
  ``X-Forwarded-For/-Proto/-Host`` are believed only from the listed proxy addresses.

``--check`` validates the file (every key, the TLS files loaded as a TLS server would)
and exits 0 or 1 without serving. It also warns, without failing, about what would
serve but not work: an ICE address this host does not have (kiosks would get candidates
nobody answers on), and a certificate (``[tls] cert``, or the proxy's
``[proxy] certificate``) that is missing, unreadable, expired or expiring within
:data:`CERT_WARN_DAYS` days. The warnings are logged at each start too.

``--add-admin LOGIN`` creates or resets an administrator account in the data dir and
prints its password: the first account of a fresh installation (the others are made
from ``/admin``).

The app's registry gets the process collectors (``process_cpu_seconds_total``,
``process_resident_memory_bytes``, …) and ``seance_sittings{state}``, which
``deploy/grafana/seance.json`` charts with the SFU and signaling metrics.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import errno
import ipaddress
import logging
import socket
import sqlite3
import ssl
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from sfu import gc_policy
from sfu.eventloop import new_event_loop
from web import log_privacy
from web import workers as workers_module
from web.app import create_app
from web.appkeys import ROOMS, SITTINGS
from web.config_file import ConfigError, ServeConfig, load
from web.log_privacy import PrivacyAccessLogger  # T16: no query string, truncated addresses
from web.sittings import convened_specs

log = logging.getLogger(__name__)

SITTING_STATES = ("deliberating", "media_only", "refused")
#: A certificate expiring within this many days is warned about (certbot renews at 30).
CERT_WARN_DAYS = 21


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, required=True, help="the installation's seance.toml")
    parser.add_argument(
        "--check", action="store_true", help="validate the file and the TLS files, exit 0 (valid) or 1, without serving"
    )
    parser.add_argument(
        "--add-admin",
        metavar="LOGIN",
        default=None,
        help="create or reset an administrator account, print its password, exit",
    )
    parser.add_argument(
        "--workers",
        default=None,
        metavar="N",
        help="worker processes on this machine (a number, or auto: one per core); overrides server.workers",
    )
    parser.add_argument(
        "--redis",
        default=None,
        metavar="URL",
        help="redis:// URL shared by the nodes of the installation; overrides server.redis "
        "(prefer server.redis: a password on the command line shows in ps)",
    )
    parser.add_argument("--worker-index", type=int, default=None, help=argparse.SUPPRESS)


# --------------------------------------------------------------------------- pieces


def tls_context(config: ServeConfig) -> ssl.SSLContext | None:
    """The server TLS context from ``[tls]`` (None behind a proxy); raises ConfigError."""
    if config.tls_files is None:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(config.tls_files.cert, config.tls_files.key)
    except (ssl.SSLError, OSError) as err:
        raise ConfigError(
            config.source,
            [
                (
                    "tls.cert",
                    f"certificat ou clé refusés par OpenSSL ({err})",
                    f"certificate or key refused by OpenSSL ({err})",
                )
            ],
        ) from None
    return ctx


class SittingsCollector(Collector):
    """``seance_sittings{state}``: hosted sittings, deliberating, media only, or refused (R21)."""

    def __init__(self, app: web.Application) -> None:
        self.app = app

    def describe(self) -> list:
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = dict.fromkeys(SITTING_STATES, 0)
        sittings = self.app.get(SITTINGS, {})
        for sitting_id in self.app.get(ROOMS, {}):
            service = sittings.get(sitting_id)
            state = "media_only" if service is None else ("refused" if service.error else "deliberating")
            counts[state] += 1
        m = GaugeMetricFamily(
            "seance_sittings", "Hosted sittings, by state (refused: journal does not verify, R21)", labels=["state"]
        )
        for state, n in counts.items():
            m.add_metric([state], n)
        yield m


def build_registry() -> CollectorRegistry:
    """The app's registry with this process's CPU, memory and file descriptors."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)  # full collections stop the loop (sfu.gc_policy)
    return registry


def _ip(text: str | None):
    try:
        return ipaddress.ip_address(text) if text else None
    except ValueError:
        return None


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def forwarded_middleware(trusted: tuple[str, ...]):
    """Believe ``X-Forwarded-For/-Proto/-Host`` from the trusted proxies only.

    The client is the right-most ``X-Forwarded-For`` hop that is not itself a trusted
    proxy (nginx's ``$proxy_add_x_forwarded_for`` appends the address it saw; anything to
    its left was sent by the client and is not believed)."""
    proxies = {ipaddress.ip_address(a) for a in trusted}

    @web.middleware
    async def forwarded(request: web.Request, handler: Handler) -> web.StreamResponse:
        if _ip(request.remote) not in proxies:
            return await handler(request)
        changes: dict[str, str] = {}
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
        for hop in reversed(hops):
            addr = _ip(hop)
            if addr is None:
                break
            if addr not in proxies:
                changes["remote"] = str(addr)
                break
        proto = request.headers.get("X-Forwarded-Proto", "").strip().lower()
        if proto in ("http", "https"):
            changes["scheme"] = proto
        host = request.headers.get("X-Forwarded-Host", "").strip()
        if host and "," not in host:
            changes["host"] = host
        return await handler(request.clone(**changes) if changes else request)

    return forwarded


def build_app(config: ServeConfig, **create_app_kwargs) -> web.Application:
    """create_app with what ``seance serve`` adds: process metrics, sittings gauge, proxy headers."""
    registry = create_app_kwargs.pop("registry", None) or build_registry()
    app = create_app(config.web, registry=registry, **create_app_kwargs)
    registry.register(SittingsCollector(app))
    if config.trusted_proxies:
        app.middlewares.insert(0, forwarded_middleware(config.trusted_proxies))
    return app


# --------------------------------------------------------------------------- warnings


def address_on_host(address: str) -> bool:
    """Whether this host has ``address``: binding a UDP socket to it, as aioice will."""
    ip = ipaddress.ip_address(address)
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.bind((address, 0))
    except OSError as err:
        if err.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.EINVAL):
            return False
        raise
    return True


def certificate_problem(path: Path, now: dt.datetime | None = None) -> tuple[str, str] | None:
    """(French, English) when the PEM certificate at ``path`` will not do, else None."""
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except FileNotFoundError:
        return f"certificat introuvable : {path}", f"certificate not found: {path}"
    except (OSError, ValueError) as err:
        return f"certificat illisible : {path} ({err})", f"unreadable certificate: {path} ({err})"
    now = now or dt.datetime.now(dt.UTC)
    left = cert.not_valid_after_utc - now
    if left.total_seconds() <= 0:
        day = f"{cert.not_valid_after_utc:%Y-%m-%d}"
        return f"certificat expiré le {day} : {path}", f"certificate expired on {day}: {path}"
    if left.days < CERT_WARN_DAYS:
        return (
            f"certificat qui expire dans {left.days} jours : {path} (certbot renew ?)",
            f"certificate expires in {left.days} days: {path} (certbot renew?)",
        )
    return None


def check_warnings(config: ServeConfig) -> list[tuple[str, str, str]]:
    """What serves but will not work, as (key, French, English)."""
    out: list[tuple[str, str, str]] = []
    for i, address in enumerate(config.web.ice_addresses):
        if not address_on_host(address):
            out.append(
                (
                    f"ice.listen_addresses[{i}]",
                    f"{address} n'est pas une adresse de cette machine : les bornes n'y joindront pas le "
                    "serveur (derrière une NAT 1:1, écoutez sur l'adresse privée et annoncez la publique : "
                    "announced_address)",
                    f"{address} is not an address of this host: kiosks will not reach the server there "
                    "(behind a 1:1 NAT, listen on the private address and announce the public one)",
                )
            )
    for key, path in (
        ("tls.cert", config.tls_files.cert if config.tls_files else None),
        ("proxy.certificate", config.proxy_certificate),
    ):
        problem = certificate_problem(path) if path is not None else None
        if problem is not None:
            out.append((key, *problem))
    if config.behind_proxy and config.proxy_certificate is None:
        out.append(
            (
                "proxy.certificate",
                "non renseigné : --check ne peut pas vérifier le certificat de nginx",
                "not set: --check cannot check nginx's certificate",
            )
        )
    if config.web.smtp is None:
        out.append(
            (
                "smtp",
                "section absente : les convocations ne partent pas par courriel, l'administration les imprime "
                "et les envoie par d'autres moyens (docs/operations.md, relais SMTP)",
                "section missing: convocations are not emailed, the admin prints them and sends them otherwise",
            )
        )
    return out


def own_addresses(config: ServeConfig) -> list[str]:
    """The addresses of this installation named in its file: kept whole in the logs."""
    w = config.web
    hosts = [w.host, *w.ice_addresses, w.announced_address, *config.trusted_proxies]
    for url in (config.cluster.redis_url, config.cluster.node_url):
        if url:
            hosts.append(urlsplit(url.replace("{port}", "1")).hostname)
    return [h for h in hosts if h]


def render_warnings(warnings: list[tuple[str, str, str]]) -> str:
    return "\n".join(f"  attention / warning : {key} : {fr} / {en}" for key, fr, en in warnings)


# --------------------------------------------------------------------------- actions


def _hosted(config: ServeConfig) -> list[str]:
    """The sittings served: those of ``[[sittings]]``, then those convened in /admin."""
    ids = [s.id for s in config.web.sittings]
    try:
        convened = convened_specs(config.web.data_dir)
    except (OSError, sqlite3.Error):  # a data dir this user may not read (--check as another user)
        convened = []
    return ids + [s.id for s in convened if s.id not in ids]


def _summary(config: ServeConfig) -> str:
    w = config.web
    if config.tls_files:
        face = f"HTTPS {w.host}:{w.port} (certificat {config.tls_files.cert})"
    else:
        face = f"HTTP {w.host}:{w.port} derrière le mandataire {', '.join(config.trusted_proxies)}"
    ice = ", ".join(w.ice_addresses) or "adresses des interfaces"
    lines = [
        f"{config.source} : configuration valide / valid configuration",
        f"  accès      : {face}",
        f"  données    : {w.data_dir}",
        f"  ICE        : {ice}" + (f", annoncée {w.announced_address}" if w.announced_address else ""),
        "  TURN       : "
        + (
            ", ".join(config.turn.urls)
            + (" (secret partagé)" if config.turn.shared_secret else " (identifiants fixes)")
            if config.turn
            else "aucun"
        ),
        f"  séances    : {', '.join(_hosted(config)) or 'aucune convoquée (séances : /admin)'}",
    ]
    c = config.cluster
    if c.clustered:
        lines.append(
            f"  nœuds      : {c.workers} processus"
            + (f", Redis {c.redis_url.split('@')[-1]}, bail {c.lease_ttl_s:g} s" if c.redis_url else " (sans Redis)")
        )
    return "\n".join(lines)


def add_admin(config: ServeConfig, login: str) -> int:
    from signaling.accounts import AccountStore
    from signaling.auth import new_password
    from signaling.roles import Role

    login = login.strip()
    if not login or len(login) > 128:
        print("seance serve --add-admin : identifiant vide ou trop long / empty or too long login", file=sys.stderr)
        return 1
    config.web.data_dir.mkdir(parents=True, exist_ok=True)
    store = AccountStore.in_data_dir(config.web.data_dir)
    try:
        password = new_password()
        store.set_account(login, password, Role.ADMIN, member_id=login, display_name="Administration (DSI)")
    finally:
        store.close()
    print(f"Compte administrateur « {login} » : mot de passe {password}")
    print("À changer ou à transmettre par un canal sûr ; page : /admin")
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        config = load(args.config)
        ssl_context = tls_context(config)
    except ConfigError as err:
        print(err.render(), file=sys.stderr)
        return 1
    warnings = check_warnings(config)
    if args.check:
        print(_summary(config))
        if warnings:
            print(render_warnings(warnings))
        return 0
    if args.add_admin is not None:
        return add_admin(config, args.add_admin)

    # T16: every record cleaned, others' addresses truncated, this node's own kept whole
    log_privacy.install(own=own_addresses(config), truncate=config.web.log_ip_truncate)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    config.web.data_dir.mkdir(parents=True, exist_ok=True)
    if args.workers is None:
        workers = config.cluster.workers
    elif args.workers == "auto":
        workers = workers_module.cpu_count()
    elif args.workers.isdigit() and 1 <= int(args.workers) <= 64:
        workers = int(args.workers)
    else:
        print(
            "seance serve --workers : un nombre entre 1 et 64, ou auto / a number between 1 and 64, or auto",
            file=sys.stderr,
        )
        return 1
    redis_url = args.redis or config.cluster.redis_url
    if workers > 1 and args.worker_index is None:
        extra = ["--redis", args.redis] if args.redis else []
        log.info("%s | %d processus", _summary(config).replace("\n", " |"), workers)
        return workers_module.supervise(args.config, workers, extra, config.web.data_dir)
    placement = workers_module.placement_for(config, args.worker_index, workers, redis_url)
    port = workers_module.worker_port(config.web.port, args.worker_index or 0)
    app = build_app(config, placement=placement) if placement is not None else build_app(config)
    log.info("%s", _summary(config).replace("\n", " |"))
    for key, fr, en in warnings:
        log.warning("%s : %s / %s", key, fr, en)
    if placement is not None:
        log.info(
            "nœud %s : %s (port %d%s)",
            placement.node.id,
            placement.node.url,
            port,
            f", Redis {redis_url.split('@')[-1]}" if redis_url else "",
        )  # never the password
    loop, loop_name = new_event_loop(config.web.event_loop)
    log.info("boucle d'événements : %s", loop_name)
    gc_policy.apply()  # after the app is built: it lives as long as the process
    try:
        web.run_app(
            app,
            host=config.web.host,
            port=port,
            ssl_context=ssl_context,
            loop=loop,
            print=None,
            shutdown_timeout=10.0,
            access_log_class=PrivacyAccessLogger,
        )
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    return 0
