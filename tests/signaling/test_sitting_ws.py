"""A whole sitting of the demo council driven over the REAL WebSocket by authenticated sockets.

Media is the Router test double: salles' transmission is reported through the very
callback the Router is given (``on_health``, wired by the room to the sitting service).
The journal written on disk is then audited offline, and the sitting restarted from it
in a new app has the same state (R18, R21).
"""

from __future__ import annotations

import asyncio
import json

import pytest

from deliberation.audit import audit_file
from deliberation.journal import events_of, load_public_pem, read_verified
from signaling.roles import Role
from signaling.sitting import journal_path
from signaling.throttle import BROADCAST_INTERVAL_S
from tests.signaling.sitting_ws import connect, make_app, service, transmission
from web.app import SITTINGS


@pytest.fixture
async def client(aiohttp_client, tmp_path):
    return await aiohttp_client(make_app(tmp_path))


async def people(client):
    p = {
        "president": await connect(client, "president", Role.PRESIDENT, member="m01", salle="belcourt"),
        "moderator": await connect(client, "moderator", Role.MODERATOR, member="moderateur"),
        "public": await connect(client, "public"),
        "kiosk": await connect(client, "kiosk", Role.KIOSK, salle="vaux"),
    }
    for salle in ("belcourt", "vaux", "saint-ferreol"):
        p[salle] = await connect(client, f"agent-{salle}", Role.AGENT, salle=salle, agent=f"a-{salle}")
    for m in ("m03", "m06", "m07", "m10", "m11"):
        p[m] = await connect(client, m, Role.COUNCILLOR, member=m)
    return p


