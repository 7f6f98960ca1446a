"""``seance.toml``: the configuration file of ``seance serve``, read with stdlib ``tomllib``.

:func:`load` turns a file into a :class:`ServeConfig`: the :class:`web.config.WebConfig`
the app is built from, plus what only the serving shell needs (TLS files, trusted
reverse proxies, TURN servers for the browsers). Every key is checked; an unknown key
is refused, and every problem names its key in French then in English, so that
``seance serve --check`` tells a DSI exactly what to fix. All problems of a file are
reported at once.

Layout (``deploy/seance.toml`` is a commented example)::

    [server]   host, port, data_dir, workers, redis, node_url, lease_ttl_s (web/cluster.py)
    [tls]      cert, key                          (HTTPS served by Séance itself)
    [proxy]    trusted = ["127.0.0.1", "::1"], certificate  (or: plain HTTP on loopback behind nginx)
    [ice]      listen_addresses, announced_address
    [turn]     urls, and username + credential, or shared_secret / shared_secret_file, ttl_s
    [media]    voice_slots, forwarding
    [web]      session_ttl_s, public_frame_ancestors, reconcile_after_s, public_viewers_max,
               public_viewers_per_address, media_connect_timeout_s
    [smtp]     host, port, security (starttls, tls, none), user, password_file, from, ca_file
    [privacy]  dpo_contact, log_ip_retention_days, log_ip_truncate, recording_retention_days
    [[sittings]] id, title, president_salle, salles = [{id, name}, ...]

Exactly one of ``[tls]`` and ``[proxy]``: browsers only give the camera to a secure
context, so Séance is never served in plain HTTP except to a reverse proxy on loopback.

TURN time-limited credentials follow coturn's ``use-auth-secret`` ("TURN REST API",
draft-uberti-behave-turn-rest-00): username ``<expiry unix time>:<user>``, password
``base64(HMAC-SHA1(secret, username))``; :func:`web.turn.turn_ice_servers` builds them
(re-exported here). The settings also go into ``WebConfig.turn``, from which the app
hands each WebSocket session its ``iceServers`` in ``welcome``.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sfu.eventloop import CHOICES as EVENT_LOOPS
from signaling import datadir
from signaling.mailer import SmtpSettings
from web.cluster import ClusterSettings, read_settings
from web.config import SalleSpec, SittingSpec, TurnSettings, WebConfig
from web.turn import turn_ice_servers, turn_rest_credentials  # noqa: F401 (re-exported, moved to web.turn)

#: Sitting and salle ids appear in URLs and in data-dir paths.
ID_RE = datadir.ID_RE


class ConfigError(Exception):
    """The file cannot be served; ``problems`` is a list of (key, French, English)."""

    def __init__(self, path: Path | str, problems: list[tuple[str, str, str]]) -> None:
        self.path = str(path)
        self.problems = problems
        super().__init__(self.render())

    @property
    def keys(self) -> list[str]:
        return [key for key, _, _ in self.problems]

    def render(self) -> str:
        lines = [f"{self.path} : configuration invalide / invalid configuration"]
        for key, fr, en in self.problems:
            lines.append(f"  {key} : {fr} / {en}")
        return "\n".join(lines)


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path


@dataclass(frozen=True)
class ServeConfig:
    web: WebConfig
    source: Path
    tls_files: TlsFiles | None = None
    #: Reverse proxies whose ``X-Forwarded-For/-Proto/-Host`` headers are believed.
    trusted_proxies: tuple[str, ...] = ()
    #: The certificate nginx serves in front (``[proxy] certificate``): ``--check`` warns
    #: when it is missing or about to expire; Séance itself never reads it otherwise.
    proxy_certificate: Path | None = None
    #: Worker processes, Redis, this node's URL (issue 5, web/cluster.py).
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    turn: TurnSettings | None = None

    @property
    def behind_proxy(self) -> bool:
        return bool(self.trusted_proxies)


# --------------------------------------------------------------------------- reading


class _Reader:
    """Collects problems while reading; each check names the full key."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self.problems: list[tuple[str, str, str]] = []

    def bad(self, key: str, fr: str, en: str) -> None:
        self.problems.append((key, fr, en))

    def keys(self) -> list[str]:
        return [k for k, _, _ in self.problems]

    def table(self, doc: dict, name: str, allowed: dict[str, str], required: bool = False) -> dict | None:
        """``doc[name]`` as a table whose keys are all in ``allowed`` (key -> French hint)."""
        if name not in doc:
            if required:
                self.bad(name, "section obligatoire absente", "required section missing")
            return None
        value = doc[name]
        if not isinstance(value, dict):
            self.bad(name, "doit être une section [" + name + "]", "must be a [" + name + "] table")
            return None
        self.unknown(value, name, allowed)
        return value

    def unknown(self, table: dict, prefix: str, allowed: dict[str, str] | set[str]) -> None:
        for key in table:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                self.bad(
                    f"{prefix}.{key}" if prefix else key,
                    f"clé inconnue (clés admises : {known})",
                    f"unknown key (allowed: {known})",
                )

    def string(
        self,
        table: dict,
        key: str,
        prefix: str,
        *,
        required: bool = False,
        pattern: re.Pattern[str] | None = None,
        max_len: int = 500,
    ) -> str | None:
        name = f"{prefix}.{key}"
        if key not in table:
            if required:
                self.bad(name, "clé obligatoire absente", "required key missing")
            return None
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            self.bad(name, "doit être une chaîne non vide", "must be a non-empty string")
            return None
        if len(value) > max_len:
            self.bad(name, f"trop longue (au plus {max_len} caractères)", f"too long (at most {max_len} characters)")
            return None
        if pattern is not None and not pattern.match(value):
            self.bad(
                name,
                "seulement minuscules, chiffres, « - » et « _ » (64 au plus)",
                "only lowercase letters, digits, '-' and '_' (at most 64)",
            )
            return None
        return value

    def integer(self, table: dict, key: str, prefix: str, lo: int, hi: int) -> int | None:
        name = f"{prefix}.{key}"
        if key not in table:
            return None
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            self.bad(name, f"doit être un entier entre {lo} et {hi}", f"must be an integer between {lo} and {hi}")
            return None
        return value

    def number(self, table: dict, key: str, prefix: str, lo: float, hi: float) -> float | None:
        name = f"{prefix}.{key}"
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
            self.bad(name, f"doit être un nombre entre {lo:g} et {hi:g}", f"must be a number between {lo:g} and {hi:g}")
            return None
        return float(value)

    def address(self, value: Any, name: str) -> str | None:
        if not isinstance(value, str):
            self.bad(name, "doit être une adresse IP entre guillemets", "must be a quoted IP address")
            return None
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            self.bad(name, f"« {value} » n'est pas une adresse IP", f"'{value}' is not an IP address")
            return None

    def addresses(self, table: dict, key: str, prefix: str) -> tuple[str, ...] | None:
        name = f"{prefix}.{key}"
        if key not in table:
            return None
        value = table[key]
        if not isinstance(value, list):
            self.bad(name, "doit être une liste d'adresses IP", "must be a list of IP addresses")
            return None
        out = [self.address(v, f"{name}[{i}]") for i, v in enumerate(value)]
        return tuple(a for a in out if a is not None)

    def strings(self, table: dict, key: str, prefix: str) -> tuple[str, ...] | None:
        name = f"{prefix}.{key}"
        if key not in table:
            return None
        value = table[key]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.bad(name, "doit être une liste de chaînes non vides", "must be a list of non-empty strings")
            return None
        return tuple(value)

    def path(
        self, table: dict, key: str, prefix: str, *, required: bool = False, must_exist: bool = False
    ) -> Path | None:
        value = self.string(table, key, prefix, required=required, max_len=4096)
        if value is None:
            return None
        path = Path(value)
        if not path.is_absolute():
            path = self.base_dir / path
        if must_exist and not path.is_file():
            self.bad(f"{prefix}.{key}", f"fichier introuvable : {path}", f"file not found: {path}")
        return path


