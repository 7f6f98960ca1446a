"""The rehearsal's procès-verbal adopted at the next sitting and signed (R22, L.2121-15).

After :mod:`deliberation.rehearsal` closes the demo sitting of 26 November, a short second
sitting (10 December) approves its procès-verbal: the text is linked by its SHA-256 to
the first item (``LinkMinutes``), the council adopts it, and the PDF/A is signed
(:mod:`deliberation.signed_minutes`) and its SHA-256 journaled (``RecordMinutesSigned``)
before the closing. ``seance rehearse`` writes it beside the HTML:
``proces-verbal-signe.pdf``, and the second sitting's journal in ``adoption/``, which
``seance audit pv`` checks it against.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .actors import ADMIN, SYSTEM, Actor, Role
from .adoption import adoption_of, sha256_text
from .commands import (
    AddAgendaItem,
    AppointSecretary,
    CastBallot,
    CheckIn,
    CloseSitting,
    CloseVote,
    LinkMinutes,
    OpenSitting,
    OpenVote,
    RecordMinutesSigned,
    ReportPublicStream,
    ReportTransmission,
    TakeUpItem,
)
from .council import SittingConfig
from .demo import demo_config, demo_council
from .journal import Journal, key_fingerprint
from .pades import sign_minutes
from .refusal import Refusal
from .seance import Seance
from .signed_minutes import certificate_html, signed_pdf

START = "2026-12-10T18:20:00+01:00"
ITEM = "approbation-pv"
PRESENT = {"belcourt": ["m01", "m02", "m03", "m04", "m05"], "vaux": ["m06", "m07", "m08"], "saint-ferreol": ["m10"]}
PRESIDENT = Actor(Role.PRESIDENT, member_id="m01", salle_id="belcourt")


def adopting_config() -> SittingConfig:
    return dataclasses.replace(
        demo_config(),
        id="demo-decembre",
        title="Conseil communautaire du 10 décembre 2026",
        scheduled_at="2026-12-10T18:30:00+01:00",
        convened_on="2026-12-02",
    )


def _handle(journal: Journal, seance: Seance, command: Any, actor: Actor) -> None:
    result = journal.handle(seance, command, actor)
    if isinstance(result, Refusal):
        raise RuntimeError(f"{command.type} refusée : {result.message}")


def adopt_and_sign(
    first: Seance, pv_html: str, pv_head: dict[str, Any], out: Path, key: Ed25519PrivateKey
) -> tuple[Path, Path]:
    """Play the adopting sitting into ``out/adoption/journal.jsonl``; write and return the
    signed PDF (``out/proces-verbal-signe.pdf``) and that journal's path."""
    t0 = datetime.fromisoformat(START)
    clock: Iterator[str] = ((t0 + timedelta(seconds=20 * i)).isoformat() for i in range(1000))
    seance = Seance(demo_council(), adopting_config())
    path = out / "adoption" / "journal.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    title = f"Approbation du procès-verbal de la séance du 26 novembre 2026 ({first.config.id})"
    with Journal.create(path, seance, key) as journal:
        _handle(journal, seance, AddAgendaItem(next(clock), ITEM, title), ADMIN)
        for salle, members in PRESENT.items():
            _handle(journal, seance, ReportTransmission(next(clock), salle, True), SYSTEM)
            for m in members:
                _handle(
                    journal,
                    seance,
                    CheckIn(next(clock), m, salle),
                    Actor(Role.AGENT, salle_id=salle, agent_id=f"a-{salle}"),
                )
        _handle(journal, seance, ReportPublicStream(next(clock), True), SYSTEM)
        _handle(journal, seance, AppointSecretary(next(clock), "m03"), PRESIDENT)
        _handle(journal, seance, OpenSitting(next(clock)), PRESIDENT)
        _handle(journal, seance, LinkMinutes(next(clock), ITEM, first.config.id, sha256_text(pv_html)), ADMIN)
        _handle(journal, seance, TakeUpItem(next(clock), ITEM), PRESIDENT)
        _handle(journal, seance, OpenVote(next(clock), ITEM), PRESIDENT)
        for members in PRESENT.values():
            for m in members:
                voter = PRESIDENT if m == "m01" else Actor(Role.COUNCILLOR, member_id=m)
                _handle(journal, seance, CastBallot(next(clock), ITEM, m, "pour"), voter)
        _handle(journal, seance, CloseVote(next(clock), ITEM), PRESIDENT)
        adoption = adoption_of(seance, first.config.id)
        assert adoption is not None and adoption.adopted
        secretary = first.name(first.state.secretary) if first.state.secretary else ""
        president = first.name(first.council.president_id)
        certificate = certificate_html(adoption, pv_head, president, secretary, key_fingerprint(key.public_key()))
        pdf = sign_minutes(signed_pdf(pv_html, adoption, certificate), key, first.council.name, president, secretary)
        _handle(journal, seance, RecordMinutesSigned(next(clock), ITEM, hashlib.sha256(pdf).hexdigest()), ADMIN)
        _handle(journal, seance, CloseSitting(next(clock)), PRESIDENT)
    pdf_path = out / "proces-verbal-signe.pdf"
    pdf_path.write_bytes(pdf)
    return pdf_path, path
