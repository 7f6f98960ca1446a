"""Issue 12.2 (R13): no screen, view, page or download shows anyone's choice while the
vote is open; how many have voted is fine. Then, at the close, every choice is readable.

Surfaces: the sitting view pushed to the president, the moderator, the public and a
councillor; the auditor's page and its downloads (journal, procès-verbal, liste, SCDL
CSV) read by the auditor, the president and the admin.
"""

from __future__ import annotations

import json

import pytest

from deliberation.audit import audit_bytes
from deliberation.journal import load_public_pem
from deliberation.secrecy import open_ballots
from signaling.roles import Role
from tests.signaling.sitting_ws import connect, make_app, transmission
from web.app import ACCOUNTS, SITTINGS

ITEM = "marche-collecte"
#: (voter socket, voter_id, on_behalf_of, choice): each choice written as the audit page words it
BALLOTS = [("m07", "m07", None, "contre"), ("m07", "m07", "m09", "abstention"), ("president", "m01", None, "pour")]


async def _open_vote_with_ballots(client):
    pres = await connect(client, "president", Role.PRESIDENT, member="m01", salle="belcourt")
    socks = {
        "president": pres,
        "moderator": await connect(client, "moderator", Role.MODERATOR, member="moderateur"),
        "public": await connect(client, "public"),
        "m07": await connect(client, "m07", Role.COUNCILLOR, member="m07"),
        "m06": await connect(client, "m06", Role.COUNCILLOR, member="m06"),
    }
    belcourt = await connect(client, "agent-belcourt", Role.AGENT, salle="belcourt", agent="a-belcourt")
    vaux = await connect(client, "agent-vaux", Role.AGENT, salle="vaux", agent="a-vaux")
    for m in ("m01", "m02", "m03", "m04", "m05"):
        await belcourt.ok(type="CheckIn", member_id=m, salle_id="belcourt")
    for m in ("m06", "m07", "m08"):
        await vaux.ok(type="CheckIn", member_id=m, salle_id="vaux")
    sf = await connect(client, "agent-sf", Role.AGENT, salle="saint-ferreol", agent="a-saint-ferreol")
    await sf.ok(type="CheckIn", member_id="m10", salle_id="saint-ferreol")
    for salle in ("belcourt", "vaux", "saint-ferreol"):
        await transmission(client, salle, True)
    await vaux.ok(type="RecordProxy", giver_id="m09", holder_id="m07", document_ref="pouvoir-m09.pdf")
    await pres.ok(type="AppointSecretary", member_id="m03")
    await pres.ok(type="OpenSitting")
    await pres.ok(type="OpenVote", item_id=ITEM, method="electronique")
    await socks["m07"].ok(type="CastBallot", item_id=ITEM, voter_id="m07", choice="pour")  # then changed (R13)
    for sock, voter, on_behalf_of, choice in BALLOTS:
        fields = {"on_behalf_of": on_behalf_of} if on_behalf_of else {}
        await socks[sock].ok(type="CastBallot", item_id=ITEM, voter_id=voter, choice=choice, **fields)
    return socks


async def _login(client, role: Role, login: str, **kw) -> None:
    client.app[ACCOUNTS].set_account(login, "pw-secret-1", role, **kw)
    r = await client.post("/login", data={"login": login, "password": "pw-secret-1"}, allow_redirects=False)
    assert r.status == 303


def _choice_texts():
    names = {"m07": "Nathalie Rousseau", "m09": "Claire Dubois", "m01": None}
    out = []
    for _sock, voter, on_behalf_of, choice in BALLOTS:
        on = f" pour {names[on_behalf_of]} (pouvoir)" if on_behalf_of else ""
        out.append((voter, on, choice))
    return out


async def test_R13_no_choice_reaches_any_screen_while_the_vote_is_open(aiohttp_client, tmp_path):
    client = await aiohttp_client(make_app(tmp_path))
    socks = await _open_vote_with_ballots(client)
    for name, sock in socks.items():
        view = await sock.latest_view()
        assert view["vote"]["cast_count"] == len(BALLOTS), name  # counts are fine
        text = json.dumps(view)
        assert '"choice"' not in text and "contre" not in text.replace('"contre"', ""), name
        assert all(set(e) >= {"cast"} and "choice" not in e for e in view["vote"]["electorate"]), name