async def test_a_whole_sitting_over_the_websocket_then_audit_and_restart(client, aiohttp_client, tmp_path):
    p = await people(client)
    pres, public = p["president"], p["public"]
    view = public.view
    assert view["status"] == "convened" and {b["rule"] for b in view["opening"]["blockers"]} >= {"R7", "R8", "R10"}

    # R12: a banned item is refused when the agenda is built, with the rule named
    err = await pres.refused(
        "R12", type="AddAgendaItem", item_id="election", title="Élection du président", kind="election_president"
    )
    assert "R12" in err["message"] and err["field"] == "kind"

    # R8: opening refused while quorum is short (belcourt transmits, the stream is up, a secretary is named)
    for m in ("m01", "m02", "m03"):
        await p["belcourt"].ok(type="CheckIn", member_id=m, salle_id="belcourt")
    await transmission(client, "belcourt", True)
    await pres.ok(type="AppointSecretary", member_id="m03")
    await pres.refused("R8", type="OpenSitting")

    # R4: an agent checks in only in its own salle
    await p["vaux"].refused("R4", type="CheckIn", member_id="m10", salle_id="saint-ferreol")
    for m in ("m04", "m05"):
        await p["belcourt"].ok(type="CheckIn", member_id=m, salle_id="belcourt")
    for m in ("m06", "m07", "m08"):
        await p["vaux"].ok(type="CheckIn", member_id=m, salle_id="vaux")
    for m in ("m10", "m11"):
        await p["saint-ferreol"].ok(type="CheckIn", member_id=m, salle_id="saint-ferreol")

    # R7: opening refused while an occupied salle is not transmitting
    err = await pres.refused("R7", type="OpenSitting")
    assert "Vaux" in err["message"]
    await transmission(client, "vaux", True)
    await transmission(client, "saint-ferreol", True)

    # R9: a proxy recorded by the holder's agent
    await p["vaux"].ok(type="RecordProxy", giver_id="m09", holder_id="m07", document_ref="pouvoir-m09.pdf")
    events = await pres.ok(type="OpenSitting")
    assert [e["type"] for e in events] == ["SittingOpened"]
    view = await public.latest_view()
    assert view["status"] == "opened" and view["public_stream_up"] is True and view["secretary"]["id"] == "m03"
    assert view["quorum"]["present"] == 10 and view["journal"]["lines"] > 0
    assert view["media"]["vaux"]["transmitting"] is True

    # the floor
    await p["m07"].ok(type="RequestFloor", member_id="m07")
    await p["m07"].refused("ROLE", type="RequestFloor", member_id="m06")
    await p["moderator"].ok(type="GrantFloor", member_id="m07")
    assert (await public.latest_view())["floor"]["speaker"]["id"] == "m07"
    await p["moderator"].ok(type="EndFloor")

    # R13: an electronic vote with a proxy ballot, adopted; the nominative result on the public socket
    await pres.ok(type="OpenVote", item_id="marche-collecte", method="electronique")
    await p["m07"].ok(type="CastBallot", item_id="marche-collecte", voter_id="m07", choice="pour")
    await p["m07"].ok(type="CastBallot", item_id="marche-collecte", voter_id="m07", choice="pour", on_behalf_of="m09")
    await p["m07"].refused("R13", type="CastBallot", item_id="marche-collecte", voter_id="m08", choice="pour")
    await p["m10"].ok(type="CastBallot", item_id="marche-collecte", voter_id="m10", choice="contre")
    view = await public.latest_view()
    assert view["vote"]["cast_count"] == 3 and "contre" not in json.dumps(view["vote"])
    await pres.ok(type="CastBallot", item_id="marche-collecte", voter_id="m01", choice="pour")
    await pres.ok(type="CloseVote", item_id="marche-collecte")
    view = await public.latest_view()
    item = next(i for i in view["agenda"] if i["id"] == "marche-collecte")
    assert item["status"] == "adopted" and item["result"]["pour"] == 3 and item["result"]["contre"] == 1
    assert {
        "voter": "m07",
        "voter_name": "Nathalie Rousseau",
        "on_behalf_of": "m09",
        "on_behalf_of_name": "Claire Dubois",
        "choice": "pour",
        "candidate": None,
        "candidate_name": None,
    } in item["result"]["ballots"]

    # R13/R14: a roll call ending in a tie, decided by the president's vote
    await pres.ok(type="OpenVote", item_id="voirie-programme", method="appel_nominal")
    await p["m07"].refused("R13", type="CastBallot", item_id="voirie-programme", voter_id="m07", choice="pour")
    await p["m03"].ok(type="CastBallot", item_id="voirie-programme", voter_id="m01", choice="pour")  # the secretary
    await p["m03"].ok(type="CastBallot", item_id="voirie-programme", voter_id="m06", choice="contre")
    await p["vaux"].refused("R13", type="CastBallot", item_id="voirie-programme", voter_id="m10", choice="pour")
    await p["saint-ferreol"].ok(type="CastBallot", item_id="voirie-programme", voter_id="m10", choice="pour")
    await p["saint-ferreol"].ok(type="CastBallot", item_id="voirie-programme", voter_id="m11", choice="contre")
    events = await pres.ok(type="CloseVote", item_id="voirie-programme")
    assert events[0]["data"]["adopted"] is True and events[0]["data"]["casting_vote"] is True
    item = next(i for i in (await public.latest_view())["agenda"] if i["id"] == "voirie-programme")
    assert item["status"] == "adopted" and item["result"]["casting_vote"] is True

    # R15: a secret-ballot request by a third of those present postpones the item
    for m in ("m03", "m06", "m07"):
        await p[m].ok(type="RequestSecretBallot", item_id="fonds-concours-vaux", member_id=m)
    events = await p["m10"].ok(type="RequestSecretBallot", item_id="fonds-concours-vaux", member_id="m10")
    assert [e["type"] for e in events] == ["SecretBallotRequested", "ItemPostponed"]
    item = next(i for i in (await public.latest_view())["agenda"] if i["id"] == "fonds-concours-vaux")
    assert item["status"] == "postponed" and len(item["secret_requests"]) == 4
    await pres.refused("R15", type="OpenVote", item_id="fonds-concours-vaux")

    # R17: a salle loses its transmission: suspended, the open vote frozen; back, resumed
    await pres.ok(type="OpenVote", item_id="pv-precedent")
    await p["m07"].ok(type="CastBallot", item_id="pv-precedent", voter_id="m07", choice="pour")
    await transmission(client, "saint-ferreol", False)
    view = await public.latest_view()
    assert view["status"] == "suspended" and view["vote"]["frozen"] is True
    assert view["media"]["saint-ferreol"]["transmitting"] is False
    await p["m06"].refused("R17", type="CastBallot", item_id="pv-precedent", voter_id="m06", choice="pour")
    await pres.refused("R17", type="CloseVote", item_id="pv-precedent")
    await pres.refused("R17", type="Resume")
    await transmission(client, "saint-ferreol", True)
    await pres.ok(type="Resume")
    await p["m06"].ok(type="CastBallot", item_id="pv-precedent", voter_id="m06", choice="pour")
    await pres.ok(type="CloseVote", item_id="pv-precedent")

    # R3: audio only by the agent, journaled and applied to the Router
    await p["vaux"].ok(type="SetAudioOnly", salle_id="vaux", audio_only=True)
    assert service(client).room.router.audio_only == {"vaux": True}

    # R11: closing; nothing more afterwards
    await pres.ok(type="CloseSitting")
    await p["m07"].refused("R11", type="RequestFloor", member_id="m07")
    view = await public.latest_view()
    assert view["status"] == "closed"

    # R21: the journal on disk verifies offline; R18: a new app resumes in the same state
    svc = service(client)
    before = svc.seance.canonical()
    path = journal_path(tmp_path, "demo")
    assert path == svc.journal_path
    public_key = load_public_pem((tmp_path / "keys" / "council-ed25519.pub").read_bytes())
    report = audit_file(str(path), public_key)
    assert report.ok, report.summary()
    assert len(report.votes) == 3
    assert (tmp_path / "keys" / "council-ed25519.pem").stat().st_mode & 0o777 == 0o600
    await client.close()
    again = await aiohttp_client(make_app(tmp_path))
    assert again.app[SITTINGS]["demo"].seance.canonical() == before
    assert again.app[SITTINGS]["demo"].error is None


