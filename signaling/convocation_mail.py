"""The convocation as an email to one member (R6, L.2121-10 and L.2121-12 CGCT via L.5211-1).

The convocation states the date, time and place of the sitting and its agenda
(L.2121-10); sent by email "de manière dématérialisée" it reaches the member at the
address they gave (L.2121-10, second paragraph). Each message carries the member's own
acknowledgement link: following it records the date of receipt (the proof of sending
and receipt that R6's five clear days are counted from). Plain text UTF-8 (RFC 6532
headers, RFC 2045 body): read the same in every mail client, printed as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from deliberation.agenda import KIND_LABELS
from deliberation.commands import AddAgendaItem
from deliberation.council import Council, Member, Salle, SittingConfig
from deliberation.minutes import french_date, french_time

#: The labels of the natures, by the value an agenda item carries.
LABELS = {str(kind): label for kind, label in KIND_LABELS.items()}

#: The token domain of acknowledgement links: such a token never passes for a session's.
ACK_DOMAIN = "convocation:"


def subject(council: Council, sitting: SittingConfig) -> str:
    return f"Convocation : {sitting.title} — {french_date(sitting.scheduled_at)} à {french_time(sitting.scheduled_at)}"


def body(
    council: Council,
    sitting: SittingConfig,
    items: Sequence[AddAgendaItem],
    salles: Sequence[Salle],
    member: Member,
    ack_url: str,
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
    lines += [
        "",
        "Merci d'accuser réception de cette convocation en ouvrant ce lien personnel :",
        ack_url,
        "",
        "La date de votre accusé de réception est enregistrée ; le lien ne sert qu'à cela.",
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
) -> EmailMessage:
    """The email to ``address`` (RFC 5322 headers; UTF-8 display names per RFC 6532)."""
    msg = EmailMessage()
    msg["Subject"] = subject(council, sitting)
    msg["From"] = Address(council.name, addr_spec=from_address)
    msg["To"] = address
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=from_address.rpartition("@")[2] or None)
    msg.set_content(body(council, sitting, items, salles, member, ack_url))
    return msg
