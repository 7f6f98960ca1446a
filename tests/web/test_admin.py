"""The admin (DSI) pages: roles, CSRF, validation, R1 salles, R12 agenda, R6 convocation, R23 semesters."""

from __future__ import annotations

import dataclasses
import html
import json
import re
from types import SimpleNamespace

import pytest

from deliberation.actors import ADMIN as CORE_ADMIN
from deliberation.actors import Actor
from deliberation.actors import Role as CoreRole
from deliberation.commands import CheckIn, RecordQuorumFailure
from deliberation.council import Salle
from deliberation.journal import Journal
from deliberation.seance import Seance
from signaling.council_store import CouncilStore
from signaling.roles import Role
from signaling.sitting import council_key, journal_path
from tests.web.admin_session import csrf, login
from web.app import ACCOUNTS, ROOMS, SIGNER, SITTINGS, create_app
from web.commands import demo
from web.commands.demo import seed_demo
from web.config import WebConfig
from web.sittings import current_room


@pytest.fixture
def config(tmp_path):
    return WebConfig(tls=False, data_dir=tmp_path, sittings=(demo.demo_sitting(),), ice_addresses=("127.0.0.1",))


@pytest.fixture
async def client(aiohttp_client, config):
    seed_demo(config.data_dir)  # the demo council, entered and convened as in /admin
    return await aiohttp_client(create_app(config))


@pytest.fixture
async def admin(client):
    await login(client, Role.ADMIN, "dsi")
    return client


def council(config):
    with CouncilStore.in_data_dir(config.data_dir) as store:
        return store.current()


def sittings(config):
    with CouncilStore.in_data_dir(config.data_dir) as store:
        return {s.id: s for s in store.sittings(store.current().id)}


def agenda(config, sitting_id):
    with CouncilStore.in_data_dir(config.data_dir) as store:
        return [i.title for i in store.agenda(store.current().id, sitting_id)]


async def new_sitting(client, ident="cc-2027-03", day="2027-03-18", mode="visio", **extra):
    data = {
        "csrf": await csrf(client),
        "id": ident,
        "title": f"Conseil du {day}",
        "date": day,
        "time": "18:30",
        "mode": mode,
        **extra,
    }
    return await client.post("/admin/seances", data=data, allow_redirects=False)


# --------------------------------------------------------------------------- access