@pytest.mark.parametrize(
    ("role", "claims"), [(Role.AUDITOR, {}), (Role.PRESIDENT, {"member_id": "m01"}), (Role.ADMIN, {})]
)
async def test_R13_the_audit_page_and_its_downloads_show_no_choice_while_the_vote_is_open(
    aiohttp_client, tmp_path, role, claims
):
    client = await aiohttp_client(make_app(tmp_path))
    socks = await _open_vote_with_ballots(client)
    await _login(client, role, "lecteur", **claims)
    service = client.app[SITTINGS]["demo"]
    names = {m.id: m.name for m in service.seance.council.members}

    page = await (await client.get("/audit/demo")).text()
    assert 'id="vote-secret"' in page
    for voter, on, choice in _choice_texts():
        on_html = on.replace("(", "(")
        assert f"{names[voter]}{on_html} : {choice}" not in page, (voter, choice)
        assert f"{names[voter]}{on_html} : vote enregistré" in page or f"{names[voter]}{on_html} : vote modifié" in page
    assert "modifie son vote" not in page and "→" not in page  # the change is said, not its choices

    r = await client.get("/audit/demo/journal.jsonl")
    body = await r.read()
    kinds = [json.loads(x).get("event", {}).get("type") for x in body.splitlines()]
    assert "VoteOpened" in kinds and "BallotCast" not in kinds and "BallotChanged" not in kinds
    assert b'"choice"' not in body
    # what is withheld is a signed prefix: it verifies as a sitting under way
    assert audit_bytes(body, load_public_pem(service.public_key_pem.encode()), allow_open=True).ok
    assert int(r.headers["X-Seance-Journal-Withheld-From-Line"]) == body.count(b"\n") + 1

    pv = await (await client.get("/audit/demo/proces-verbal.html?vue=1")).text()
    assert "Vote en cours : 3 vote(s) enregistré(s)" in pv
    for voter, _on, choice in _choice_texts():
        assert f"<td>{names[voter]}</td>" not in pv, (voter, choice)
    liste = await (await client.get("/audit/demo/liste-deliberations.html")).text()
    csv_text = await (await client.get("/audit/demo/deliberations.csv")).text()
    assert "contre" not in liste and "contre" not in csv_text.split("\n", 1)[1]

    # at the close, every choice is readable
    await socks["president"].ok(type="CloseVote", item_id=ITEM)
    page = await (await client.get("/audit/demo")).text()
    assert 'id="vote-secret"' not in page
    assert f"{names['m07']} pour {names['m09']} (pouvoir) : abstention" in page
    body = await (await client.get("/audit/demo/journal.jsonl")).read()
    assert body.count(b'"type":"BallotCast"') == len(BALLOTS) and body.count(b'"type":"BallotChanged"') == 1
    assert f"{names['m07']} modifie son vote : pour → contre (R13)" in page


def test_R13_the_open_ballots_of_a_journal_start_after_the_batch_that_opened_the_vote(tmp_path):
    """deliberation.secrecy on raw lines: nothing open, open without ballots, postponed (cancelled)."""

    def line(kind, **kw):
        return json.dumps({"kind": kind, **kw}).encode() + b"\n"

    opened = line("command", command={"type": "OpenVote"}) + line(
        "event", event={"type": "VoteOpened", "data": {"item_id": "x"}}
    )
    sealed = line("checkpoint", reason="batch")
    ballot = line("command", command={"type": "CastBallot"}) + line(
        "event", event={"type": "BallotCast", "data": {"item_id": "x", "choice": "pour"}}
    )
    assert open_ballots(line("genesis")) is None
    found = open_ballots(line("genesis") + opened + sealed + ballot + sealed)
    assert found is not None and found.item_id == "x" and found.first_line == 5
    assert found.cut == len(line("genesis") + opened + sealed)
    assert open_ballots(line("genesis") + opened + sealed).cut == len(line("genesis") + opened + sealed)
    closed = line("command", command={"type": "CloseVote"}) + line("event", event={"type": "VoteClosed", "data": {}})
    assert open_ballots(line("genesis") + opened + sealed + ballot + sealed + closed + sealed) is None
    postponed = line("command", command={"type": "RequestSecretBallot"}) + line(
        "event", event={"type": "ItemPostponed", "data": {"item_id": "x"}}
    )
    assert open_ballots(line("genesis") + opened + sealed + ballot + sealed + postponed + sealed) is None
