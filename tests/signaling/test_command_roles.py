"""The command table (COMMAND_PERMISSIONS) on the real WebSocket: every command type is refused
for every role not in its row, and nothing changes (state and journal)."""

from __future__ import annotations

import asyncio

import pytest

from deliberation.commands import COMMAND_TYPES
from signaling.roles import COMMAND_PERMISSIONS, PERMISSIONS, Role
from tests.signaling.sitting_ws import connect, make_app, service

SAMPLES = {
    "AddAgendaItem": {"item_id": "x1", "title": "Point"},
    "ConvertToTeleconference": {},
    "CheckIn": {"member_id": "m06", "salle_id": "vaux"},
    "CheckOut": {"member_id": "m06", "salle_id": "vaux"},
    "DeclareSuppleance": {"titulaire_id": "m17", "document_ref": "courrier.pdf", "salle_id": "vaux"},
    "RecordProxy": {"giver_id": "m09", "holder_id": "m07", "document_ref": "pouvoir.pdf"},
    "RevokeProxy": {"giver_id": "m09"},
    "AppointSecretary": {"member_id": "m03"},
    "ReportTransmission": {"salle_id": "vaux", "transmitting": True},
    "ReportPublicStream": {"up": True},
    "SetAudioOnly": {"salle_id": "vaux", "audio_only": True},
    "ObjectToBroadcast": {"salle_id": "vaux", "person": "Agent"},
    "OpenSitting": {},
    "Suspend": {},
    "Resume": {},
    "TakeUpItem": {"item_id": "pv-precedent"},
    "MarkSensitive": {"on": True},
    "RecordRecordingDigest": {"sha256": "0" * 64},
    "RecordConvocationSending": {"member_id": "m07", "sent": True},
    "RecordConvocationReceipt": {"member_id": "m07"},
    "LinkMinutes": {"item_id": "pv-precedent", "sitting_id": "autre-seance", "sha256": "0" * 64},
    "RecordMinutesSigned": {"item_id": "pv-precedent", "pdf_sha256": "0" * 64},
    "CloseSitting": {},
    "DeclareWithdrawal": {"item_id": "pv-precedent", "member_id": "m07"},
    "RequestSecretBallot": {"item_id": "pv-precedent", "member_id": "m07"},
    "WithdrawSecretBallotRequest": {"item_id": "pv-precedent", "member_id": "m07"},
    "DecideAppointmentBallot": {"item_id": "commission-environnement", "unanimous_for_public": True},
    "OpenVote": {"item_id": "pv-precedent"},
    "CastBallot": {"item_id": "pv-precedent", "voter_id": "m07", "choice": "pour"},
    "DecideFrozenVote": {"item_id": "pv-precedent", "reason": "motif"},
    "CloseVote": {"item_id": "pv-precedent"},
    "RequestFloor": {"member_id": "m07"},
    "WithdrawFloorRequest": {"member_id": "m07"},
    "GrantFloor": {"member_id": "m07"},
    "EndFloor": {},
    "RecordQuorumFailure": {},
    "WithdrawItem": {"item_id": "voirie-programme"},
    "ProposeAmendment": {"item_id": "dm-budget-2026", "amendment_id": "am-1", "text": "Texte", "author_id": "m07"},
    "WithdrawAmendment": {"item_id": "dm-budget-2026", "amendment_id": "am-1"},
    "RegisterCandidacy": {"item_id": "commission-environnement", "seat": 1, "member_id": "m07"},
    "CloseCandidacies": {"item_id": "commission-environnement"},
    "PresentAnnex": {
        "item_id": "marche-collecte",
        "annex_id": "a1",
        "sha256": "0" * 64,
        "title": "Plan",
        "pages": 1,
    },
    "StopPresentation": {},
}

CLAIMS = {
    Role.KIOSK: {"salle": "vaux"},
    Role.PUBLIC: None,
    Role.COUNCILLOR: {"member": "m07"},
    Role.AGENT: {"salle": "vaux", "agent": "a-vaux"},
    Role.MODERATOR: {"member": "moderateur"},
    Role.PRESIDENT: {"member": "m01", "salle": "belcourt"},
    Role.AUDITOR: {"member": "auditeur"},
    Role.ADMIN: {"member": "admin"},
}


def test_samples_cover_every_command_type():
    assert set(SAMPLES) == set(COMMAND_TYPES) == set(COMMAND_PERMISSIONS)


@pytest.fixture
async def client(aiohttp_client, tmp_path):
    return await aiohttp_client(make_app(tmp_path))


async def paced(sock, **command):
    """The reply to ``command``, sent again after a pause while the session's message
    rate is spent (signaling.hub: 40 at once, then 20 a second, over all its sockets): a
    role refused some 80 command types in a row is a faster sender than any screen."""
    for _ in range(50):
        reply = await sock.command(**command)
        if reply.get("code") != "rate_limited":
            return reply
        await asyncio.sleep(0.1)
    raise AssertionError(f"still rate limited after 5 s: {command['type']}")


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
async def test_every_command_outside_its_row_is_refused_and_changes_nothing(client, role):
    claims = CLAIMS[role]
    sock = await (connect(client, role.value) if claims is None else connect(client, role.value, role, **claims))
    svc = service(client)
    before, lines = svc.seance.canonical(), svc.journal.lines
    refused = 0
    for ctype, fields in SAMPLES.items():
        if role in COMMAND_PERMISSIONS[ctype]:
            continue
        reply = await paced(sock, type=ctype, **fields)
        expected = "ROLE" if role in PERMISSIONS["command"] else "forbidden"
        assert reply["type"] == "error" and reply["code"] == expected, (role, ctype, reply)
        refused += 1
    assert refused == sum(role not in who for who in COMMAND_PERMISSIONS.values())
    assert svc.seance.canonical() == before and svc.journal.lines == lines
