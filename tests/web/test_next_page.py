"""Login returns to the page asked (issue 15, point 7), never to another site."""

from __future__ import annotations

import pytest

from signaling.roles import Role
from web.app import ACCOUNTS, create_app
from web.commands.demo import demo_sitting, seed_demo
from web.config import WebConfig
from web.next_page import safe_next


@pytest.mark.parametrize(
    "value, expected",
    [
        ("/president", "/president"),
        ("/audit/demo?x=1&y=2", "/audit/demo?x=1&y=2"),
        ("", "/"),
        (None, "/"),
        ("president", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("/\r\nSet-Cookie: x=1", "/"),
        ("/login?next=/admin", "/"),
        ("/" + "a" * 600, "/"),
    ],
)
def test_only_a_path_of_this_site_is_followed(value, expected):
    assert safe_next(value) == expected


@pytest.fixture
async def client(aiohttp_client, tmp_path):
    config = WebConfig(tls=False, data_dir=tmp_path, sittings=(demo_sitting(),))
    seed_demo(config.data_dir)  # the demo council, entered and convened as in /admin
    return await aiohttp_client(create_app(config))


async def test_a_logged_out_visit_to_the_presidents_page_logs_in_and_comes_back(client):
    r = await client.get("/president", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/login?next=/president"
    form = await (await client.get("/login?next=/president")).text()
    assert 'name="next" value="/president"' in form
    client.app[ACCOUNTS].set_account("helene", "pw-secret-1", Role.PRESIDENT, member_id="m01", salle_id="belcourt")
    bad = await client.post("/login", data={"login": "helene", "password": "wrong", "next": "/president"})
    assert bad.status == 401 and 'name="next" value="/president"' in await bad.text()  # kept for the next try
    r = await client.post(
        "/login", data={"login": "helene", "password": "pw-secret-1", "next": "/president"}, allow_redirects=False
    )
    assert r.status == 303 and r.headers["Location"] == "/president"
    assert (await client.get("/president")).status == 200


async def test_login_never_sends_to_another_site(client):
    client.app[ACCOUNTS].set_account("helene", "pw-secret-1", Role.PRESIDENT, member_id="m01", salle_id="belcourt")
    r = await client.post(
        "/login",
        data={"login": "helene", "password": "pw-secret-1", "next": "//evil.example/"},
        allow_redirects=False,
    )
    assert r.status == 303 and r.headers["Location"] == "/"


@pytest.mark.parametrize(
    "login, role, member, label",
    [
        ("helene", Role.PRESIDENT, "m01", "Votre rôle : présidente."),
        ("jean-luc", Role.COUNCILLOR, "m02", "Votre rôle : élu."),
        ("odile", Role.COUNCILLOR, "m05", "Votre rôle : élue."),
    ],
)
async def test_the_home_page_names_the_role_agreed_with_the_civility(client, login, role, member, label):
    """Issue 15 (point 6): « Hélène Marchand · présidente », not « président »."""
    client.app[ACCOUNTS].set_account(login, "pw-secret-1", role, member_id=member, salle_id="belcourt")
    r = await client.post("/login", data={"login": login, "password": "pw-secret-1"})
    assert r.status == 200 and label in await r.text()