async def test_transmission_reports_only_on_change_and_public_stream_follows(client):
    svc = service(client)
    lines = svc.journal.lines
    await transmission(client, "vaux", True)
    assert svc.seance.state.transmitting["vaux"] is True and svc.seance.state.public_stream_up is True
    after_first = svc.journal.lines
    await transmission(client, "vaux", True)  # no change: nothing journaled
    assert svc.journal.lines == after_first > lines
    await transmission(client, "vaux", False)
    assert svc.seance.state.public_stream_up is False  # no live salle: no programme for the public (R2)


async def test_at_and_actor_fields_from_the_browser_are_refused(client):
    agent = await connect(client, "agent", Role.AGENT, salle="vaux", agent="a-vaux")
    await agent.refused("SCHEMA", type="CheckIn", member_id="m06", salle_id="vaux", at="2026-11-26T18:00:00+01:00")
    await agent.refused("SCHEMA", type="CheckIn", member_id="m06", salle_id="vaux", actor="president")
    await agent.refused("SCHEMA", type="NoSuchCommand")
    assert service(client).seance.state.presence == {}


async def test_an_agent_token_without_its_agent_id_is_refused_R4(client):
    agent = await connect(client, "agent", Role.AGENT, salle="vaux")
    await agent.refused("R4", type="CheckIn", member_id="m06", salle_id="vaux")


async def test_mute_is_media_only_and_pushes_the_view(client):
    mod = await connect(client, "moderator", Role.MODERATOR, member="moderateur")
    lines = service(client).journal.lines
    await mod.ws.send_json({"type": "mute", "salle": "vaux", "id": "m"})
    view = await mod.next("sitting")
    assert view["view"]["media"]["vaux"]["muted"] is True
    assert service(client).journal.lines == lines


async def test_kiosks_get_the_state_but_never_the_view(client):
    kiosk = await connect(client, "kiosk", Role.KIOSK, salle="vaux")
    mod = await connect(client, "moderator", Role.MODERATOR, member="moderateur")
    await mod.ws.send_json({"type": "mute", "salle": "vaux", "id": "m"})
    assert (await mod.next("sitting"))["view"]["media"]["vaux"]["muted"] is True
    state = await kiosk.next("state")
    while next(x for x in state["salles"] if x["id"] == "vaux")["muted"] is not True:
        state = await kiosk.next("state")
    assert kiosk.view is None  # no "sitting" message reached the kiosk, on connect or since


async def test_a_storm_of_changes_is_coalesced_and_the_last_state_arrives(client):
    """Twenty media changes in one go (a large sitting's salles joining): past the burst
    the view goes out at most every BROADCAST_INTERVAL_S, and the last view pushed
    carries the last change."""
    mod = await connect(client, "moderator", Role.MODERATOR, member="moderateur")
    room = service(client).room
    for i in range(20):
        room.set_muted("vaux", i % 2 == 0)  # ends unmuted (i = 19)
        await asyncio.sleep(0.002)  # each change in a loop turn of its own
    views = []
    while True:
        try:
            views.append((await asyncio.wait_for(mod.next("sitting"), BROADCAST_INTERVAL_S * 3))["view"])
        except TimeoutError:
            break
    assert 1 <= len(views) < 20
    assert views[-1]["media"]["vaux"]["muted"] is False


