"""The replay (issue 16 point 4, R5, R19): a sitting recorded for real (a real Router, the
recorder's encrypted WebM, its digest journaled at the closing) is exported as a standard
WebM that PyAV decodes, only by a role the règlement allows, only while the file is the
one the journal records; published on the Actes page when the règlement says so; every
export, publication and withdrawal entered in the council's signed register (who, when,
the digest of the file handed out)."""

from __future__ import annotations

import asyncio
import hashlib
import html
import io
import re
import time

import aiohttp
import av

from deliberation.register import ReplayExported, ReplayWithdrawn
from signaling.council_store import CouncilStore
from signaling.recordings import recordings_dir
from signaling.roles import Role
from tests.recording.decoded_frames import rms
from tests.recording.recorded_sitting import PRESIDENT, ok, open_sitting, service
from tests.sfu.sfu_clients import Client, wait_for
from web.app import ACCOUNTS, create_app
from web.commands.demo import demo_sitting, seed_demo
from web.config import WebConfig
from web.publications import council_register
from web.replay import publish_replays


async def recorded_sitting(tmp_path) -> tuple[float, float]:
    """The demo sitting opened with belcourt's kiosk speaking (a real aiortc peer), a
    sensitive passage marked, closed: recorded and journaled. The passage's start and end
    on the recording's clock (ms)."""
    seed_demo(tmp_path)
    svc = service(tmp_path)
    router = svc.room.router
    kiosk = Client("belcourt", router.slot_layout("salle"), amplitude=0.3)
    try:
        await kiosk.answer(await router.connect_salle("belcourt", await kiosk.offer()))
        assert await wait_for(lambda: router.stats()["packets_in_by_kind"].get("audio", 0) > 20, 20)
        await open_sitting(svc)
        t0 = router.recorder.started_at
        await asyncio.sleep(2.0)
        await ok(svc, PRESIDENT, type="MarkSensitive", on=True, reason="personne nommée")
        start = (time.monotonic() - t0) * 1000
        await asyncio.sleep(2.0)
        await ok(svc, PRESIDENT, type="MarkSensitive", on=False)
        end = (time.monotonic() - t0) * 1000
        await asyncio.sleep(1.5)
        await ok(svc, PRESIDENT, type="CloseSitting")
        await svc.idle()
    finally:
        await kiosk.close()
        await svc.close()
        await svc.room.close()
    return start, end


async def login(client, name: str, role: Role) -> None:
    client.app[ACCOUNTS].set_account(name, "pw-secret-1", role)
    r = await client.post("/login", data={"login": name, "password": "pw-secret-1"}, allow_redirects=False)
    assert r.status == 303


async def set_policy(client, **fields) -> None:
    body = await (await client.get("/admin")).text()
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', body).group(1)
    r = await client.post("/admin/rediffusion", data={"csrf": token, **fields}, allow_redirects=False)
    assert r.status == 303


