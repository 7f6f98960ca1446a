"""The people's screens (issue 4): who may open which page, what each page carries, and
that the scripts and the pages agree with each other and with the sitting view.

The scripts are not run here (the end-to-end sitting in tests/browser runs them in
Chromium); these checks catch the mistakes that need no browser: an element id a
script looks up that its page lacks, a view key a script reads that the server does not
send, an inline script the CSP would block.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from signaling.roles import Role
from web.app import SESSION_COOKIE, SIGNER, create_app
from web.commands import demo
from web.commands.demo import seed_demo
from web.config import WebConfig

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"


@pytest.fixture
async def client(aiohttp_client, tmp_path):
    config = WebConfig(tls=False, data_dir=tmp_path, sittings=(demo.demo_sitting(),), ice_addresses=("127.0.0.1",))
    seed_demo(config.data_dir)  # the demo council, entered and convened as in /admin
    return await aiohttp_client(create_app(config))


def login_as(client, role: Role, member: str | None = None, salle: str | None = None, agent: str | None = None):
    token = client.app[SIGNER].issue(role, member=member, salle=salle, agent=agent)
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: token})


PAGES = {
    "/president": (Role.PRESIDENT, "m01", "belcourt", None, "president.js"),
    "/agent/vaux": (Role.AGENT, "a-vaux", "vaux", "a-vaux", "agent.js"),
    "/elu": (Role.COUNCILLOR, "m07", None, None, "elu.js"),
}


@pytest.mark.parametrize("path", list(PAGES))
async def test_screens_need_a_session(client, path):
    """Logged out: the login page, which comes back to this page afterwards (issue 15)."""
    r = await client.get(path, allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == f"/login?next={path}"


@pytest.mark.parametrize("path", list(PAGES))
async def test_screens_are_refused_to_other_roles_in_french(client, path):
    role = Role.MODERATOR
    login_as(client, role, member="moderateur", salle="belcourt")
    r = await client.get(path)
    assert r.status == 403 and "Accès refusé" in await r.text()


@pytest.mark.parametrize("path", list(PAGES))
async def test_screens_load_their_script_and_no_inline_script(client, path):
    role, member, salle, agent, script = PAGES[path]
    login_as(client, role, member=member, salle=salle, agent=agent)
    r = await client.get(path)
    body = await r.text()
    assert r.status == 200 and 'lang="fr"' in body and 'data-sitting="demo"' in body
    assert f'<script type="module" src="/static/{script}' in body
    assert (
        "<script>" not in body and " style=" not in body and "onclick=" not in body
    )  # CSP: script-src/style-src 'self'
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]


async def test_agent_screen_is_for_the_agent_of_that_salle_only_R4(client):
    login_as(client, Role.AGENT, member="a-vaux", salle="vaux", agent="a-vaux")
    r = await client.get("/agent/belcourt")
    assert r.status == 403 and "R4" in await r.text()
    r = await client.get("/agent", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/agent/vaux"
    assert (await client.get("/agent/nowhere")).status == 404


async def test_elu_screen_is_a_phone_layout(client):
    login_as(client, Role.COUNCILLOR, member="m07")
    body = await (await client.get("/elu")).text()
    assert 'name="viewport" content="width=device-width' in body and 'class="page screen elu"' in body
    assert 'data-member="m07"' in body


# ------------------------------------------------------------------ scripts vs pages

PAGE_SCRIPTS = {
    "/president": ["president.js"],
    "/agent/vaux": ["agent.js"],
    "/elu": ["elu.js"],
    "/moderation": ["moderation.js"],
    "/public/demo": ["public.js"],
}


def _ids_looked_up(script: str) -> set[str]:
    text = (STATIC / script).read_text(encoding="utf-8")
    return set(re.findall(r'\$\("([A-Za-z0-9_-]+)"\)', text))


def _ids_created(script: str) -> set[str]:
    text = (STATIC / script).read_text(encoding="utf-8")
    return set(re.findall(r'\bid: "([A-Za-z0-9_-]+)"', text)) | set(
        re.findall(r"\bconst reasonId = \"([a-z-]+)\"", text)
    )


@pytest.mark.parametrize("path", list(PAGE_SCRIPTS))
async def test_every_element_a_script_looks_up_is_on_its_page(client, path):
    if path == "/moderation":
        login_as(client, Role.MODERATOR, member="moderateur", salle="belcourt")
    elif path in PAGES:
        role, member, salle, agent, _ = PAGES[path]
        login_as(client, role, member=member, salle=salle, agent=agent)
    body = await (await client.get(path)).text()
    on_page = set(re.findall(r'\bid="([A-Za-z0-9_-]+)"', body))
    for script in PAGE_SCRIPTS[path]:
        missing = _ids_looked_up(script) - on_page - _ids_created(script)
        assert not missing, f"{script} looks up ids missing from {path}: {sorted(missing)}"


async def test_static_scripts_are_served(client):
    for name in ("sitting.js", "president.js", "agent.js", "elu.js", "public.js", "moderation.js", "seance.css"):
        assert (await client.get(f"/static/{name}")).status == 200


# ------------------------------------------------------------------ scripts vs the sitting view

#: Keys the screens read from the view (docs/interfaces.md, « the sitting view »).
VIEW_KEYS = {
    "id",
    "title",
    "status",
    "sensitive",
    "public_stream_up",
    "president",
    "secretary",
    "salles",
    "members",
    "quorum",
    "opening",
    "agenda",
    "current_item",
    "vote",
    "floor",
}
SALLE_KEYS = {"id", "name", "transmitting", "audio_only", "present"}
MEMBER_KEYS = {
    "id",
    "name",
    "commune",
    "function",
    "present",
    "salle",
    "proxy_to",
    "proxy_from",
    "suppleant_of",
    "suppleant",
    "suppleance",
}
ITEM_KEYS = {
    "id",
    "title",
    "kind",
    "status",
    "secret_requests",
    "result",
    "votes",
    "seats",
    "amendments",
    "body",
    "public_appointment",
    "candidacies_closed",
}
RESULT_KEYS = {"pour", "contre", "abstention", "nppv", "exprimes", "adopted", "casting_vote", "ballots", "not_voting"}
BALLOT_KEYS = {"voter", "voter_name", "on_behalf_of", "on_behalf_of_name", "choice", "candidate", "candidate_name"}
VOTE_KEYS = {
    "item_id",
    "method",
    "frozen",
    "electorate",
    "cast_count",
    "electorate_count",
    "subject",
    "subject_label",
    "amendment_id",
    "seat",
    "round",
    "candidates",
}
CLOSED_VOTE_KEYS = {"subject", "subject_label", "method", "pour", "contre", "exprimes", "ballots", "not_voting"}
SLOT_KEYS = {"voter", "voter_name", "on_behalf_of", "on_behalf_of_name", "cast"}


def _sample_view():
    """A sitting taken through check-ins, a proxy, opening and a closed vote, then a vote open."""
    from deliberation.actors import Actor
    from deliberation.actors import Role as CoreRole
    from deliberation.commands import (
        AppointSecretary,
        CastBallot,
        CheckIn,
        CloseVote,
        OpenSitting,
        OpenVote,
        RecordProxy,
        ReportPublicStream,
        ReportTransmission,
        TakeUpItem,
    )
    from deliberation.demo import agent_actor, demo_seance, president_actor
    from deliberation.refusal import Refusal
    from deliberation.view import sitting_view

    s = demo_seance()
    at = "2026-11-26T18:30:00+01:00"
    system = Actor(CoreRole.SYSTEM)
    president = president_actor(s.council)

    def ok(command, actor):
        result = s.handle(command, actor)
        assert not isinstance(result, Refusal), result

    for salle in ("belcourt", "vaux", "saint-ferreol"):
        ok(ReportTransmission(at, salle, True), system)
    ok(ReportPublicStream(at, True), system)
    present = {
        "belcourt": ["m01", "m02", "m03", "m04"],
        "vaux": ["m06", "m07", "m08"],
        "saint-ferreol": ["m10", "m11", "m12"],
    }
    for salle, members in present.items():
        for m in members:
            ok(CheckIn(at, m, salle), agent_actor(s.council, salle))
    ok(RecordProxy(at, "m09", "m07", "pouvoir écrit n° 1"), agent_actor(s.council, "vaux"))
    ok(AppointSecretary(at, "m03"), president)
    ok(OpenSitting(at), president)
    ok(TakeUpItem(at, "pv-precedent"), president)
    ok(OpenVote(at, "pv-precedent"), president)
    ok(CastBallot(at, "pv-precedent", "m07", "pour", "m09"), Actor(CoreRole.COUNCILLOR, member_id="m07"))
    ok(CastBallot(at, "pv-precedent", "m01", "pour"), president)
    ok(CloseVote(at, "pv-precedent"), president)
    ok(TakeUpItem(at, "marche-collecte"), president)
    ok(OpenVote(at, "marche-collecte", "appel_nominal"), president)
    return sitting_view(s)


def test_the_view_has_every_key_the_screens_read():
    view = _sample_view()
    assert VIEW_KEYS <= set(view), VIEW_KEYS - set(view)
    for salle in view["salles"]:
        assert SALLE_KEYS <= set(salle)
        for p in salle["present"]:
            assert {"id", "name", "since"} <= set(p)
    for member in view["members"]:
        assert MEMBER_KEYS <= set(member)
    assert {"present", "in_office", "required", "reached", "waived"} <= set(view["quorum"])
    assert {"ready", "blockers"} <= set(view["opening"])
    assert {"speaker", "queue"} <= set(view["floor"])
    for item in view["agenda"]:
        assert ITEM_KEYS <= set(item)
    voted = next(i for i in view["agenda"] if i["id"] == "pv-precedent")
    assert RESULT_KEYS <= set(voted["result"])
    assert all(CLOSED_VOTE_KEYS <= set(v) for v in voted["votes"]) and voted["votes"][0]["adopted"] is True
    assert all(BALLOT_KEYS <= set(b) for b in voted["result"]["ballots"])
    proxy_ballot = next(b for b in voted["result"]["ballots"] if b["on_behalf_of"])
    assert proxy_ballot["voter_name"] and proxy_ballot["on_behalf_of_name"]  # "X pour Y (pouvoir)" on every screen
    assert VOTE_KEYS <= set(view["vote"]) and view["vote"]["method"] == "appel_nominal"
    assert all(SLOT_KEYS <= set(slot) for slot in view["vote"]["electorate"])


def test_the_item_statuses_and_methods_the_screens_label_are_the_views():
    """Every value the view carries has its French label in deliberation/labels.py, which
    the screens import (sitting.js, through /labels.js)."""
    from deliberation.commands import CHOICES, METHODS
    from deliberation.labels import CHOICE_LABELS, ITEM_STATUS_LABELS, METHOD_LABELS, SITTING_STATUS_LABELS
    from deliberation.view import ITEM_STATUSES

    assert 'from "/labels.js"' in (STATIC / "sitting.js").read_text(encoding="utf-8")
    assert set(ITEM_STATUSES) <= set(ITEM_STATUS_LABELS), "an item status without its French label"
    assert set(METHODS) <= set(METHOD_LABELS) and set(CHOICES) <= set(CHOICE_LABELS)
    assert set(SITTING_STATUS_LABELS) == {"convened", "opened", "suspended", "closed"}


def test_commands_the_screens_send_exist_in_the_core():
    from deliberation.commands import COMMAND_TYPES

    sent = set()
    for script in ("president.js", "agent.js", "elu.js", "moderation.js"):
        sent |= set(re.findall(r'type: "([A-Z][A-Za-z]+)"', (STATIC / script).read_text(encoding="utf-8")))
    assert sent, "no command found in the scripts"
    unknown = sent - set(COMMAND_TYPES)
    assert not unknown, f"the screens send commands the core does not know: {sorted(unknown)}"