async def test_admin_refuses_public_councillor_kiosk_and_auditor_in_french(client):
    paths = ("/admin", "/admin/seances/demo", "/admin/seances/demo/convocation", "/admin/seances/demo/annexes/a1")
    for path in paths:  # the public: signed out, the login page (issue 18)
        r = await client.get(path, allow_redirects=False)
        assert r.status == 303 and r.headers["Location"] == "/login"
    r = await client.post("/admin/membres", data={"id": "x"})
    assert r.status == 403 and "Accès refusé" in await r.text() and 'lang="fr"' in await r.text()
    r = await client.get("/admin/api/point?seance=demo&titre=x")
    assert r.status == 403 and (await r.json())["message"] == "Réservé à l'administrateur."
    kiosk = client.app[SIGNER].issue(Role.KIOSK, salle="vaux", sitting="demo")
    client.session.cookie_jar.update_cookies({"seance_session": kiosk})  # a kiosk token as a cookie: no session
    r = await client.get("/admin", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/login"
    for role, name in ((Role.COUNCILLOR, "elu"), (Role.AUDITOR, "auditeur"), (Role.PRESIDENT, "presidente")):
        await login(client, role, name, member_id="m01" if role is Role.PRESIDENT else None)
        for path in paths:
            assert (await client.get(path)).status == 403, (role, path)
        r = await client.post("/admin/membres", data={"id": "x"})
        assert r.status == 403


async def test_the_admin_pages_of_an_unknown_sitting_say_so_in_french(admin):
    for path in (
        "/admin/seances/inconnue",
        "/admin/seances/inconnue/convocation",
        "/admin/seances/inconnue/annexes/a1",
    ):
        r = await admin.get(path)
        assert r.status == 404 and "Séance inconnue" in await r.text(), path


async def test_admin_dashboard_shows_the_seeded_demo_council(admin):
    r = await admin.get("/admin")
    body = await r.text()
    assert r.status == 200 and "Communauté de communes des Trois Rivières" in body and "20004567800012" in body
    assert "Martine Faure" in body and "suppléant(e) de Bernard Roux" in body  # titulaires and suppléants
    assert "DEL-2025-014 du 2025-03-18" in body and "Laurence Petit" in body  # R1 designation, agents
    assert "/salle/vaux?token=" in body  # kiosk links
    assert "<script>" not in body and "/static/admin.js" in body
    assert r.headers["Cache-Control"] == "no-store"


# --------------------------------------------------------------------------- CSRF and validation


async def test_post_without_or_with_a_wrong_csrf_token_is_refused_and_changes_nothing(admin, config):
    before = council(config)
    form = {"id": "m99", "first_name": "Paul", "last_name": "Test", "commune_id": "vaux", "seat": "titulaire"}
    r = await admin.post("/admin/membres", data=form)
    assert r.status == 403 and "CSRF" in await r.text()
    r = await admin.post("/admin/membres", data={**form, "csrf": "0" * 64})
    assert r.status == 403
    r = await admin.post(
        "/admin/membres", data={**form, "csrf": await csrf(admin)}, headers={"Origin": "https://evil.example"}
    )
    assert r.status == 403
    assert council(config) == before
    r = await admin.post("/admin/membres", data={**form, "csrf": await csrf(admin)}, allow_redirects=False)
    assert r.status == 303 and council(config).member("m99").name == "Paul Test"


async def test_the_csrf_token_belongs_to_the_session(admin, client):
    token = await csrf(admin)
    await login(client, Role.ADMIN, "dsi2")  # a new session: the old token no longer passes
    r = await client.post("/admin/conseil", data={"csrf": token, "name": "X", "siret": "20004567800012"})
    assert r.status == 403


async def test_invalid_input_names_the_field_in_french_and_changes_nothing(admin, config):
    before = council(config)
    r = await admin.post("/admin/conseil", data={"csrf": await csrf(admin), "name": "CC", "siret": "1234"})
    body = await r.text()
    assert r.status == 400 and "Champ « SIRET » : 14 chiffres attendus." in body and "rien n'a été modifié" in body
    r = await admin.post(
        "/admin/membres",
        data={
            "csrf": await csrf(admin),
            "id": "s99",
            "first_name": "A",
            "last_name": "B",
            "commune_id": "vaux",
            "seat": "suppleant",
            "replaces": "m06",
        },
    )
    assert r.status == 400 and "L.5211-6" in await r.text()  # Vaux has several councillors: no suppléant
    r = await admin.post(
        "/admin/membres",
        data={
            "csrf": await csrf(admin),
            "id": "M 1",
            "first_name": "A",
            "last_name": "B",
            "commune_id": "vaux",
            "seat": "titulaire",
        },
    )
    assert r.status == 400 and "Champ « identifiant du membre »" in await r.text()
    assert council(config) == before


# --------------------------------------------------------------------------- R1


async def test_R1_salle_without_designation_is_refused(admin, config):
    before = council(config)
    base = {
        "id": "lanterne",
        "name": "Lanterne — salle polyvalente",
        "commune_id": "lanterne",
        "address": "place du Marché, Lanterne",
    }
    r = await admin.post("/admin/salles", data={**base, "csrf": await csrf(admin)})
    body = await r.text()
    assert r.status == 400 and "R1 — la délibération qui désigne la salle (référence et date) est obligatoire" in body
    r = await admin.post(
        "/admin/salles", data={**base, "csrf": await csrf(admin), "designation_reference": "DEL-2026-3"}
    )
    assert r.status == 400 and "R1" in await r.text()  # a reference without a date
    assert council(config) == before
    r = await admin.post(
        "/admin/salles",
        data={
            **base,
            "csrf": await csrf(admin),
            "designation_reference": "DEL-2026-031",
            "designation_date": "2026-02-10",
        },
        allow_redirects=False,
    )
    assert r.status == 303 and council(config).salle("lanterne").designated


async def test_R1_undesignated_salle_gets_no_agent_and_is_flagged(admin, config):
    import dataclasses

    from signaling.council_store import CouncilStore

    c = council(config)
    with CouncilStore(config.data_dir / "council.sqlite3") as store:  # e.g. a salle imported without its deliberation
        store.save(
            dataclasses.replace(
                c, salles=c.salles + (Salle("annexe", "Annexe de Montclar", "montclar", "1 rue Haute", None),)
            )
        )
    body = await (await admin.get("/admin")).text()
    assert "non désignée — inutilisable (R1)" in body
    r = await admin.post(
        "/admin/agents", data={"csrf": await csrf(admin), "id": "a-annexe", "name": "Jo Martin", "salle_id": "annexe"}
    )
    assert r.status == 400 and "R1 — la salle « Annexe de Montclar » n&#39;est pas désignée" in await r.text()
    assert council(config).agent("a-annexe") is None
    r = await admin.get("/admin/seances/demo/convocation")
    body = await r.text()
    assert "Annexe de Montclar" not in body.split('id="salles"')[1]  # not a place of the sitting


# --------------------------------------------------------------------------- R12 agenda


async def test_R12_banned_item_refused_as_typed_by_its_nature_the_title_only_warns(admin):
    assert (await new_sitting(admin)).status == 303
    r = await admin.get(
        "/admin/api/point",
        params={"seance": "cc-2027-03", "titre": "Budget 2027", "nature": "budget_primitif", "matiere": "7.1"},
    )
    body = await r.json()
    assert body["ok"] is False and body["rule"] == "R12" and "budget primitif" in body["message"]
    assert "visioconférence" in body["message"]
    # « budget primitif » in the title of a décision modificative: allowed, no warning
    r = await admin.get(
        "/admin/api/point",
        params={
            "seance": "cc-2027-03",
            "titre": "Décision modificative n° 2 au budget primitif 2026",
            "nature": "decision_modificative",
            "matiere": "7.1",
        },
    )
    assert (await r.json()) == {"ok": True, "rule": None, "field": None, "message": "", "warnings": []}
    # the same words under « délibération »: allowed, with a warning for the admin
    r = await admin.get(
        "/admin/api/point",
        params={"seance": "cc-2027-03", "titre": "Vote du budget primitif 2027", "nature": "deliberation"},
    )
    body = await r.json()
    assert body["ok"] is True and "budget primitif" in body["warnings"][0]
    r = await admin.get(
        "/admin/api/point", params={"seance": "cc-2027-03", "titre": "Élection", "nature": "election_president"}
    )
    assert (await r.json())["rule"] == "R12"
    r = await admin.get(
        "/admin/api/point",
        params={"seance": "cc-2027-03", "titre": "Rapport d'activité 2026", "nature": "deliberation", "matiere": "5.7"},
    )
    assert (await r.json())["ok"] is True


async def test_R12_a_nomination_states_its_body_an_outside_body_is_refused(admin, config):
    await new_sitting(admin)
    q = {"seance": "cc-2027-03", "titre": "Désignation au conseil d'administration de l'office de tourisme"}
    r = await admin.get("/admin/api/point", params={**q, "nature": "nomination"})
    body = await r.json()
    assert body["rule"] == "R12" and body["field"] == "organe"
    r = await admin.get(
        "/admin/api/point", params={**q, "nature": "nomination", "organe": "organisme_exterieur", "nom_organe": "OT"}
    )
    assert (await r.json())["rule"] == "R12"
    page = "/admin/seances/cc-2027-03"
    form = {
        "csrf": await csrf(admin, page),
        "title": "Désignation des membres de la commission des finances",
        "kind": "nomination",
        "matiere_code": "5.2",
        "body": "commission",
        "body_name": "Commission des finances",
        "seats": "3",
    }
    r = await admin.post(page + "/points", data=form, allow_redirects=False)
    assert r.status == 303
    with CouncilStore.in_data_dir(config.data_dir) as store:
        (item,) = store.agenda(store.current().id, "cc-2027-03")
    assert (item.kind, item.body, item.body_name, item.seats) == (
        "nomination",
        "commission",
        "Commission des finances",
        3,
    )
    page_body = await (await admin.get(page)).text()
    assert "Commission des finances (commission du conseil (L.2121-22), 3 sièges)" in page_body


async def test_R12_banned_item_refused_on_submit_with_nothing_saved(admin, config):
    await new_sitting(admin)
    page = "/admin/seances/cc-2027-03"
    r = await admin.post(
        page + "/points",
        data={
            "csrf": await csrf(admin, page),
            "title": "Installation du conseil",
            "kind": "election_president",
            "matiere_code": "5.2",
        },
    )
    body = await r.text()
    assert r.status == 400 and "R12 — l&#39;élection du président ne peut pas être inscrite" in body
    assert agenda(config, "cc-2027-03") == []
    r = await admin.post(
        page + "/points",
        data={
            "csrf": await csrf(admin, page),
            "title": "Tarifs 2027",
            "kind": "budget_primitif",
            "matiere_code": "7.1",
        },
    )
    assert r.status == 400 and "R12" in await r.text() and agenda(config, "cc-2027-03") == []
    r = await admin.post(
        page + "/points",
        data={"csrf": await csrf(admin, page), "title": "", "kind": "deliberation", "matiere_code": "5.2"},
    )
    assert r.status == 400 and "Champ « intitulé »" in await r.text()
    r = await admin.post(
        page + "/points",
        data={
            "csrf": await csrf(admin, page),
            "title": "Programme de voirie 2027",
            "kind": "deliberation",
            "matiere_code": "8.3",
        },
        allow_redirects=False,
    )
    assert r.status == 303 and agenda(config, "cc-2027-03") == ["Programme de voirie 2027"]
    body = await (await admin.get(page)).text()
    assert "Programme de voirie 2027" in body and 'id="point-form"' in body


async def test_a_single_place_sitting_may_hold_a_budget(admin, config):
    await new_sitting(admin, "cc-2027-04", "2027-04-08", mode="presentiel")
    page = "/admin/seances/cc-2027-04"
    r = await admin.post(
        page + "/points",
        data={
            "csrf": await csrf(admin, page),
            "title": "Budget primitif 2027",
            "kind": "budget_primitif",
            "matiere_code": "7.1",
        },
        allow_redirects=False,
    )
    assert r.status == 303 and agenda(config, "cc-2027-04") == ["Budget primitif 2027"]


async def test_the_demo_agenda_no_longer_changes_once_journaled(admin, config):
    page = "/admin/seances/demo"
    body = await (await admin.get(page)).text()
    assert "Attribution du marché de collecte" in body and "ne change plus ici" in body
    r = await admin.post(
        page + "/points",
        data={"csrf": await csrf(admin), "title": "Point tardif", "kind": "deliberation", "matiere_code": "5.2"},
    )
    assert r.status == 400 and "R6" in await r.text()


# --------------------------------------------------------------------------- sittings, R6, R23


async def test_convocation_mentions_visio_lists_every_salle_and_the_agenda(admin):
    r = await admin.get("/admin/seances/demo/convocation")
    body = await r.text()
    assert r.status == 200 and "Cette séance se tiendra par visioconférence" in body and "L.5211-11-1" in body
    for name, address in (
        ("Belcourt — salle du conseil (siège)", "2 place de la Mairie, Belcourt"),
        ("Vaux-sur-Ance — salle des fêtes", "rue des Écoles, Vaux-sur-Ance"),
        ("Saint-Ferréol — mairie, salle des mariages", "1 rue de l&#39;Église, Saint-Ferréol"),
    ):
        assert name in body and address in body
    assert "26 novembre 2026 à 18 h 30" in body and "Attribution du marché de collecte" in body
    assert "R6 — convocation tardive" not in body  # sent 18 Nov. for 26 Nov.: 7 clear days
    assert 'data-action="print"' in body and "<script>" not in body


async def test_no_date_of_sending_is_typed_R6_waits_for_the_journaled_sending(admin, config):
    """R6: the sitting form asks no date of sending any more (it used to be typed by hand);
    until the server journals a sending, the sitting says by when the convocation must leave
    (five clear days: 4 March for 10 March). The journaled count: test_convocation_mail."""
    assert 'name="convened_on"' not in await (await admin.get("/admin")).text()
    r = await new_sitting(admin, "cc-late", "2027-03-10", convened_on="2027-03-01")  # an old form's field: ignored
    assert r.status == 303 and sittings(config)["cc-late"].convened_on is None
    warning = "R6 — convocation pas encore envoyée : elle doit partir au plus tard le 4 mars 2027"
    body = html.unescape(await (await admin.get("/admin/seances/cc-late/convocation")).text())
    assert warning in body and "convocation tardive" not in body
    body = html.unescape(await (await admin.get("/admin/seances/cc-late")).text())
    assert warning in body and "Convocation pas encore envoyée" in body
    row = re.search(r'<tr data-seance="cc-late">.*?</tr>', await (await admin.get("/admin")).text(), re.S).group(0)
    assert "pas encore envoyée" in row


async def test_sitting_form_refusals(admin, config):
    r = await new_sitting(admin, "demo")
    assert r.status == 400 and "existe déjà" in await r.text()
    r = await new_sitting(admin, "cc-y", "2027-13-40")
    assert r.status == 400 and "Champ « date de la séance »" in await r.text()
    r = await new_sitting(admin, "cc-z", "2027-03-10", reconvened_from="demo")  # the demo had quorum
    assert r.status == 400 and "R8" in await r.text()
    assert set(sittings(config)) == {"demo"}


async def test_semester_standing_and_R23_warning(admin, config):
    body = await (await admin.get("/admin")).text()
    row = re.search(r"<td>2e semestre 2026.*?</tr>", body, re.S).group(0)
    assert "non — à convoquer" in row  # the demo sitting is by visio
    await new_sitting(admin, "cc-2027-02", "2027-02-11")  # visio, 1st semester 2027: none single-place
    body = await (await admin.get("/admin/seances/cc-2027-02?cree=1")).text()
    assert "R23 — aucune séance en un lieu unique" in body and "1er semestre 2027" in body
    await new_sitting(admin, "cc-2027-06", "2027-06-17", mode="presentiel")
    body = await (await admin.get("/admin")).text()
    assert "oui" in re.search(r"<td>1er semestre 2027.*?</tr>", body, re.S).group(0)
    assert "R23" not in await (await admin.get("/admin/seances/cc-2027-02")).text()


# --------------------------------------------------------------------------- accounts


async def test_accounts_created_and_reset_with_a_password_shown_once(admin, client):
    r = await admin.post(
        "/admin/comptes",
        data={"csrf": await csrf(admin), "login": "s.garnier", "role": "councillor", "member_id": "m03"},
    )
    body = await r.text()
    assert r.status == 200 and "Sophie Garnier" in body
    password = re.search(r'id="password">([^<]+)<', body).group(1)
    account = client.app[ACCOUNTS].authenticate("s.garnier", password)
    assert account.role is Role.COUNCILLOR and account.member_id == "m03"
    r = await admin.post(
        "/admin/comptes",
        data={"csrf": await csrf(admin), "login": "agent-vaux2", "role": "agent", "agent_id": "a-vaux"},
    )
    assert client.app[ACCOUNTS].get("agent-vaux2").salle_id == "vaux"
    r = await admin.post("/admin/comptes", data={"csrf": await csrf(admin), "login": "s.garnier", "reset": "1"})
    new = re.search(r'id="password">([^<]+)<', await r.text()).group(1)
    assert new != password and client.app[ACCOUNTS].authenticate("s.garnier", new) is not None
    assert client.app[ACCOUNTS].authenticate("s.garnier", password) is None


async def test_account_refusals(admin, client):
    cases = [
        ({"login": "x1", "role": "admin"}, "Champ « rôle »"),
        ({"login": "x2", "role": "councillor"}, "Champ « membre »"),
        ({"login": "x3", "role": "agent"}, "Champ « agent »"),
        ({"login": "Bad Login!", "role": "auditor"}, "Champ « identifiant »"),
        ({"login": "dsi", "role": "auditor"}, "ne se modifie pas ici"),  # an admin account is not changed here
        ({"login": "dsi", "reset": "1"}, "ne se modifie pas ici"),
        ({"login": "nobody", "reset": "1"}, "aucun compte"),
    ]
    for form, message in cases:
        r = await admin.post("/admin/comptes", data={"csrf": await csrf(admin), **form})
        assert r.status == 400 and message in await r.text(), form
    assert {a.login for a in client.app[ACCOUNTS].all()} == {"dsi"}


# --------------------------------------------------------------------------- members change


async def test_a_member_is_corrected_and_nothing_else_moves(admin, config):
    before = council(config)
    r = await admin.post(
        "/admin/membres/modifier",
        data={
            "csrf": await csrf(admin),
            "id": "m07",
            "first_name": "Nathalie",
            "last_name": "Rousseau-Vidal",
            "function": "4e vice-présidente",
        },
        allow_redirects=False,
    )
    assert r.status == 303
    after = council(config)
    m07 = after.member("m07")
    assert (m07.last_name, m07.function, m07.commune_id, m07.seat) == (
        "Rousseau-Vidal",
        "4e vice-présidente",
        "vaux",
        "titulaire",
    )
    assert [m for m in after.members if m.id != "m07"] == [m for m in before.members if m.id != "m07"]
    assert "Nathalie Rousseau-Vidal" in await (await admin.get("/admin")).text()
    # refused, named, nothing changed
    for data, message in (
        ({"id": "m99", "first_name": "A", "last_name": "B"}, "membre inconnu du conseil"),
        ({"id": "m07", "first_name": "", "last_name": "B"}, "Champ « prénom »"),
    ):
        r = await admin.post("/admin/membres/modifier", data={"csrf": await csrf(admin), **data})
        assert r.status == 400 and message in await r.text()
    assert council(config) == after


async def test_the_civility_is_set_when_adding_and_editing_and_the_screens_agree_with_it(admin, config):
    """Issue 15 point 6: the admin sets a member's civilité (Madame, Monsieur), which the
    screens' words follow (deliberation.french); left empty on edit it is unchanged; any
    other value is refused, named, and changes nothing."""
    from deliberation.french import agreed

    r = await admin.post(
        "/admin/membres",
        data={
            "csrf": await csrf(admin),
            "id": "m30",
            "civility": "Mme",
            "first_name": "Hélène",
            "last_name": "Arnaud",
            "commune_id": "vaux",
            "seat": "titulaire",
        },
        allow_redirects=False,
    )
    assert r.status == 303
    m30 = council(config).member("m30")
    assert m30.civility == "Mme" and m30.feminine is True
    assert agreed("présent", m30.feminine) == "présente"
    base = {"id": "m30", "first_name": "Hélène", "last_name": "Arnaud"}
    r = await admin.post(
        "/admin/membres/modifier", data={"csrf": await csrf(admin), **base, "civility": "M."}, allow_redirects=False
    )
    assert r.status == 303 and council(config).member("m30").civility == "M."
    r = await admin.post("/admin/membres/modifier", data={"csrf": await csrf(admin), **base}, allow_redirects=False)
    assert r.status == 303 and council(config).member("m30").civility == "M."  # empty: unchanged
    assert "Monsieur" in await (await admin.get("/admin")).text()
    before = council(config)
    for path, data in (
        ("/admin/membres/modifier", {**base, "civility": "Mlle"}),
        ("/admin/membres", {**base, "id": "m31", "civility": "Dr", "commune_id": "vaux", "seat": "titulaire"}),
    ):
        r = await admin.post(path, data={"csrf": await csrf(admin), **data})
        assert r.status == 400 and "Champ « civilité » : Madame ou Monsieur." in await r.text(), path
    assert council(config) == before


async def test_end_of_mandate_takes_the_member_out_of_office_and_its_sessions(admin, client, config):
    from deliberation.quorum import count

    accounts = client.app[ACCOUNTS]
    accounts.set_account("c.dubois", "pw-secret-9", Role.COUNCILLOR, member_id="m09")
    signer = client.app[SIGNER]
    token = signer.issue(
        Role.COUNCILLOR,
        member="m09",
        login="c.dubois",
        sid="s-1",
        ttl_s=600,
        gen=accounts.session_generation("c.dubois") or 0,
    )
    assert not accounts.is_revoked(signer.verify(token, check_revocation=False))
    before = council(config)
    refusals = (
        ({"id": "m09"}, "cochez la case"),  # not confirmed
        ({"id": "m01", "confirm": "on"}, "élit d&#39;abord un nouveau président"),
        ({"id": "m17", "confirm": "on"}, "Martine Faure"),  # the suppléant first
        ({"id": "zz", "confirm": "on"}, "membre inconnu du conseil"),
    )
    for data, message in refusals:
        r = await admin.post("/admin/membres/fin", data={"csrf": await csrf(admin), **data})
        assert r.status == 400 and message in await r.text(), message
        assert council(config) == before
    r = await admin.post("/admin/membres/fin", data={"csrf": await csrf(admin), "id": "m09", "confirm": "on"})
    body = await r.text()
    assert r.status == 200 and "Fin du mandat de Claire Dubois enregistrée" in body and "c.dubois" in body
    after = council(config)
    assert after.member("m09") is None and len(after.in_office) == len(before.in_office) - 1
    assert count(after, {}).in_office == 16 and count(after, {}).required == 9
    assert accounts.is_revoked(signer.verify(token, check_revocation=False))
    # the suppléant, then the titulaire
    for ident in ("s17", "m17"):
        r = await admin.post("/admin/membres/fin", data={"csrf": await csrf(admin), "id": ident, "confirm": "on"})
        assert r.status == 200
    assert {m.id for m in council(config).members} == {m.id for m in before.members} - {"m09", "s17", "m17"}


# --------------------------------------------------------------------------- issue 13: composition, reconvocation


async def test_R9_the_core_refuses_a_suppleant_where_a_commune_has_several_councillors(admin, config):
    """The order of the forms does not matter any more: a suppléant before a second titulaire is refused too."""

    async def add(ident, commune, seat="titulaire", replaces="", born=""):
        data = {"csrf": await csrf(admin), "id": ident, "first_name": "Paul", "last_name": ident.upper()}
        data |= {"commune_id": commune, "seat": seat, "replaces": replaces, "birth_date": born}
        return await admin.post("/admin/membres", data=data, allow_redirects=False)

    before = council(config)
    r = await add("m18", "aubiers")  # Les Aubiers has one councillor and his suppléante
    body = await r.text()
    assert r.status == 400 and "R9 — la commune de Les Aubiers a 2 conseillers communautaires" in body
    r = await add("s01", "belcourt", "suppleant", "m01")
    assert r.status == 400 and "seule une commune qui n&#39;en a qu&#39;un" in await r.text()
    assert council(config) == before
    r = await add("m18", "montclar", born="1971-03-09")
    assert r.status == 303 and council(config).member("m18").birth_date == "1971-03-09"
    r = await add("m19", "montclar", born="09/03/1971")
    assert r.status == 400 and "Champ « date de naissance »" in await r.text()


async def test_R8_a_new_convocation_is_linked_to_the_sitting_whose_journal_records_the_lack_of_quorum(admin, config):
    assert (await new_sitting(admin, "cc-a", "2027-03-18")).status == 303
    page = "/admin/seances/cc-a"
    for title in ("Programme de voirie 2027", "Tarifs de la piscine"):
        data = {"csrf": await csrf(admin, page), "title": title, "kind": "deliberation", "matiere_code": "8.3"}
        assert (await admin.post(page + "/points", data=data, allow_redirects=False)).status == 303
    with CouncilStore.in_data_dir(config.data_dir) as store:
        c = store.current()
        sitting = next(x for x in store.sittings(c.id) if x.id == "cc-a")
        items = store.agenda(c.id, "cc-a")
    # the sitting of 18 March, as served: two councillors come, the president records the lack of quorum
    path = journal_path(config.data_dir, "cc-a")
    path.parent.mkdir(parents=True)
    seance = Seance(c, sitting)
    with Journal.create(path, seance, council_key(config.data_dir)) as journal:
        for item in items:
            journal.handle(seance, item, CORE_ADMIN)
        for m in ("m01", "m02"):
            journal.handle(seance, CheckIn("2027-03-18T18:30:00+01:00", m, "belcourt"), _agent("belcourt"))
        president = Actor(CoreRole.PRESIDENT, member_id="m01", salle_id="belcourt")
        assert journal.handle(seance, RecordQuorumFailure("2027-03-18T18:45:00+01:00"), president)
    body = await (await admin.get("/admin")).text()
    assert '<option value="cc-a">cc-a — quorum non atteint</option>' in body
    r = await new_sitting(admin, "cc-b", "2027-03-21", reconvened_from="cc-a")  # 2 clear days
    assert r.status == 400 and "trois jours francs" in await r.text()
    r = await new_sitting(admin, "cc-b", "2027-03-22", reconvened_from="cc-a")
    assert r.status == 303
    rc = sittings(config)["cc-b"].reconvened_from
    assert rc.sitting_id == "cc-a" and [i.title for i in rc.items] == [
        "Programme de voirie 2027",
        "Tarifs de la piscine",
    ]


def _agent(salle):
    return Actor(CoreRole.AGENT, salle_id=salle, agent_id=f"a-{salle}")


# --------------------------------------------------------------------------- convened sittings (issue 18.1)


async def test_a_sitting_convened_in_admin_is_served_at_once_its_journal_from_the_stored_council(admin, config):
    """One home for sittings: no [[sittings]] entry, no restart. The convocation's route
    hosts the sitting; its journal's first line carries the council as stored, then the
    agenda as the admin built it; its kiosk links say which sitting they are for."""
    assert (await new_sitting(admin)).status == 303
    page = "/admin/seances/cc-2027-03"
    form = {"csrf": await csrf(admin, page), "title": "Programme de voirie 2027", "kind": "deliberation"}
    assert (await admin.post(page + "/points", data=form, allow_redirects=False)).status == 303
    assert "cc-2027-03" not in admin.app[ROOMS]  # created, not convened: not hosted
    assert "à convoquer" in re.search(
        r'<tr data-seance="cc-2027-03">.*?</tr>', await (await admin.get("/admin")).text(), re.S
    ).group(0)
    refused = await admin.post(page + "/convoquer", data={"csrf": await csrf(admin, page)})
    assert refused.status == 400 and "cochez la case" in await refused.text()
    assert "cc-2027-03" not in admin.app[ROOMS]
    r = await admin.post(page + "/convoquer", data={"csrf": await csrf(admin, page), "confirm": "on"})
    assert r.status == 200 and "le serveur la tient dès maintenant" in await r.text()
    service = admin.app[SITTINGS]["cc-2027-03"]
    assert service.seance is not None and service.error is None
    first = json.loads(journal_path(config.data_dir, "cc-2027-03").read_text().splitlines()[0])
    assert first["council"]["name"] == "Communauté de communes des Trois Rivières"
    assert "Programme de voirie 2027" in journal_path(config.data_dir, "cc-2027-03").read_text()
    assert set(admin.app[ROOMS]["cc-2027-03"].salles) == {"belcourt", "vaux", "saint-ferreol"}
    body = await (await admin.get("/admin")).text()
    assert 'data-sitting="cc-2027-03"' in body and 'data-sitting="demo"' in body  # one link per sitting and salle
    row = re.search(r'<tr data-seance="cc-2027-03">.*?</tr>', body, re.S).group(0)
    assert "convoquée, servie" in row
    item = {"csrf": await csrf(admin), "title": "Un point de plus", "kind": "deliberation"}
    late = await admin.post(page + "/points", data=item)
    assert late.status == 400 and "R6" in await late.text()
    assert (await admin.get("/public/cc-2027-03")).status == 200


async def test_a_convocation_without_agenda_or_president_is_refused_and_changes_nothing(admin, config):
    assert (await new_sitting(admin)).status == 303
    page = "/admin/seances/cc-2027-03"
    r = await admin.post(page + "/convoquer", data={"csrf": await csrf(admin, page), "confirm": "on"})
    assert r.status == 400 and "L.2121-10" in await r.text()
    with CouncilStore.in_data_dir(config.data_dir) as store:
        store.save(dataclasses.replace(store.current(), president_id=""))
        assert store.convened_at(store.current().id, "cc-2027-03") is None
    form = {"csrf": await csrf(admin, page), "title": "Programme de voirie 2027", "kind": "deliberation"}
    assert (await admin.post(page + "/points", data=form, allow_redirects=False)).status == 303
    r = await admin.post(page + "/convoquer", data={"csrf": await csrf(admin, page), "confirm": "on"})
    assert r.status == 400 and "Désignez d&#39;abord le président" in await r.text()
    assert "cc-2027-03" not in admin.app[ROOMS]


async def test_the_admin_designates_the_president_and_the_accounts_follow(admin, client, config):
    """Issue 18.1: the president is designated in /admin (and changed between sittings);
    the accounts follow: the new president's is the presidency's, the former one an élu's."""
    accounts = client.app[ACCOUNTS]
    r = await admin.post("/admin/comptes/elus", data={"csrf": await csrf(admin)})
    body = await r.text()
    assert r.status == 200 and "compte(s) d&#39;élu créé(s)" in body
    assert {a.member_id for a in accounts.all() if a.member_id} >= {m.id for m in council(config).members}
    assert accounts.get("h.marchand").role is Role.PRESIDENT and accounts.get("j.perrin").role is Role.COUNCILLOR
    assert accounts.get("h.marchand").salle_id == "belcourt"  # the siège
    password = re.search(r'data-login="g.lefevre">.*?class="password">([^<]+)<', body, re.S).group(1)
    assert accounts.authenticate("g.lefevre", password).member_id == "m12"  # Gérard Lefèvre, accents folded
    again = await admin.post("/admin/comptes/elus", data={"csrf": await csrf(admin)})
    assert "rien à créer" in await again.text()

    r = await admin.post("/admin/president", data={"csrf": await csrf(admin), "member_id": "s17"})
    assert r.status == 400 and "un suppléant ne préside pas" in await r.text()
    assert council(config).president_id == "m01"
    r = await admin.post("/admin/president", data={"csrf": await csrf(admin), "member_id": "m02"})
    assert r.status == 200 and "Président désigné : Jean-Luc Perrin" in await r.text()
    assert council(config).president_id == "m02"
    assert accounts.get("j.perrin").role is Role.PRESIDENT and accounts.get("h.marchand").role is Role.COUNCILLOR


async def test_agent_accounts_keep_their_agent_id_through_a_reset_and_logins_fold_accents(admin, client):
    """Issue 12 point 5: an agent's account made here carries its agent id (R4 scope), and
    a new password keeps it. A login typed with accents and capitals is folded."""
    accounts = client.app[ACCOUNTS]
    form = {"csrf": await csrf(admin), "login": "Agent.Vaux-Sécu", "role": "agent", "agent_id": "a-vaux"}
    assert (await admin.post("/admin/comptes", data=form)).status == 200
    agent = accounts.get("agent.vaux-secu")
    assert (agent.agent_id, agent.salle_id, agent.member_id) == ("a-vaux", "vaux", None)
    r = await admin.post("/admin/comptes", data={"csrf": await csrf(admin), "login": "agent.vaux-secu", "reset": "1"})
    assert r.status == 200 and accounts.get("agent.vaux-secu").agent_id == "a-vaux"
    form = {"csrf": await csrf(admin), "login": "p.pres", "role": "president", "member_id": "m03"}
    r = await admin.post("/admin/comptes", data=form)
    assert r.status == 400 and "le président du conseil" in await r.text()


async def test_member_ids_may_carry_dots(admin, config):
    form = {
        "csrf": await csrf(admin),
        "id": "j.perrin-2",
        "first_name": "Julie",
        "last_name": "Perrin",
        "commune_id": "belcourt",
        "seat": "titulaire",
    }
    r = await admin.post("/admin/membres", data=form, allow_redirects=False)
    assert r.status == 303 and council(config).member("j.perrin-2") is not None


def test_screens_without_a_sitting_named_go_to_the_next_sitting_not_a_closed_one():
    """A council's second sitting: the first one's room is still hosted (its journal is
    read on /audit), closed; /president, /agent, /elu and /moderation open the new one."""

    def service(status):
        return SimpleNamespace(seance=SimpleNamespace(state=SimpleNamespace(status=status)))

    rooms = {"cc-1": "room-1", "cc-2": "room-2"}
    assert current_room(rooms, {"cc-1": service("closed"), "cc-2": service("convened")}, None) == "room-2"
    assert current_room(rooms, {"cc-1": service("opened"), "cc-2": service("convened")}, None) == "room-1"
    assert current_room(rooms, {"cc-1": service("closed"), "cc-2": service("convened")}, "cc-1") == "room-1"
    assert current_room(rooms, {}, "nope") == "room-1" and current_room({}, {}, None) is None