async def test_the_recording_exported_as_webm_for_the_roles_the_reglement_allows(aiohttp_client, tmp_path, loopback):
    s_start, s_end = await recorded_sitting(tmp_path)
    config = WebConfig(tls=False, data_dir=tmp_path, sittings=(demo_sitting(),), ice_addresses=("127.0.0.1",))
    admin = await aiohttp_client(create_app(config))
    await login(admin, "dsi", Role.ADMIN)
    await set_policy(admin, **{"role-auditor": "on"})

    # the admin is not among the roles the règlement names: refused, in French, naming R5
    r = await admin.get("/enregistrements/demo")
    assert r.status == 403 and "R5 — le règlement intérieur ne permet pas" in html.unescape(await r.text())

    auditor = await aiohttp_client(admin.server)
    await login(auditor, "auditeur", Role.AUDITOR)
    page = await (await auditor.get("/enregistrements/demo")).text()
    links = re.findall(r'href="(/enregistrements/demo/[^"]+\.webm)"', page)
    assert len(links) == 1
    r = await auditor.get(links[0])
    assert r.status == 200 and r.content_type == "video/webm"
    webm = await r.read()
    with av.open(io.BytesIO(webm)) as container:  # a standard WebM a real decoder plays
        assert {s.type for s in container.streams} >= {"audio", "video"}
        audio = [(float(f.pts * f.time_base) * 1000, rms(f)) for f in container.decode(audio=0)]
    # the exported file keeps the voice outside the sensitive passage and its silence (R19)
    margin = 500
    before = [r for t, r in audio if margin <= t <= s_start - margin]
    during = [r for t, r in audio if s_start + margin <= t <= s_end - margin]
    after = [r for t, r in audio if s_end + margin <= t]
    assert before and during and after
    assert sum(r > 0.02 for r in before) >= 0.9 * len(before), before
    assert max(during) < 1e-4, "R19: the sensitive passage is silent in the export"
    assert sum(r > 0.02 for r in after) >= 0.5 * len(after), after

    # not published by default; published once the règlement says so, without login
    name = links[0].rsplit("/", 1)[1]
    async with aiohttp.ClientSession() as public:
        async with public.get(admin.make_url(f"/actes/demo/enregistrement/{name}")) as r:
            assert r.status == 404
        await set_policy(admin, **{"role-auditor": "on", "publish": "on"})
        async with public.get(admin.make_url("/actes/demo")) as r:
            assert f"/actes/demo/enregistrement/{name}" in await r.text()
        async with public.get(admin.make_url(f"/actes/demo/enregistrement/{name}")) as r:
            assert r.status == 200 and await r.read() == webm

    # the register: the auditor's export and the publication, with the digest of the very file
    with CouncilStore.in_data_dir(tmp_path) as store:
        council_id = store.current().id
    pub = council_register(tmp_path, council_id).read()
    digest = hashlib.sha256(webm).hexdigest()
    [exported] = pub.of_type(ReplayExported, "demo")
    assert (exported.by, exported.file_sha256) == ("auditeur", digest)
    assert exported.recording == f"recordings/demo/{name}.enc"
    [published] = pub.replays()
    assert (published.by, published.file_sha256, published.recording) == ("dsi", digest, exported.recording)

    # the file deleted at the end of its retention (R5): the publication withdrawn by the server
    enc_path = recordings_dir(tmp_path, "demo") / f"{name}.enc"
    kept = enc_path.read_bytes()
    enc_path.unlink()
    assert [type(e).__name__ for e in publish_replays(admin.app)] == ["ReplayWithdrawn"]
    assert council_register(tmp_path, council_id).read().replays() == []
    enc_path.write_bytes(kept)  # restored from a backup: published again by the next sweep
    assert [type(e).__name__ for e in publish_replays(admin.app)] == ["ReplayPublished"]

    # the règlement no longer publishes: withdrawn, entered, and the public link refused
    await set_policy(admin, **{"role-auditor": "on"})
    async with aiohttp.ClientSession() as public:
        async with public.get(admin.make_url(f"/actes/demo/enregistrement/{name}")) as r:
            assert r.status == 404
    pub = council_register(tmp_path, council_id).read()
    assert pub.replays() == [] and [w.by for w in pub.of_type(ReplayWithdrawn, "demo")] == ["serveur", "dsi"]

    # a file changed since the journal recorded its digest is not exported
    enc = next(recordings_dir(tmp_path, "demo").glob("*.webm.enc"))
    data = bytearray(enc.read_bytes())
    data[-1] ^= 1
    enc.write_bytes(bytes(data))
    r = await auditor.get(links[0])
    assert r.status == 409 and "ne correspond plus à l'empreinte inscrite au journal" in html.unescape(await r.text())

    with CouncilStore.in_data_dir(tmp_path) as store:
        exports = store.exports(store.current().id, "demo")
    assert [by for _label, _sha, by, _at in exports] == ["public"]  # the public downloads' log
    assert len(council_register(tmp_path, council_id).read().of_type(ReplayExported)) == 1  # refused: not entered
