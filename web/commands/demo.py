"""``seance demo``: serve the demo council on this machine, with its accounts printed.

HTTPS on localhost with a self-signed certificate (generated in the data dir on first
start) by default; ``--http`` serves plain HTTP on 127.0.0.1 (still a secure context for
getUserMedia). Passwords of the demo accounts are renewed at each start and printed, with
the kiosk links of the three salles.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from pathlib import Path

from aiohttp import web

from deliberation.demo import SITTING_ID, demo_agenda, demo_config, demo_council
from sfu import gc_policy
from sfu.eventloop import new_event_loop
from signaling.accounts import AccountStore, member_login
from signaling.auth import TokenSigner, new_password
from signaling.council_store import CouncilStore, now_iso
from signaling.kiosk_links import kiosk_token
from signaling.roles import ROLE_LABELS_FR, Role
from web.app import create_app
from web.config import SalleSpec, SittingSpec, WebConfig
from web.log_privacy import PrivacyAccessLogger
from web.tls import server_context

DEMO_SITTING = "demo"


def demo_sitting() -> SittingSpec:
    """The demo sitting's salles, from the deliberation core's demo council."""
    council = demo_council()
    salles = tuple(SalleSpec(s.id, s.name) for s in council.salles)
    seat = next((s.id for s in council.salles if s.is_seat), salles[0].id)
    return SittingSpec(SITTING_ID, council.name, salles, president_salle=seat)


def seed_demo(data_dir: Path) -> bool:
    """Enter the demo council as a DSI does in /admin: the council (deliberation.demo), its
    sitting with the agenda of the convocation, convened. The running server then hosts it
    like any convened sitting (web.sittings): the application has no demo of its own.
    Nothing is written when the store already holds a council (a demo restarted resumes)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with CouncilStore.in_data_dir(data_dir) as store:
        if store.councils():
            return False
        council = demo_council()
        config = demo_config()
        store.save(council)
        store.save_sitting(council.id, config)
        for item in demo_agenda():
            store.add_agenda_item(council.id, config.id, item)
        store.convene(council.id, config.id, now_iso())
    return True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default=None, help="address to listen on (default: localhost, or 127.0.0.1 with --http)"
    )
    parser.add_argument("--port", type=int, default=None, help="port (default: 8443, or 8080 with --http)")
    parser.add_argument("--http", action="store_true", help="plain HTTP on 127.0.0.1 instead of HTTPS")
    parser.add_argument("--data-dir", type=Path, default=Path("var/demo"), help="instance data directory")
    parser.add_argument(
        "--ice-address",
        action="append",
        default=None,
        help="address to gather ICE candidates on (repeatable; default: 127.0.0.1 and the LAN)",
    )
    parser.add_argument("--announced-address", default=None, help="public address to announce in ICE candidates")


def councillor_login(first_name: str, last_name: str) -> str:
    """« Hélène Marchand » -> ``h.marchand``: the login /admin gives a member (signaling.accounts)."""
    return member_login(first_name, last_name)


def demo_accounts(store: AccountStore, sitting: SittingSpec) -> list[tuple[str, str, Role, str]]:
    """(re)create the demo accounts with fresh passwords: [(login, password, role, description)].

    People come from the deliberation core's demo council: the president (member m01),
    a moderator, one agent per salle (bound to its salle and agent id, R4), one councillor
    account per other member (titulaires and the suppléant; login ``h.marchand``), an
    auditor and an administrator. The secrétaire de séance is the councillor the president
    appoints: no separate account."""
    council = demo_council()
    seat = sitting.president_salle or sitting.salles[0].id
    president = council.member(council.president_id)
    plan: list[tuple[str, Role, str | None, str | None, str, str | None]] = [
        (
            "president",
            Role.PRESIDENT,
            council.president_id,
            seat,
            f"{president.first_name} {president.last_name}" if president else "Présidence",
            None,
        ),
        ("moderateur", Role.MODERATOR, "moderateur", seat, "Modération des micros et de la parole", None),
    ]
    plan += [
        (f"agent-{a.salle_id}", Role.AGENT, None, a.salle_id, a.name, a.id)
        for a in council.agents
        if a.salle_id in {s.id for s in sitting.salles}
    ]
    for m in council.members:
        if m.id == council.president_id:
            continue
        label = (
            m.name + (f" ({m.function})" if m.function else "") + (" — suppléant·e" if m.seat == "suppleant" else "")
        )
        plan.append((councillor_login(m.first_name, m.last_name), Role.COUNCILLOR, m.id, None, label, None))
    plan += [
        ("auditeur", Role.AUDITOR, "auditeur", None, "Auditeur (lecture seule)", None),
        ("admin", Role.ADMIN, "admin", None, "Administration (DSI)", None),
    ]
    out = []
    for login, role, member_id, salle, label, agent_id in plan:
        password = new_password()
        store.set_account(
            login, password, role, member_id=member_id, salle_id=salle, display_name=label, agent_id=agent_id
        )
        out.append((login, password, role, label))
    return out