SERVER_KEYS = {
    "host": "adresse d'écoute",
    "port": "port",
    "data_dir": "répertoire des données",
    "workers": 'processus (nombre ou "auto")',
    "redis": "URL redis:// partagée par les nœuds",
    "node_url": "URL de ce nœud pour les navigateurs",
    "lease_ttl_s": "durée du bail d'une séance",
    "public_viewers_per_node": "spectateurs publics par nœud avant relais",
    "edge_linger_s": "durée de maintien d'un relais sans spectateur",
    "event_loop": "boucle d'événements (auto, uvloop, asyncio)",
}
TLS_KEYS = {"cert": "certificat PEM (chaîne complète)", "key": "clé privée PEM"}
PROXY_KEYS = {
    "trusted": "adresses des mandataires inverses de confiance",
    "certificate": "certificat que sert le mandataire (vérifié par --check)",
}
ICE_KEYS = {"listen_addresses": "adresses de collecte ICE", "announced_address": "adresse annoncée"}
TURN_KEYS = {
    "urls": "URL turn:/turns:",
    "username": "identifiant",
    "credential": "mot de passe",
    "shared_secret": "secret partagé",
    "shared_secret_file": "fichier du secret partagé",
    "ttl_s": "durée de validité",
}
MEDIA_KEYS = {
    "voice_slots": "voix reçues par salle",
    "forwarding": "étape d'envoi des paquets (python, native, auto)",
}
#: ``[media] forwarding``: ``RouterConfig.forwarding`` (sfu/forwarding.py ``SETTINGS``, which
#: tests/web/test_config_file.py checks against), read here without importing the media stack
FORWARDING = ("python", "native", "auto")
#: the native step's extension module (built by ``pip install`` with gcc and libsrtp2-dev)
NATIVE_FORWARDING_MODULE = "sfu._forward"


