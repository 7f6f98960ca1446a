"""Issue 12 point 11, on the real server and its sockets: a kiosk link is the same at every
admin view (it was minted again at each), and the admin revokes one salle's link alone:
the old link no longer opens the kiosk page nor a socket, the kiosk open with it is
disconnected, the salle gets a new link, the other salles' links keep working. A link
from before links were revocable (no generation) keeps working until its salle's is
revoked. Refusals are French, in the one error shape on the socket."""

from __future__ import annotations

import asyncio
import html
import json
import re

import aiohttp
import pytest

from signaling.roles import Role
from tests.web.admin_session import csrf, login, web_config
from web.app import SIGNER, create_app
from web.commands.demo import seed_demo

PAGE = "/admin/seances/demo"


@pytest.fixture
def config(tmp_path):
    return web_config(tmp_path, None)


def links(body: str) -> dict[str, str]:
    """Salle id -> the token of its kiosk link, as the sitting's admin page shows them."""
    return dict(re.findall(r'href="[^"]*/salle/([a-z0-9-]+)\?token=([^"]+)"', body))


async def hello(client, token):
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "hello", "sitting": "demo", "id": "h", "token": token})
    while True:
        msg = json.loads((await asyncio.wait_for(ws.receive(), 5)).data)
        if msg["type"] in ("welcome", "error"):
            return ws, msg


async def test_a_kiosk_link_is_stable_and_revoked_alone(aiohttp_client, config):
    seed_demo(config.data_dir)
    client = await aiohttp_client(create_app(config))
    await login(client, Role.ADMIN, "dsi")
    first = links(await (await client.get(PAGE)).text())
    assert set(first) >= {"vaux", "belcourt"}
    await asyncio.sleep(1.1)  # a token minted now would carry another second (iat)
    assert links(await (await client.get(PAGE)).text()) == first  # the same link at every view

    kiosk, welcome = await hello(client, first["vaux"])
    assert welcome["type"] == "welcome" and welcome["salle"] == "vaux"
    other, welcome = await hello(client, first["belcourt"])
    assert welcome["type"] == "welcome"

    # without the form's token: refused, nothing revoked
    r = await client.post(f"{PAGE}/bornes/vaux/revoquer", data={}, allow_redirects=False)
    assert r.status == 403
    assert (await client.get(f"/salle/vaux?token={first['vaux']}")).status == 200

    r = await client.post(f"{PAGE}/bornes/vaux/revoquer", data={"csrf": await csrf(client, PAGE)})
    assert r.status == 200 and "Lien de la borne de Vaux-sur-Ance — salle des fêtes révoqué" in html.unescape(
        await r.text()
    )
    after = links(await r.text())
    assert after["vaux"] != first["vaux"] and after["belcourt"] == first["belcourt"]

    frame = await asyncio.wait_for(kiosk.receive(), 5)  # the kiosk open with the old link
    while frame.type == aiohttp.WSMsgType.TEXT:
        frame = await asyncio.wait_for(kiosk.receive(), 5)
    assert frame.type == aiohttp.WSMsgType.CLOSE and frame.data == 1008, frame
    _, refused = await hello(client, first["vaux"])
    assert refused["code"] == "token_revoked" and refused["field"] == "token"
    assert "révoqué par l'administrateur" in refused["message"]
    page = await client.get(f"/salle/vaux?token={first['vaux']}")
    assert page.status in (400, 401, 403) and "révoqué" in html.unescape(await page.text())

    _, welcome = await hello(client, after["vaux"])  # the new link works
    assert welcome["type"] == "welcome"
    await other.send_json({"type": "ping", "id": "p"})  # belcourt's kiosk was left alone
    while json.loads((await asyncio.wait_for(other.receive(), 5)).data)["type"] != "pong":
        pass
    assert not other.closed

    # an unknown salle: refused in French on the page, nothing revoked
    r = await client.post(f"{PAGE}/bornes/nulle-part/revoquer", data={"csrf": await csrf(client, PAGE)})
    assert r.status == 400 and "Aucune salle désignée « nulle-part »" in html.unescape(await r.text())
    assert links(await r.text()) == after


async def test_a_link_from_before_generations_works_until_its_salle_is_revoked(aiohttp_client, config):
    seed_demo(config.data_dir)
    client = await aiohttp_client(create_app(config))
    legacy = client.app[SIGNER].issue(Role.KIOSK, salle="vaux", sitting="demo")  # no generation in it
    ws, welcome = await hello(client, legacy)
    assert welcome["type"] == "welcome"
    await ws.close()
    await login(client, Role.ADMIN, "dsi")
    links(await (await client.get(PAGE)).text())  # the admin sees the links: still valid
    _, welcome = await hello(client, legacy)
    assert welcome["type"] == "welcome"
    await client.post(f"{PAGE}/bornes/vaux/revoquer", data={"csrf": await csrf(client, PAGE)})
    _, refused = await hello(client, legacy)
    assert refused["code"] == "token_revoked"