def account_page(login: str, role: Role, sitting_id: str = DEMO_SITTING) -> str:
    """The page each demo account opens after logging in."""
    return {
        Role.PRESIDENT: "/president",
        Role.MODERATOR: "/moderation",
        Role.AGENT: f"/agent/{login.removeprefix('agent-')}",
        Role.COUNCILLOR: "/elu",
        Role.AUDITOR: f"/audit/{sitting_id}",
        Role.ADMIN: "/admin",
    }.get(role, "/")


def print_banner(config: WebConfig, sitting: SittingSpec, accounts, kiosk_links: list[tuple[str, str]]) -> None:
    base = config.base_url
    line = "─" * 78
    print(line)
    print(f"Séance — démonstration : {sitting.title}")
    print(line)
    print(f"Adresse            : {base}/")
    if config.tls:
        print("                     (certificat auto-signé : acceptez l'avertissement du navigateur une fois)")
    print(f"Diffusion publique : {base}/public/{sitting.id}")
    print(f"Métriques          : {base}/metrics")
    if config.host in ("localhost", "127.0.0.1", "::1"):
        print("Sur un réseau local : --host 0.0.0.0 --ice-address <adresse IP du serveur> (et HTTPS).")
    print()
    print("Bornes des salles (ouvrez chaque lien dans un onglet ou sur le poste de la salle) :")
    for name, url in kiosk_links:
        print(f"  {name}")
        print(f"    {url}")
    print()
    print(f"Comptes (page de connexion : {base}/login ; mots de passe renouvelés à chaque démarrage) :")
    print(f"  {'identifiant':<20}{'mot de passe':<22}{'page':<22}rôle")
    for login, password, role, label in accounts:
        print(f"  {login:<20}{password:<22}{account_page(login, role, sitting.id):<22}{ROLE_LABELS_FR[role]} — {label}")
    print()
    print("Le secrétaire de séance est l'élu que le président désigne : il garde son compte d'élu.")
    print(f"Écran public de chaque salle : {base}/public/{sitting.id} (plein écran, sans connexion).")
    print(line)
    print("Ctrl+C pour arrêter.", flush=True)


def build(args: argparse.Namespace) -> tuple[WebConfig, SittingSpec]:
    tls = not args.http
    host = args.host or ("localhost" if tls else "127.0.0.1")
    port = args.port or (8443 if tls else 8080)
    ice = tuple(args.ice_address) if args.ice_address else ("127.0.0.1",)
    sitting = demo_sitting()
    config = WebConfig(
        host=host,
        port=port,
        tls=tls,
        data_dir=args.data_dir,
        ice_addresses=ice,
        announced_address=args.announced_address,
        sittings=(sitting,),
    )
    return config, sitting


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    config, sitting = build(args)
    seed_demo(config.data_dir)
    store = AccountStore.in_data_dir(config.data_dir)
    signer = TokenSigner.from_data_dir(config.data_dir)
    try:
        accounts = demo_accounts(store, sitting)
        now = int(time.time())  # the links /admin shows, revocable there (signaling.kiosk_links)
        links = [
            (s.name, f"{config.base_url}/salle/{s.id}?token=" + kiosk_token(store, signer, sitting.id, s.id, now))
            for s in sitting.salles
        ]
    finally:
        store.close()

    ssl_context = None
    if config.tls:
        ssl_context = server_context(config.data_dir)
    app = create_app(config)
    print_banner(config, sitting, accounts, links)
    loop, _ = new_event_loop(config.event_loop)
    gc_policy.apply()
    try:
        web.run_app(
            app,
            host=config.host,
            port=config.port,
            ssl_context=ssl_context,
            print=None,
            loop=loop,
            access_log_class=PrivacyAccessLogger,
        )  # T16: no query string, truncated addresses
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    return 0