def native_forwarding_built() -> bool:
    """Whether the native forwarding step was built, found without loading the media stack."""
    return importlib.util.find_spec(NATIVE_FORWARDING_MODULE) is not None


WEB_KEYS = {
    "session_ttl_s": "durée de session",
    "public_frame_ancestors": "sites qui intègrent la page publique",
    "reconcile_after_s": "délai de réconciliation",
    "public_viewers_max": "spectateurs publics par séance sur ce nœud",
    "public_viewers_per_address": "spectateurs publics depuis une même adresse",
    "media_connect_timeout_s": "délai d'établissement de la liaison média d'un spectateur",
}
PRIVACY_KEYS = {
    "dpo_contact": "contact du délégué à la protection des données",
    "log_ip_retention_days": "jours de conservation des adresses IP dans les journaux",
    "log_ip_truncate": "tronquer les adresses IP du journal d'accès",
    "recording_retention_days": "jours de conservation des enregistrements (R5)",
}
SMTP_KEYS = {
    "host": "serveur SMTP (relais de la collectivité)",
    "port": "port (587 avec starttls, 465 avec tls)",
    "security": "starttls, tls ou none",
    "user": "identifiant sur le relais",
    "password_file": "fichier du mot de passe sur le relais",
    "from": "adresse d'expédition des convocations",
    "ca_file": "autorité de certification du relais (certificat privé)",
}
SMTP_SECURITY = {"starttls": 587, "tls": 465, "none": 25}
EMAIL_RE = re.compile(r"^[^@\s<>\"(),;:]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
SITTING_KEYS = {"id": "identifiant", "title": "titre", "president_salle": "salle de la présidence", "salles": "salles"}
SALLE_KEYS = {"id": "identifiant", "name": "nom"}
TOP_KEYS = {"server", "tls", "proxy", "ice", "turn", "smtp", "media", "web", "privacy", "sittings"}

TURN_URL_RE = re.compile(r"^turns?:[^\s?]+(\?transport=(udp|tcp))?$")
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def _sittings(r: _Reader, doc: dict) -> tuple[SittingSpec, ...]:
    raw = doc.get("sittings", [])
    if not isinstance(raw, list) or not all(isinstance(s, dict) for s in raw):
        r.bad("sittings", "doit être une liste de sections [[sittings]]", "must be an array of [[sittings]] tables")
        return ()
    out: list[SittingSpec] = []
    seen: set[str] = set()
    for i, s in enumerate(raw):
        prefix = f"sittings[{i}]"
        r.unknown(s, prefix, SITTING_KEYS)
        sid = r.string(s, "id", prefix, required=True, pattern=ID_RE)
        title = r.string(s, "title", prefix, required=True)
        if sid is not None and sid in seen:
            r.bad(f"{prefix}.id", f"séance « {sid} » déjà déclarée", f"sitting '{sid}' declared twice")
        seen.add(sid or "")
        salles: list[SalleSpec] = []
        raw_salles = s.get("salles")
        if not isinstance(raw_salles, list) or not raw_salles or not all(isinstance(x, dict) for x in raw_salles):
            r.bad(
                f"{prefix}.salles",
                "doit être une liste non vide de {id, name}",
                "must be a non-empty list of {id, name} tables",
            )
            raw_salles = []
        salle_ids: set[str] = set()
        for j, x in enumerate(raw_salles):
            sp = f"{prefix}.salles[{j}]"
            r.unknown(x, sp, SALLE_KEYS)
            xid = r.string(x, "id", sp, required=True, pattern=ID_RE)
            name = r.string(x, "name", sp, required=True)
            if xid is not None and xid in salle_ids:
                r.bad(
                    f"{sp}.id",
                    f"salle « {xid} » déjà déclarée dans cette séance",
                    f"salle '{xid}' declared twice in this sitting",
                )
            if xid is not None and name is not None:
                salle_ids.add(xid)
                salles.append(SalleSpec(xid, name))
        president = r.string(s, "president_salle", prefix, pattern=ID_RE)
        if president is not None and raw_salles and president not in salle_ids:
            r.bad(
                f"{prefix}.president_salle",
                f"« {president} » n'est pas une salle de cette séance",
                f"'{president}' is not a salle of this sitting",
            )
        if sid is not None and title is not None and salles:
            out.append(SittingSpec(sid, title, tuple(salles), president_salle=president))
    return tuple(out)


def _turn(r: _Reader, doc: dict) -> TurnSettings | None:
    t = r.table(doc, "turn", TURN_KEYS)
    if t is None:
        return None
    urls = r.strings(t, "urls", "turn")
    if urls is None and "urls" not in t:
        r.bad("turn.urls", "clé obligatoire absente", "required key missing")
    for i, url in enumerate(urls or ()):
        if not TURN_URL_RE.match(url):
            r.bad(
                f"turn.urls[{i}]",
                f"« {url} » n'est pas une URL turn: ou turns: (RFC 7065)",
                f"'{url}' is not a turn: or turns: URL (RFC 7065)",
            )
    username = r.string(t, "username", "turn")
    credential = r.string(t, "credential", "turn")
    secret = r.string(t, "shared_secret", "turn", max_len=4096)
    secret_file = r.path(t, "shared_secret_file", "turn", must_exist=True)
    ttl = r.integer(t, "ttl_s", "turn", 60, 7 * 24 * 3600)
    static = "username" in t or "credential" in t
    rest = "shared_secret" in t or "shared_secret_file" in t
    if static and rest:
        r.bad(
            "turn.shared_secret",
            "username/credential ou secret partagé, pas les deux",
            "either username/credential or a shared secret, not both",
        )
    elif static and ("username" not in t or "credential" not in t):
        missing = "turn.credential" if "username" in t else "turn.username"
        r.bad(missing, "username et credential vont ensemble", "username and credential go together")
    elif not static and not rest:
        r.bad(
            "turn.shared_secret",
            "identifiants absents : username + credential, ou shared_secret(_file)",
            "credentials missing: username + credential, or shared_secret(_file)",
        )
    if "shared_secret" in t and "shared_secret_file" in t:
        r.bad(
            "turn.shared_secret_file",
            "shared_secret ou shared_secret_file, pas les deux",
            "either shared_secret or shared_secret_file, not both",
        )
    if "ttl_s" in t and not rest:
        r.bad("turn.ttl_s", "n'a de sens qu'avec un secret partagé", "only meaningful with a shared secret")
    if secret_file is not None and secret_file.is_file():
        try:
            secret = secret_file.read_text("utf-8").strip()
        except (OSError, UnicodeDecodeError) as err:
            r.bad("turn.shared_secret_file", f"illisible ({err})", f"unreadable ({err})")
            secret = None
        else:
            if not secret:
                r.bad("turn.shared_secret_file", "fichier vide", "empty file")
                secret = None
    if not urls:
        return None
    return TurnSettings(
        urls=urls,
        username=username,
        credential=credential,
        shared_secret=secret,
        ttl_s=ttl if ttl is not None else TurnSettings.ttl_s,
    )


def _smtp(r: _Reader, doc: dict) -> SmtpSettings | None:
    """``[smtp]``: the relay the convocations are sent through (RFC 5321; STARTTLS RFC 3207,
    implicit TLS RFC 8314). The password is read from its file (mode 0600), never from here."""
    t = r.table(doc, "smtp", SMTP_KEYS)
    if t is None:
        return None
    host = r.string(t, "host", "smtp", required=True, max_len=253)
    security = r.string(t, "security", "smtp") or "starttls"
    if security not in SMTP_SECURITY:
        r.bad("smtp.security", "starttls, tls ou none attendu", "expected starttls, tls or none")
        security = "starttls"
    port = r.integer(t, "port", "smtp", 1, 65535)
    sender = r.string(t, "from", "smtp", required=True, max_len=254)
    if sender is not None and not EMAIL_RE.match(sender):
        r.bad(
            "smtp.from",
            f"« {sender} » n'est pas une adresse électronique (ex. convocations@cc-exemple.fr)",
            f"'{sender}' is not an email address (e.g. convocations@cc-example.fr)",
        )
        sender = None
    user = r.string(t, "user", "smtp")
    password_file = r.path(t, "password_file", "smtp", must_exist=True)
    ca_file = r.path(t, "ca_file", "smtp", must_exist=True)
    if ca_file is not None and security == "none":
        r.bad("smtp.ca_file", "sans objet avec security = none", "meaningless with security = none")
    password: str | None = None
    if user is not None and "password_file" not in t:
        r.bad("smtp.password_file", "obligatoire avec smtp.user", "required with smtp.user")
    if password_file is not None and "user" not in t:
        r.bad("smtp.user", "obligatoire avec smtp.password_file", "required with smtp.password_file")
    if password_file is not None and password_file.is_file():
        try:
            password = password_file.read_text("utf-8").strip()
        except (OSError, UnicodeDecodeError) as err:
            r.bad("smtp.password_file", f"illisible ({err})", f"unreadable ({err})")
        else:
            if not password:
                r.bad("smtp.password_file", "fichier vide", "empty file")
    if user is not None and security == "none" and host not in LOOPBACK_HOSTS:
        r.bad(
            "smtp.security",
            "un mot de passe ne passe pas en clair sur le réseau : starttls ou tls",
            "a password is never sent in clear over the network: starttls or tls",
        )
    if host is None or sender is None:
        return None
    return SmtpSettings(
        host=host,
        port=port if port is not None else SMTP_SECURITY[security],
        from_address=sender,
        security=security,
        user=user,
        password=password,
        ca_file=ca_file,
    )


def parse(doc: dict, *, source: Path | str = "<seance.toml>", base_dir: Path | None = None) -> ServeConfig:
    """Validate a parsed TOML document; raise :class:`ConfigError` listing every problem."""
    base = base_dir if base_dir is not None else Path(source).resolve().parent
    r = _Reader(base)
    r.unknown(doc, "", TOP_KEYS)

    server = r.table(doc, "server", SERVER_KEYS, required=True) or {}
    cluster = read_settings(r, server)
    host = r.string(server, "host", "server")
    if host is not None and host != "localhost":
        host = r.address(host, "server.host")
    port = r.integer(server, "port", "server", 1, 65535)
    data_dir = r.path(server, "data_dir", "server", required=True)
    viewers_per_node = r.integer(server, "public_viewers_per_node", "server", 1, 1_000_000)
    edge_linger = r.number(server, "edge_linger_s", "server", 0, 3600) if "edge_linger_s" in server else None
    event_loop = r.string(server, "event_loop", "server")
    if event_loop is not None and event_loop not in EVENT_LOOPS:
        r.bad("server.event_loop", "auto, uvloop ou asyncio attendu", "expected auto, uvloop or asyncio")
        event_loop = None

    tls = r.table(doc, "tls", TLS_KEYS)
    proxy = r.table(doc, "proxy", PROXY_KEYS)
    tls_files: TlsFiles | None = None
    trusted: tuple[str, ...] = ()
    proxy_certificate: Path | None = None
    if tls is not None and proxy is not None:
        r.bad(
            "proxy",
            "[tls] ou [proxy], pas les deux (derrière nginx, c'est nginx qui chiffre)",
            "[tls] or [proxy], not both (behind nginx, nginx does TLS)",
        )
    elif tls is None and proxy is None:
        r.bad(
            "tls",
            "[tls] (cert, key) ou [proxy] (trusted) obligatoire : le navigateur n'ouvre la caméra "
            "qu'en contexte sécurisé",
            "[tls] (cert, key) or [proxy] (trusted) required: browsers only open the camera in a secure context",
        )
    if tls is not None:
        cert = r.path(tls, "cert", "tls", required=True, must_exist=True)
        key = r.path(tls, "key", "tls", required=True, must_exist=True)
        if cert is not None and key is not None:
            tls_files = TlsFiles(cert, key)
    if proxy is not None:
        if "trusted" not in proxy:
            r.bad("proxy.trusted", "clé obligatoire absente", "required key missing")
        trusted = r.addresses(proxy, "trusted", "proxy") or ()
        proxy_certificate = r.path(proxy, "certificate", "proxy")
        if "trusted" in proxy and not trusted and not any(k.startswith("proxy.trusted") for k in r.keys()):
            r.bad("proxy.trusted", "liste vide", "empty list")
        if host is not None and host not in LOOPBACK_HOSTS:
            r.bad(
                "server.host",
                "derrière un mandataire inverse, HTTP en clair sur la boucle locale seulement (127.0.0.1 ou ::1)",
                "behind a reverse proxy, plain HTTP on loopback only (127.0.0.1 or ::1)",
            )
        if host is None:
            host = "127.0.0.1"
        if cluster.clustered and cluster.node_url is None and "server.node_url" not in r.keys():
            # Behind nginx the process knows only its loopback port: browsers redirected to
            # another worker or node need the public URL nginx serves it at.
            r.bad(
                "server.node_url",
                "obligatoire avec plusieurs processus ou nœuds derrière un mandataire : l'URL publique de "
                'chaque processus, par ex. "https://seance.exemple.fr:{port}" (deploy/nginx/seance-workers.conf)',
                "required with several processes or nodes behind a proxy: each process's public URL, e.g. "
                '"https://seance.example.fr:{port}" (deploy/nginx/seance-workers.conf)',
            )

    ice = r.table(doc, "ice", ICE_KEYS) or {}
    listen = r.addresses(ice, "listen_addresses", "ice")
    announced = r.address(ice["announced_address"], "ice.announced_address") if "announced_address" in ice else None

    turn = _turn(r, doc)
    smtp = _smtp(r, doc)

    media = r.table(doc, "media", MEDIA_KEYS) or {}
    voice_slots = r.integer(media, "voice_slots", "media", 0, 16)
    forwarding = r.string(media, "forwarding", "media")
    if forwarding is not None and forwarding not in FORWARDING:
        r.bad(
            "media.forwarding",
            f"valeur inconnue « {forwarding} » : python, native ou auto attendu",
            f"unknown value {forwarding!r}: expected python, native or auto",
        )
        forwarding = None
    elif forwarding == "native" and not native_forwarding_built():
        r.bad(
            "media.forwarding",
            "native demandé, mais l'étape native (sfu._forward) n'a pas été compilée sur cette machine : "
            "installer gcc, python3-dev et libsrtp2-dev puis réinstaller Séance, ou choisir python ou auto",
            "native asked, but the native step (sfu._forward) was not built on this machine: install gcc, "
            "python3-dev and libsrtp2-dev and reinstall Séance, or choose python or auto",
        )
        forwarding = None

    webt = r.table(doc, "web", WEB_KEYS) or {}
    session_ttl = r.integer(webt, "session_ttl_s", "web", 300, 7 * 24 * 3600)
    ancestors = r.strings(webt, "public_frame_ancestors", "web")
    viewers_max = r.integer(webt, "public_viewers_max", "web", 1, 1_000_000)
    viewers_per_address = r.integer(webt, "public_viewers_per_address", "web", 1, 1_000_000)
    connect_timeout = (
        r.number(webt, "media_connect_timeout_s", "web", 1, 600) if "media_connect_timeout_s" in webt else None
    )
    reconcile: float | None = None
    if "reconcile_after_s" in webt:
        if webt["reconcile_after_s"] is False:
            reconcile = None
        else:
            reconcile = r.number(webt, "reconcile_after_s", "web", 0, 3600)

    privacy = r.table(doc, "privacy", PRIVACY_KEYS) or {}
    dpo = r.string(privacy, "dpo_contact", "privacy")
    ip_days = r.integer(privacy, "log_ip_retention_days", "privacy", 1, 3650)
    rec_days = r.integer(privacy, "recording_retention_days", "privacy", 0, 36500)
    ip_truncate = privacy.get("log_ip_truncate")
    if ip_truncate is not None and not isinstance(ip_truncate, bool):
        r.bad("privacy.log_ip_truncate", "doit être true ou false", "must be true or false")

    sittings = _sittings(r, doc)

    if r.problems:
        raise ConfigError(source, r.problems)
    defaults = WebConfig()
    kwargs: dict[str, Any] = {
        "host": host or defaults.host,
        "port": port if port is not None else (defaults.port if tls_files else 8080),
        "tls": tls_files is not None,
        "data_dir": data_dir,
        "ice_addresses": listen if listen is not None else defaults.ice_addresses,
        "announced_address": announced,
        "sittings": sittings,
    }
    if voice_slots is not None:
        kwargs["voice_slots"] = voice_slots
    if forwarding is not None:
        kwargs["forwarding"] = forwarding
    if session_ttl is not None:
        kwargs["session_ttl_s"] = session_ttl
    if ancestors is not None:
        kwargs["public_frame_ancestors"] = ancestors
    if "reconcile_after_s" in webt:
        kwargs["reconcile_after_s"] = reconcile
    if turn is not None:
        kwargs["turn"] = turn
    if smtp is not None:
        kwargs["smtp"] = smtp
    if viewers_per_node is not None:
        kwargs["public_viewers_per_node"] = viewers_per_node
    if edge_linger is not None:
        kwargs["edge_linger_s"] = edge_linger
    if event_loop is not None:
        kwargs["event_loop"] = event_loop
    for key, value in (
        ("public_viewers_max", viewers_max),
        ("public_viewers_per_address", viewers_per_address),
        ("media_connect_timeout_s", connect_timeout),
        ("dpo_contact", dpo),
        ("log_ip_retention_days", ip_days),
        ("recording_retention_days", rec_days),
        ("log_ip_truncate", ip_truncate),
    ):
        if value is not None:
            kwargs[key] = value
    return ServeConfig(
        web=WebConfig(**kwargs),
        source=Path(source),
        tls_files=tls_files,
        trusted_proxies=trusted,
        proxy_certificate=proxy_certificate,
        turn=turn,
        cluster=cluster,
    )


def load(path: Path | str) -> ServeConfig:
    """Read and validate ``path`` (TOML); relative paths in it are relative to its folder."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ConfigError(path, [("(fichier)", f"illisible : {err.strerror}", f"unreadable: {err.strerror}")]) from None
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(path, [("(fichier)", "doit être en UTF-8", "must be UTF-8")]) from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(path, [("(syntaxe)", f"TOML invalide : {err}", f"invalid TOML: {err}")]) from None
    return parse(doc, source=path, base_dir=path.resolve().parent)


def load_web_config(path: Path | str) -> WebConfig:
    """Just the :class:`WebConfig` of a file."""
    return load(path).web
