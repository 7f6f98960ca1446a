"""Sobriété numérique: figures from hand-made counters (checked by hand below), kept with
the sitting at closing, shown to the admin (signaling.sobriety, web.admin)."""

from __future__ import annotations

import json

import pytest

from deliberation.actors import SYSTEM, Actor
from deliberation.actors import Role as CoreRole
from signaling import sobriety
from signaling.roles import Role
from web.app import ACCOUNTS, SITTINGS, create_app
from web.commands.demo import demo_sitting, seed_demo
from web.config import WebConfig


def salle(**fields):
    return dict.fromkeys(sobriety.SALLE_FIELDS, 0) | fields


# Three salles; C audio only for 50 s. In octets, seconds.
TRAFFIC = {
    "salles": {
        "A": salle(
            in_audio_bytes=1_000_000,
            in_video_bytes=9_000_000,
            in_bytes=10_000_000,
            out_bytes=8_000_000,
            mesh_in_bytes=14_000_000,
            video_seconds=100,
            video_active_bytes=9_000_000,
        ),
        "B": salle(
            in_audio_bytes=1_000_000,
            in_video_bytes=5_000_000,
            in_bytes=6_000_000,
            out_bytes=7_000_000,
            mesh_in_bytes=16_000_000,
            video_seconds=100,
            video_active_bytes=5_000_000,
        ),
        "C": salle(
            in_audio_bytes=1_000_000,
            in_video_bytes=2_000_000,
            in_bytes=3_000_000,
            out_bytes=4_000_000,
            mesh_in_bytes=5_000_000,
            video_seconds=50,
            video_active_bytes=1_000_000,
            audio_only_seconds=50,
            forgone_video_stream_seconds=100,  # 2 streams x 50 s
            video_uplink_audio_only_bytes=1_000_000,
        ),
    },
    "viewers": {"out_bytes": 3_000_000},
}


def test_figures_per_salle_and_in_total():
    f = sobriety.compute(TRAFFIC)
    a, b, c = f["salles"]["A"], f["salles"]["B"], f["salles"]["C"]
    # moved = in + out; mesh = in + what it would have received; saved = mesh_in - out
    assert (a["moved_bytes"], a["mesh_bytes"], a["slots_saved_bytes"]) == (18_000_000, 24_000_000, 6_000_000)
    assert (b["moved_bytes"], b["mesh_bytes"], b["slots_saved_bytes"]) == (13_000_000, 22_000_000, 9_000_000)
    assert (c["moved_bytes"], c["mesh_bytes"], c["slots_saved_bytes"]) == (7_000_000, 8_000_000, 1_000_000)
    # C: the others' video ran at (9 + 5) MB / (100 + 100) s = 70 kB/s;
    # not received: 70 kB/s x 100 stream-seconds = 7 MB; not sent: 70 kB/s x 50 s - 1 MB uploaded anyway = 2.5 MB
    assert c["audio_only_saved_bytes"] == 9_500_000
    assert a["audio_only_saved_bytes"] == b["audio_only_saved_bytes"] == 0
    t = f["totals"]
    assert t["in_bytes"] == 19_000_000 and t["out_bytes"] == 19_000_000 + 3_000_000
    assert t["moved_bytes"] == 41_000_000  # 19 in + 19 to salles + 3 to viewers
    assert t["mesh_bytes"] == 57_000_000  # 19 in + (14 + 16 + 5) + 3
    assert t["slots_saved_bytes"] == 16_000_000
    assert t["audio_only_saved_bytes"] == 9_500_000
    assert sobriety.summary_fr(f) == {
        "moved": "41 Mo",
        "mesh": "57 Mo",
        "slots_saved": "16 Mo",
        "audio_only_saved": "9,5 Mo",
    }


def test_runs_add_up():
    f = sobriety.compute(sobriety.merge([TRAFFIC, TRAFFIC]))
    assert f["totals"]["moved_bytes"] == 82_000_000 and f["totals"]["slots_saved_bytes"] == 32_000_000
    # same rate (70 kB/s); 200 stream-seconds = 14 MB; 100 s x 70 kB/s - 2 MB = 5 MB
    assert f["salles"]["C"]["audio_only_saved_bytes"] == 19_000_000


def test_audio_only_estimate_falls_back_and_never_goes_negative():
    alone = {
        "salles": {
            "C": salle(
                audio_only_seconds=10,
                video_seconds=10,
                video_active_bytes=500_000,
                forgone_video_stream_seconds=0,
                video_uplink_audio_only_bytes=9_999_999,
            )
        }
    }
    # no other salle sent video: its own rate (50 kB/s); it uploaded more than 10 s of it: 0
    assert sobriety.compute(alone)["salles"]["C"]["audio_only_saved_bytes"] == 0
    alone["salles"]["C"]["video_uplink_audio_only_bytes"] = 0
    assert sobriety.compute(alone)["salles"]["C"]["audio_only_saved_bytes"] == 500_000
    nobody = {"salles": {"C": salle(audio_only_seconds=10, forgone_video_stream_seconds=20)}}
    assert sobriety.compute(nobody)["salles"]["C"]["audio_only_saved_bytes"] == 0
    # the mesh never below what was moved in the figures shown
    noisy = {"salles": {"A": salle(in_bytes=10, out_bytes=7, mesh_in_bytes=5)}}
    assert sobriety.compute(noisy)["totals"]["slots_saved_bytes"] == 0