async def test_R19_R20_R3_media_follows_the_journaled_state_and_survives_a_restart(client, aiohttp_client, tmp_path):
    """Sensitive passage, objection to broadcast and audio-only act on the Router itself, not only on
    screens; a sitting resumed from its journal gets the same media state back."""
    p = await people(client)
    router = service(client).room.router
    assert getattr(router, "public_silenced", False) is False
    await p["vaux"].ok(type="ObjectToBroadcast", salle_id="vaux", person="Julien Robin (agent)")
    assert router.no_broadcast == frozenset({"vaux"})
    await p["vaux"].ok(type="SetAudioOnly", salle_id="vaux", audio_only=True)
    assert router.audio_only["vaux"] is True
    for m in ("m01", "m02", "m03", "m04", "m05"):
        await p["belcourt"].ok(type="CheckIn", member_id=m, salle_id="belcourt")
    for m in ("m06", "m07", "m08", "m09"):
        await p["vaux"].ok(type="CheckIn", member_id=m, salle_id="vaux")
    for salle in ("belcourt", "vaux"):
        await transmission(client, salle, True)
    await p["president"].ok(type="AppointSecretary", member_id="m03")
    await p["president"].ok(type="OpenSitting")
    await p["president"].ok(type="MarkSensitive", on=True, reason="situation d'un agent")
    assert router.public_silenced is True
    await client.close()

    again = await aiohttp_client(make_app(tmp_path))
    resumed = again.app[SITTINGS]["demo"].room.router
    assert resumed.public_silenced is True and resumed.no_broadcast == frozenset({"vaux"})
    assert resumed.audio_only.get("vaux") is True
    pres = await connect(again, "president", Role.PRESIDENT, member="m01", salle="belcourt")
    await pres.ok(type="MarkSensitive", on=False)
    assert resumed.public_silenced is False


async def test_R2_R11_public_viewers_are_fed_only_while_the_sitting_is_open(client, aiohttp_client, tmp_path):
    """The Router feeds public viewers only while the sitting is open: not before the
    opening, not during a suspension, not after the closing, and not after a restart of a
    suspended sitting."""
    p = await people(client)
    router = service(client).room.router
    assert router.public_fed is False
    for m in ("m01", "m02", "m03", "m04", "m05"):
        await p["belcourt"].ok(type="CheckIn", member_id=m, salle_id="belcourt")
    for m in ("m06", "m07", "m08", "m09"):
        await p["vaux"].ok(type="CheckIn", member_id=m, salle_id="vaux")
    for salle in ("belcourt", "vaux"):
        await transmission(client, salle, True)
    await p["president"].ok(type="AppointSecretary", member_id="m03")
    assert router.public_fed is False
    await p["president"].ok(type="OpenSitting")
    assert router.public_fed is True
    await p["president"].ok(type="Suspend", reason="pause")
    assert router.public_fed is False
    await client.close()

    again = await aiohttp_client(make_app(tmp_path))
    resumed = again.app[SITTINGS]["demo"].room.router
    assert resumed.public_fed is False
    pres = await connect(again, "president", Role.PRESIDENT, member="m01", salle="belcourt")
    await pres.ok(type="Resume")
    assert resumed.public_fed is True
    await pres.ok(type="CloseSitting")
    assert resumed.public_fed is False


async def test_the_floor_puts_the_speaker_s_salle_on_the_programme(client):
    """Issue 15, point 2: giving the floor to a councillor in another salle tells the Router
    that salle (it goes on the public picture); ending the turn, by the councillor
    themself, takes it back; the ``state`` says it."""
    p = await people(client)
    router = service(client).room.router
    for m in ("m01", "m02", "m03", "m04", "m05"):
        await p["belcourt"].ok(type="CheckIn", member_id=m, salle_id="belcourt")
    for m in ("m06", "m07", "m08", "m09"):
        await p["vaux"].ok(type="CheckIn", member_id=m, salle_id="vaux")
    for salle in ("belcourt", "vaux"):
        await transmission(client, salle, True)
    await p["president"].ok(type="AppointSecretary", member_id="m03")
    await p["president"].ok(type="OpenSitting")
    assert router.floor is None
    await p["president"].ok(type="GrantFloor", member_id="m07")
    assert router.floor == "vaux" and service(client).room.state_message()["floor_salle"] == "vaux"
    await p["m07"].ok(type="EndFloor")
    assert router.floor is None and service(client).room.state_message()["floor_salle"] is None


