"""The convocation as an email to one member (R6, L.2121-10 and L.2121-12 CGCT via L.5211-1).

The convocation states the date, time and place of the sitting and its agenda
(L.2121-10); sent by email "de manière dématérialisée" it reaches the member at the
address they gave (L.2121-10, second paragraph). Each message carries the member's own
acknowledgement link: following it records the date of receipt (the proof of sending
and receipt that R6's five clear days are counted from). Plain text UTF-8 (RFC 6532
headers, RFC 2045 body): read the same in every mail client, printed as it is.

The annexes of the agenda's items (notes de synthèse, L.2121-12) are attached as PDFs
(RFC 2046 multipart/mixed, RFC 2183 Content-Disposition) while their total stays under
:data:`MAX_ATTACHED_BYTES`, which most relays accept; beyond, each is a personal link
valid for that member only. Either way the text lists each with its SHA-256.

Both kinds of links expire, and the server checks it (:func:`link_expiry`): the
acknowledgement link at the start of the sitting (a receipt afterwards proves nothing of
the five clear days), an annex link :data:`ANNEX_LINK_DAYS` days after the sitting (the
members read the notes again until the minutes are approved). Each token carries its
expiry (``x``, seconds since the epoch), and the message says until when each link works.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from deliberation.agenda import KIND_LABELS
from deliberation.commands import AddAgendaItem
from deliberation.council import Council, Member, Salle, SittingConfig
from deliberation.minutes import french_date, french_time
from signaling.council_store import ANNEX_LABELS, Annex

#: The labels of the natures, by the value an agenda item carries.
LABELS = {str(kind): label for kind, label in KIND_LABELS.items()}

#: The token domain of acknowledgement links: such a token never passes for a session's.
ACK_DOMAIN = "convocation:"
#: The token domain of a member's links to the annexes (sent when they are too large to attach).
ANNEX_DOMAIN = "convocation-annexe:"
#: How long after the sitting a member's link to an annex still works.
ANNEX_LINK_DAYS = 15
#: Above this total the annexes are linked, not attached (relays commonly refuse 10 to 25 MB).
MAX_ATTACHED_BYTES = 10 * 1024 * 1024

#: An annex as the message carries it: its record, and its personal link (None: attached).
SentAnnex = tuple[Annex, str | None]


def ack_link_expiry(sitting: SittingConfig) -> datetime:
    """The acknowledgement link works until the sitting starts."""
    return datetime.fromisoformat(sitting.scheduled_at)


def annex_link_expiry(sitting: SittingConfig) -> datetime:
    """A link to an annex works until :data:`ANNEX_LINK_DAYS` days after the sitting."""
    return datetime.fromisoformat(sitting.scheduled_at) + timedelta(days=ANNEX_LINK_DAYS)


def link_expiry(claims: Mapping[str, object], sitting: SittingConfig, domain: str) -> datetime:
    """When a link expires: the expiry its token carries (``x``), else, for a link sent before
    links carried one, the one its kind gets from the sitting."""
    fallback = ack_link_expiry(sitting) if domain == ACK_DOMAIN else annex_link_expiry(sitting)
    x = claims.get("x")
    if isinstance(x, int) and not isinstance(x, bool):
        return datetime.fromtimestamp(x, fallback.tzinfo)
    return fallback


def attach(annexes: Sequence[Annex]) -> bool:
    """Whether the annexes travel attached (their total within :data:`MAX_ATTACHED_BYTES`)."""
    return sum(a.size for a in annexes) <= MAX_ATTACHED_BYTES


def subject(council: Council, sitting: SittingConfig) -> str:
    return f"Convocation : {sitting.title} — {french_date(sitting.scheduled_at)} à {french_time(sitting.scheduled_at)}"


def body(
    council: Council,
    sitting: SittingConfig,
    items: Sequence[AddAgendaItem],
    salles: Sequence[Salle],
    member: Member,
    ack_url: str,
    annexes: Sequence[SentAnnex] = (),
) -> str:
    """The text of the convocation for ``member``."""
    president = council.member(council.president_id)
    greeting = {"Mme": "Madame", "M.": "Monsieur"}.get(member.civility, "Madame, Monsieur")
    where = (
        "par visioconférence, dans les salles désignées par le conseil (art. L.5211-11-1 CGCT) :"
        if sitting.teleconference
        else "en un lieu unique :"
    )
    lines = [
        f"{council.name}",
        "",
        f"{greeting} {member.name},",
        "",
        f"Vous êtes convoqué(e) à la séance « {sitting.title} » du conseil communautaire,",
        f"le {french_date(sitting.scheduled_at)} à {french_time(sitting.scheduled_at)}, {where}",
        "",
    ]
    lines += [f"  - {s.name}, {s.address}" for s in salles]
    lines += ["", "Ordre du jour :", ""]
    if items:
        lines += [f"  {n}. {i.title} ({LABELS.get(i.kind, i.kind)})" for n, i in enumerate(items, 1)]
    else:
        lines.append("  (aucun point inscrit)")
    if annexes:
        titles = {i.item_id: n for n, i in enumerate(items, 1)}
        linked = any(url for _, url in annexes)
        lines += ["", "Documents (lien personnel, ne le transmettez pas) :" if linked else "Documents joints :", ""]
        for annex, url in annexes:
            label = ANNEX_LABELS.get(annex.label, annex.label)
            lines.append(f"  - point {titles.get(annex.item_id, '?')}, {label} : {annex.filename}")
            if url:
                lines.append(f"    {url}")
                until = annex_link_expiry(sitting).isoformat()
                lines.append(f"    (lien valable jusqu'au {french_date(until)} à {french_time(until)})")
            lines.append(f"    empreinte SHA-256 : {annex.sha256}")
    lines += [
        "",
        "Merci d'accuser réception de cette convocation en ouvrant ce lien personnel :",
        ack_url,
        "",
        "La date de votre accusé de réception est enregistrée ; le lien ne sert qu'à cela.",
        f"Il est valable jusqu'au début de la séance, le {french_date(sitting.scheduled_at)} à "
        f"{french_time(sitting.scheduled_at)}.",
        "",
        f"Le président, {president.name if president else ''}".rstrip(", "),
        "",
    ]
    return "\n".join(lines)


def message(
    council: Council,
    sitting: SittingConfig,
    items: Sequence[AddAgendaItem],
    salles: Sequence[Salle],
    member: Member,
    address: str,
    ack_url: str,
    from_address: str,
    now: datetime,
    annexes: Sequence[SentAnnex] = (),
    files: Sequence[bytes] = (),
) -> EmailMessage:
    """The email to ``address`` (RFC 5322 headers; UTF-8 display names per RFC 6532), the
    annexes' ``files`` attached (same order as ``annexes``; empty when they are linked)."""
    msg = EmailMessage()
    msg["Subject"] = subject(council, sitting)
    msg["From"] = Address(council.name, addr_spec=from_address)
    msg["To"] = address
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=from_address.rpartition("@")[2] or None)
    msg.set_content(body(council, sitting, items, salles, member, ack_url, annexes))
    for (annex, _url), data in zip(annexes, files, strict=False):
        msg.add_attachment(data, maintype="application", subtype="pdf", filename=annex.filename)
    return msg