@pytest.mark.parametrize(
    "octets, text",
    [
        (0, "0 Mo"),
        (12_345, "0,012 Mo"),
        (1_234_567, "1,2 Mo"),
        (12_345_678, "12 Mo"),
        (123_456_789, "120 Mo"),
        (999_700_000, "1,0 Go"),
        (1_000_000, "1,0 Mo"),
        (500_000, "0,50 Mo"),
        (4_560_000_000, "4,6 Go"),
        (1_000, "< 0,01 Mo"),
    ],
)
def test_french_sizes_two_significant_digits(octets, text):
    assert sobriety.french_size(octets) == text


def test_kept_per_run(tmp_path):
    sobriety.write(tmp_path, "s1", "run-1", TRAFFIC, closed=False)
    sobriety.write(tmp_path, "s1", "run-2", TRAFFIC, closed=False)
    sobriety.write(tmp_path, "s1", "run-2", TRAFFIC, closed=True)  # the same run, later: replaced
    record = sobriety.read(tmp_path, "s1")
    assert set(record["runs"]) == {"run-1", "run-2"} and record["closed"] is True
    assert record["figures"]["totals"]["moved_bytes"] == 82_000_000
    assert not list((tmp_path / "sittings" / "s1").glob("*.tmp"))


# --------------------------------------------------------------------------- with the sitting

PRESENT = {
    "belcourt": ["m01", "m02", "m03", "m04", "m05"],
    "vaux": ["m06", "m07", "m08"],
    "saint-ferreol": ["m10", "m11"],
}
PRESIDENT = Actor(CoreRole.PRESIDENT, member_id="m01", salle_id="belcourt")


async def ok(svc, actor, **command):
    result = await svc.command(actor, command)
    assert isinstance(result, list) and result, result


async def test_closing_keeps_the_figures_and_the_admin_sees_them(aiohttp_client, tmp_path):
    config = WebConfig(
        tls=False, data_dir=tmp_path, sittings=(demo_sitting(),), ice_addresses=("127.0.0.1",), reconcile_after_s=None
    )
    seed_demo(config.data_dir)  # the demo council, entered and convened as in /admin
    client = await aiohttp_client(create_app(config))
    svc = client.app[SITTINGS]["demo"]
    counters = {
        "salles": {
            "belcourt": TRAFFIC["salles"]["A"],
            "vaux": TRAFFIC["salles"]["B"],
            "saint-ferreol": TRAFFIC["salles"]["C"],
        },
        "viewers": TRAFFIC["viewers"],
        "totals": {"in_bytes": 19_000_000, "out_bytes": 22_000_000},
    }
    svc.room.router.traffic = lambda: counters  # the Router's own counters, made by hand
    for salle_id, members in PRESENT.items():
        for m in members:
            await ok(
                svc,
                Actor(CoreRole.AGENT, salle_id=salle_id, agent_id=f"a-{salle_id}"),
                type="CheckIn",
                member_id=m,
                salle_id=salle_id,
            )
        await ok(svc, SYSTEM, type="ReportTransmission", salle_id=salle_id, transmitting=True)
    await ok(svc, SYSTEM, type="ReportPublicStream", up=True)
    await ok(svc, PRESIDENT, type="AppointSecretary", member_id="m03")
    await ok(svc, PRESIDENT, type="OpenSitting")
    path = tmp_path / "sittings" / "demo" / "sobriete.json"
    assert not path.exists()
    await ok(svc, PRESIDENT, type="CloseSitting")
    await svc.idle()
    record = json.loads(path.read_text())
    assert record["closed"] is True
    assert record["figures"]["totals"]["slots_saved_bytes"] == 16_000_000
    assert "sobri" not in svc.journal_path.read_text().lower()  # not deliberation: not journaled
    # after the closing, the service's stop leaves the figures as they were
    counters["viewers"] = {"out_bytes": 99_000_000}
    await svc.save_sobriety()
    assert sobriety.read(tmp_path, "demo")["figures"]["totals"]["moved_bytes"] == 41_000_000

    client.app[ACCOUNTS].set_account("dsi", "pw-secret-1", Role.ADMIN)
    r = await client.post("/login", data={"login": "dsi", "password": "pw-secret-1"}, allow_redirects=False)
    assert r.status == 303
    page = await (await client.get("/admin/seances/demo")).text()
    assert "Sobriété numérique" in page and 'id="table-sobriete"' in page
    assert "<strong>41 Mo</strong>" in page and "16 Mo économisé grâce aux emplacements" in page
    assert "9,5 Mo économisé par les salles en audio seul" in page
    assert "57 Mo" in page and "Vaux" in page
    listing = await (await client.get("/admin")).text()
    assert "41 Mo échangés" in listing and "16 Mo économisé grâce aux emplacements" in listing
    assert "9,5 Mo économisé par les salles en audio seul" in listing


async def test_the_service_stopping_keeps_the_figures_of_an_open_sitting(aiohttp_client, tmp_path):
    config = WebConfig(
        tls=False, data_dir=tmp_path, sittings=(demo_sitting(),), ice_addresses=("127.0.0.1",), reconcile_after_s=None
    )
    seed_demo(config.data_dir)  # the demo council, entered and convened as in /admin
    client = await aiohttp_client(create_app(config))
    svc = client.app[SITTINGS]["demo"]
    path = tmp_path / "sittings" / "demo" / "sobriete.json"
    await svc.save_sobriety()
    assert not path.exists()  # nothing moved yet: no file
    svc.room.router.traffic = lambda: {
        "salles": {"vaux": TRAFFIC["salles"]["B"]},
        "viewers": {"out_bytes": 0},
        "totals": {"in_bytes": 6_000_000, "out_bytes": 7_000_000},
    }
    await svc.close()
    record = sobriety.read(tmp_path, "demo")
    assert record["closed"] is False and record["figures"]["totals"]["moved_bytes"] == 13_000_000
