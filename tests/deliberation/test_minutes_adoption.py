"""R22 (L.2121-15): the procès-verbal written (substance, speakers and their measured time,
the persons appointed), linked by its digest to the item that approves it at a following
sitting, signed only once that item is adopted; the signed PDF/A checked offline."""

from __future__ import annotations

import dataclasses
import hashlib
import io

import pikepdf
import pytest
from pyhanko.pdf_utils.generic import pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from deliberation.actors import ADMIN
from deliberation.adoption import (
    ATTACHMENT,
    JOURNAL,
    REGISTER,
    Adoption,
    adoption_of,
    check_signed_pdf,
    minutes_signature,
    sha256_text,
)
from deliberation.commands import (
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
from deliberation.demo import demo_agenda, demo_config, demo_council, demo_seance
from deliberation.journal import Journal, events_of, generate_key, read_verified
from deliberation.minutes import proces_verbal_html, speakers_by_item
from deliberation.pades import NO_PADES, check_pades, sign_minutes
from deliberation.refusal import Refusal
from deliberation.register import MinutesPublished, Register
from deliberation.register import MinutesSigned as RegisteredSignature
from deliberation.register_audit import journal_problem
from deliberation.rehearsal import play, script
from deliberation.seance import Seance
from deliberation.signed_minutes import certificate_html, signed_pdf
from deliberation.speaking import speaking_times
from tests.deliberation.delib_support import (
    DEFAULT_PRESENT,
    PRESIDENT,
    SYSTEM,
    Clock,
    agent,
    councillor,
    ok,
    opened,
    refused,
)
from tests.minutes_support import rehearsal_with_floor

VOTERS = ["m01", "m02", "m03", "m04", "m05", "m06", "m07", "m08", "m10", "m11"]


def test_the_pv_names_each_item_s_speakers_with_the_time_measured_from_the_journal(tmp_path):
    seance, key = Seance(demo_council(), demo_config()), generate_key()
    with Journal.create(tmp_path / "j.jsonl", seance, key) as journal:
        play(seance, journal, rehearsal_with_floor())
    events = events_of(read_verified(tmp_path / "j.jsonl", key.public_key()))
    speakers = speakers_by_item(speaking_times(events))  # deliberation.speaking, issue 15
    assert speakers == {"marche-collecte": [("m03", 7), ("m11", 10)]}
    html = proces_verbal_html(seance, {}, speakers)
    assert "Interventions : Sophie Garnier (7 s), Isabelle Morel (10 s)." in html


def test_the_pv_holds_the_substance_the_speakers_and_the_persons_appointed():
    seance = demo_seance()
    for step in rehearsal_with_floor():
        seance.handle(step.command, step.actor)
    html = proces_verbal_html(
        seance,
        {"marche-collecte": "M. le Président expose le rapport.\n\nMme Garnier demande le coût."},
        {"marche-collecte": [("m03", 7), ("m11", 125)]},
    )
    article = html[html.index('id="point-2"') : html.index('id="point-3"')]
    assert "<p>M. le Président expose le rapport.</p>" in article and "<p>Mme Garnier demande le coût.</p>" in article
    assert "Sophie Garnier (7 s)" in article and "(2 min 05 s)" in article
    assert "à compléter par le secrétaire de séance" not in article
    assert "à compléter par le secrétaire de séance" in html  # the items still without text
    nomination = html[html.index('id="point-5"') : html.index('id="point-6"')]
    appointed = [x["appointed"] for x in seance.state.item("commission-environnement")["seats"]]
    assert appointed and all(appointed)
    assert all(f"{seance.name(m)} est nommé·e" in nomination for m in appointed)


def next_sitting(clock: Clock):
    """The following sitting, opened, its first item the approval of the minutes."""
    s = demo_seance()
    ok(s, AddAgendaItem(clock(), "approbation-pv", "Approbation du procès-verbal du 26 novembre 2026"), ADMIN)
    return opened(clock, seance=s)


def vote(s, clock: Clock, item: str, choice: str = "pour") -> None:
    ok(s, TakeUpItem(clock(), item), PRESIDENT)
    ok(s, OpenVote(clock(), item), PRESIDENT)
    for m in VOTERS:
        ok(s, CastBallot(clock(), item, m, choice), councillor(m) if m != "m01" else PRESIDENT)
    ok(s, CloseVote(clock(), item), PRESIDENT)


def test_link_and_signature_refusals_name_R22_and_change_nothing():
    clock = Clock()
    s = next_sitting(clock)
    digest = "a" * 64
    refused(s, LinkMinutes(clock(), "approbation-pv", "demo-avant", digest), councillor("m05"), "ROLE")
    refused(s, LinkMinutes(clock(), "inconnu", "demo-avant", digest), ADMIN, "UNKNOWN")
    refused(s, LinkMinutes(clock(), "approbation-pv", s.config.id, digest), ADMIN, "R22")  # its own minutes
    refused(s, LinkMinutes(clock(), "commission-environnement", "demo-avant", digest), ADMIN, "R22")  # a nomination
    refused(s, LinkMinutes(clock(), "approbation-pv", "demo-avant", "xyz"), ADMIN, "SCHEMA")
    refused(s, RecordMinutesSigned(clock(), "approbation-pv", digest), ADMIN, "R22")  # nothing linked
    ok(s, LinkMinutes(clock(), "approbation-pv", "demo-avant", digest), ADMIN)
    refused(s, LinkMinutes(clock(), "pv-precedent", "demo-avant", digest), ADMIN, "R22")  # linked elsewhere already
    refused(s, RecordMinutesSigned(clock(), "approbation-pv", "b" * 64), ADMIN, "R22")  # not adopted yet
    vote(s, clock, "pv-precedent")  # another item voted: it can no longer be linked
    refused(s, LinkMinutes(clock(), "pv-precedent", "demo-autre", digest), ADMIN, "R22")


def test_a_rejected_pv_is_not_signed():
    clock = Clock()
    s = next_sitting(clock)
    ok(s, LinkMinutes(clock(), "approbation-pv", "demo-avant", "a" * 64), ADMIN)
    vote(s, clock, "approbation-pv", "contre")
    adoption = adoption_of(s, "demo-avant")
    assert adoption is not None and adoption.closed_at and not adoption.adopted
    refused(s, RecordMinutesSigned(clock(), "approbation-pv", "b" * 64), ADMIN, "R22")


def _through(journal: Journal, s, commands) -> None:
    for command, actor in commands:
        result = journal.handle(s, command, actor)
        assert not isinstance(result, Refusal), result


def _opening(clock: Clock) -> list:
    out = []
    for salle, members in DEFAULT_PRESENT.items():
        out += [(CheckIn(clock(), m, salle), agent(salle)) for m in members]
        out.append((ReportTransmission(clock(), salle, True), SYSTEM))
    out += [
        (ReportPublicStream(clock(), True), SYSTEM),
        (AppointSecretary(clock(), "m03"), PRESIDENT),
        (OpenSitting(clock()), PRESIDENT),
    ]
    return out


def _vote(clock: Clock, item: str) -> list:
    out = [(TakeUpItem(clock(), item), PRESIDENT), (OpenVote(clock(), item), PRESIDENT)]
    out += [(CastBallot(clock(), item, m, "pour"), councillor(m) if m != "m01" else PRESIDENT) for m in VOTERS]
    return [*out, (CloseVote(clock(), item), PRESIDENT)]


def test_adopted_pv_signed_as_pdfa_and_checked_offline_against_the_journal(tmp_path):
    first = demo_seance()
    for step in script():
        first.handle(step.command, step.actor)
    text = proces_verbal_html(first, {"marche-collecte": "Débat sur le prix de la tonne collectée."})
    digest = sha256_text(text)

    clock, key, path = Clock(), generate_key(), tmp_path / "suivante.jsonl"
    s = Seance(demo_council(), demo_config())
    with Journal.create(path, s, key) as journal:
        _through(journal, s, [(item, ADMIN) for item in demo_agenda()])
        _through(journal, s, [(AddAgendaItem(clock(), "approbation-pv", "Approbation du procès-verbal"), ADMIN)])
        _through(journal, s, _opening(clock))
        _through(journal, s, [(LinkMinutes(clock(), "approbation-pv", "demo-precedente", digest), ADMIN)])
        _through(journal, s, _vote(clock, "approbation-pv"))
        adoption = adoption_of(s, "demo-precedente")
        assert adoption is not None and adoption.adopted and adoption.sha256 == digest
        assert adoption.item_number == 8 and adoption.counts["pour"] == len(VOTERS)
        head = {"seq": 1, "hash": "0" * 64, "signature": "c2ln"}
        certificate = certificate_html(adoption, head, "Hélène Marchand", "Sophie Garnier", "ab:cd")
        pdf = signed_pdf(text, adoption, certificate)
        signed = RecordMinutesSigned(clock(), "approbation-pv", hashlib.sha256(pdf).hexdigest())
        _through(journal, s, [(signed, ADMIN)])
        refused(s, RecordMinutesSigned(clock(), "approbation-pv", "b" * 64), ADMIN, "R22")  # signed once
        _through(journal, s, [(CloseSitting(clock()), PRESIDENT)])

    doc = pikepdf.open(io.BytesIO(pdf))
    with doc.open_metadata() as meta:
        assert meta.pdfa_status == "3B"
    attached = doc.attachments[ATTACHMENT].get_file().read_bytes()
    assert hashlib.sha256(attached).hexdigest() == digest  # the very text the council voted on

    entries = read_verified(path, key.public_key())
    assert check_signed_pdf(pdf, entries) is None
    other = signed_pdf(text, adoption, certificate.replace("Sophie Garnier", "Karim Benali"))
    assert "aucune signature" in check_signed_pdf(other, entries)
    cut = [
        e
        for e in entries
        if e.line <= next(x.line for x in entries if x.kind == "event" and x.data["event"]["type"] == "MinutesSigned")
    ]
    assert "aucun sceau" in check_signed_pdf(pdf, cut)  # journaled but not yet under a signed checkpoint
    with pytest.raises(ValueError, match="empreinte"):
        signed_pdf(text + " ", adoption, certificate)  # not the text the council voted on


def test_the_signed_pv_carries_a_pades_signature_of_the_council_key_checked_offline():
    """ISO/TS 32002 (EdDSA in PDF), RFC 8419: the PDF/A of the adopted PV signed inside with
    the council's Ed25519 key (self-signed certificate), still PDF/A-3b; checked offline
    against the council's public key; a byte changed, an update appended after the signature,
    another key's signature, or no signature at all are each refused, in French."""
    text = proces_verbal_html(demo_seance(), {})
    adoption = Adoption(
        "demo", sha256_text(text), "Séance", "2026-12-10T18:30:00+01:00", "pv", 1, "PV", "", None, None, True, ()
    )
    certificate = certificate_html(adoption, {"seq": 1, "hash": "0" * 64}, "Hélène Marchand", "Sophie Garnier", "ab")
    plain = signed_pdf(text, adoption, certificate)
    key = generate_key()
    pdf = sign_minutes(plain, key, "Communauté de communes des Trois Rivières", "Hélène Marchand", "Sophie Garnier")
    assert pdf.startswith(plain)  # an incremental update: the PDF/A as made, then the signature
    assert check_pades(pdf, key.public_key()) is None
    with pikepdf.open(io.BytesIO(pdf)) as doc, doc.open_metadata() as meta:
        assert meta.pdfa_status == "3B"

    assert check_pades(plain, key.public_key()) == NO_PADES
    assert "pas celle de la clé du conseil" in check_pades(pdf, generate_key().public_key())
    flipped = bytearray(pdf)
    flipped[len(plain) // 2] ^= 1  # a byte of the signed PDF/A changed
    assert check_pades(bytes(flipped), key.public_key()) is not None
    appended = IncrementalPdfFileWriter(io.BytesIO(pdf))
    appended.root["/Lang"] = pdf_string("en")
    appended.update_root()
    out = io.BytesIO()
    appended.write(out)
    assert "modifié après sa signature" in check_pades(out.getvalue(), key.public_key())


def _adopted_then_closed(tmp_path, sign_in_journal: bytes | None = None):
    """The journal of a sitting that adopts the PV of « demo-precedente » and closes; with
    ``sign_in_journal``, that PDF's signature is journaled before the closing."""
    clock, key, path = Clock(), generate_key(), tmp_path / "suivante.jsonl"
    s = Seance(demo_council(), demo_config())
    with Journal.create(path, s, key) as journal:
        _through(journal, s, [(item, ADMIN) for item in demo_agenda()])
        _through(journal, s, [(AddAgendaItem(clock(), "approbation-pv", "Approbation du procès-verbal"), ADMIN)])
        _through(journal, s, _opening(clock))
        _through(journal, s, [(LinkMinutes(clock(), "approbation-pv", "demo-precedente", "a" * 64), ADMIN)])
        _through(journal, s, _vote(clock, "approbation-pv"))
        if sign_in_journal is not None:
            signed = RecordMinutesSigned(clock(), "approbation-pv", hashlib.sha256(sign_in_journal).hexdigest())
            _through(journal, s, [(signed, ADMIN)])
        _through(journal, s, [(CloseSitting(clock()), PRESIDENT)])
    return s, key, read_verified(path, key.public_key())


def _register_signature(pdf: bytes, approving: str = "demo", item: str = "approbation-pv") -> RegisteredSignature:
    return RegisteredSignature(
        "demo-precedente", "2026-12-14T10:00:00+01:00", approving, item, hashlib.sha256(pdf).hexdigest(), "dsi"
    )


def test_a_pv_signed_after_its_adopting_sitting_closed_is_read_from_the_register_only_once(tmp_path):
    """R11, R22: the adopting journal is closed unsigned; the register's ``MinutesSigned`` is
    the signature every reader takes (:func:`minutes_signature`), ``check_signed_pdf`` accepts
    it only when given the register, a second signature is refused with nothing written, and
    ``seance audit register`` ties the PV published to it."""
    pdf = b"%PDF-1.7 le proces-verbal signe"
    s, key, entries = _adopted_then_closed(tmp_path)
    adoption = adoption_of(s, "demo-precedente")
    assert adoption is not None and adoption.adopted and adoption.signed == ()
    assert minutes_signature(adoption, None) is None
    assert "aucune signature" in check_signed_pdf(pdf, entries)

    reg = Register(tmp_path / "registre.jsonl", key, "ccvb")
    reg.append(lambda pub: [_register_signature(pdf)])
    pub = reg.read()
    signed = minutes_signature(adoption, pub)
    assert signed is not None and (signed.source, signed.by) == (REGISTER, "dsi")
    assert signed.pdf_sha256 == hashlib.sha256(pdf).hexdigest()
    assert check_signed_pdf(pdf, entries, pub) is None
    assert "ni dans ce registre" in check_signed_pdf(b"%PDF-1.7 un autre", entries, pub)

    before = (tmp_path / "registre.jsonl").read_bytes()
    with pytest.raises(ValueError, match="déjà signé"):
        reg.append(lambda pub: [_register_signature(b"%PDF-1.7 une seconde signature")])
    assert (tmp_path / "registre.jsonl").read_bytes() == before

    # the audit of the register with the adopting journal: the PV published is the one signed
    reg.append(
        lambda pub: [MinutesPublished("demo-precedente", "2026-12-14T10:01:00+01:00", "demo", signed.pdf_sha256, "dsi")]
    )
    assert journal_problem(reg.read(), entries) is None
    other = Register(tmp_path / "autre.jsonl", key, "ccvb")
    other.append(lambda pub: [_register_signature(pdf, item="autre-point")])
    other.append(
        lambda pub: [MinutesPublished("demo-precedente", "2026-12-14T10:01:00+01:00", "demo", signed.pdf_sha256, "dsi")]
    )
    assert "que ce journal n'adopte pas" in journal_problem(other.read(), entries)
    assert minutes_signature(adoption, other.read()) is None  # not the item that adopted it
    early = Register(tmp_path / "avant.jsonl", key, "ccvb")
    early.append(lambda pub: [dataclasses.replace(_register_signature(pdf), at="2020-01-06T10:00:00+01:00")])
    assert "avant la clôture de ce journal" in journal_problem(early.read(), entries)


def test_a_pv_signed_in_its_journal_and_again_in_the_register_fails_the_audit(tmp_path):
    """R22: a PV is signed once; the journal's signature wins for the readers, and the audit
    names a register entry that signs it a second time."""
    pdf = b"%PDF-1.7 signe pendant la seance"
    s, key, entries = _adopted_then_closed(tmp_path, sign_in_journal=pdf)
    adoption = adoption_of(s, "demo-precedente")
    reg = Register(tmp_path / "registre.jsonl", key, "ccvb")
    reg.append(lambda pub: [_register_signature(b"%PDF-1.7 signe une seconde fois")])
    signed = minutes_signature(adoption, reg.read())
    assert signed is not None and signed.source == JOURNAL and signed.pdf_sha256 == hashlib.sha256(pdf).hexdigest()
    assert check_signed_pdf(pdf, entries) is None
    assert "signé deux fois" in journal_problem(reg.read(), entries)