async def test_kiosks_get_the_room_display_summary_and_the_others_do_not(client):
    """A kiosk gets ``board`` (state, item, vote, floor) on connecting and on each change;
    the screens that show the whole view never get it."""
    kiosk = await connect(client, "kiosk", Role.KIOSK, salle="vaux")
    first = await kiosk.next("board")
    assert first["status"] == "convened" and first["vote"] is None and first["speaker"] is None
    p = await people(client)
    for m in ("m01", "m02", "m03", "m04", "m05"):
        await p["belcourt"].ok(type="CheckIn", member_id=m, salle_id="belcourt")
    for m in ("m06", "m07", "m08", "m09"):
        await p["vaux"].ok(type="CheckIn", member_id=m, salle_id="vaux")
    for salle in ("belcourt", "vaux"):
        await transmission(client, salle, True)
    await p["president"].ok(type="AppointSecretary", member_id="m03")
    await p["president"].ok(type="OpenSitting")
    await p["president"].ok(type="TakeUpItem", item_id="pv-precedent")
    await p["president"].ok(type="GrantFloor", member_id="m07")
    await p["president"].ok(type="OpenVote", item_id="pv-precedent")
    board = await kiosk.next("board")
    while board["vote"] is None:
        board = await kiosk.next("board")
    assert board["status"] == "opened"
    assert board["item"] == {"id": "pv-precedent", "number": 1, "of": 7, "title": board["item"]["title"]}
    assert board["speaker"]["name"] == "Nathalie Rousseau" and board["speaker"]["salle"] == "vaux"
    assert (board["vote"]["cast_count"], board["vote"]["electorate_count"]) == (0, 9)
    await p["president"].ok(type="CloseVote", item_id="pv-precedent")
    board = await kiosk.next("board")
    while board["result"] is None:
        board = await kiosk.next("board")
    assert board["result"]["item"]["id"] == "pv-precedent" and board["result"]["adopted"] is False
    assert kiosk.view is None
    mod = await connect(client, "moderator", Role.MODERATOR, member="moderateur")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(mod.next("board"), BROADCAST_INTERVAL_S * 3)


async def test_R3_an_automatic_audio_fallback_is_journaled_by_the_system_with_its_figures(client):
    """The Router measured that vaux's link cannot carry the picture: the room has the
    sitting's service journal SetAudioOnly by the system, with the figures, and apply it
    (the state every screen shows says audio seul); then video comes back the same way."""
    p = await people(client)
    svc = service(client)
    router = svc.room.router
    figures = {"seconds": 4.0, "down_kbps": 96.5, "down_need_kbps": 1290.0, "down_loss_pct": 34.0}
    router.on_fallback("vaux", True, "down", figures)
    await svc.idle()
    assert router.audio_only["vaux"] is True
    assert svc.seance.state.audio_only["vaux"] is True
    state = await p["kiosk"].next("state")
    while not next(s for s in state["salles"] if s["id"] == "vaux")["audio_only"]:
        state = await p["kiosk"].next("state")
    public_key = load_public_pem((svc.journal_path.parent.parent.parent / "keys" / "council-ed25519.pub").read_bytes())
    events = [e for e in events_of(read_verified(svc.journal_path, public_key)) if e.type == "AudioOnlyChanged"]
    assert events[-1].data["automatic"] is True and events[-1].data["audio_only"] is True
    assert "96.5 kbit/s pour 1290 kbit/s" in events[-1].data["figures"] and "34 %" in events[-1].data["figures"]
    # an agent's own switch is not automatic; the system brings video back by itself
    router.on_fallback("vaux", False, "trial", {"seconds": 5.0, "down_kbps": 1800.0, "down_need_kbps": 1290.0})
    await svc.idle()
    assert router.audio_only["vaux"] is False and svc.seance.state.audio_only["vaux"] is False
    # a switch for a salle of no sitting changes nothing
    router.on_fallback("nowhere", True, "down", figures)
    await svc.idle()
    assert "nowhere" not in svc.seance.state.audio_only
