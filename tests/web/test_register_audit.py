"""``seance audit register`` (issue 16 point 1; R21, R22, R26): offline, with the council's
public key only, the register of publications verifies, each document downloaded from the
Actes pages is one it entered (the line named), and the sittings' journals agree with it;
a line rewritten, a document changed or a journal cut is refused, naming what fails."""

from __future__ import annotations

import json

import aiohttp

from deliberation.canonical import canonical_bytes
from signaling.datadir import DataDir
from signaling.sitting import journal_path
from tests.minutes_support import closed_demo_sitting
from tests.web.minutes_admin import PV, admin_client, adopt, next_sitting, post
from web.appkeys import SITTINGS
from web.cli import main as seance_cli


async def _published(aiohttp_client, tmp_path) -> dict[str, bytes]:
    """The demo sitting's acts published (liste, a délibération, its PV adopted at the next
    sitting and signed), downloaded as anyone would, without login."""
    closed_demo_sitting(tmp_path)
    admin = await admin_client(aiohttp_client, tmp_path)
    await next_sitting(admin)
    option_value = "cc-suivant/" + next(
        i["id"] for i in admin.app[SITTINGS]["cc-suivant"].seance.state.agenda if "procès-verbal" in i["title"]
    )
    assert (await post(admin, PV + "/arreter", PV, approbation=option_value)).status == 303
    await adopt(admin.app[SITTINGS]["cc-suivant"], option_value.split("/")[1])
    assert (await post(admin, PV + "/signer", PV)).status == 303
    out = {}
    async with aiohttp.ClientSession() as public:
        for name, path in (
            ("deliberation.html", "/actes/demo/20261126-02"),
            ("pv.pdf", "/actes/demo/proces-verbal.pdf"),
        ):
            async with public.get(admin.make_url(path)) as r:
                assert r.status == 200
                out[name] = await r.read()
    return out


def _audit(tmp_path, *args: str) -> int:
    key = str(DataDir.of(tmp_path).council_public_key)
    return seance_cli(["audit", "register", str(tmp_path / "registre.jsonl"), *args, "--key", key])


async def test_the_register_what_was_served_and_the_journals_agree_offline(aiohttp_client, tmp_path, capsys):
    docs = await _published(aiohttp_client, tmp_path)
    for name, data in docs.items():
        (tmp_path / name).write_bytes(data)
    demo, following = str(journal_path(tmp_path, "demo")), str(journal_path(tmp_path, "cc-suivant"))
    files = [str(tmp_path / n) for n in docs]
    capsys.readouterr()
    assert _audit(tmp_path, *files, "--journal", demo, "--journal", following) == 0
    out = capsys.readouterr().out
    assert "délibération n° 20261126-02" in out and "procès-verbal de la séance « demo »" in out
    assert "OK " in out and "chaîne et signatures vérifiées" in out

    # a document changed after its publication: not the one entered
    changed = tmp_path / "deliberation-modifiee.html"
    changed.write_bytes(docs["deliberation.html"].replace(b"Pour", b"Contre", 1))
    assert _audit(tmp_path, str(changed)) == 1
    assert f"ÉCHEC {changed} : document que le registre n'inscrit pas" in capsys.readouterr().out

    # the demo journal cut back to an earlier signed line: not the one its liste was drawn from
    lines = journal_path(tmp_path, "demo").read_bytes().split(b"\n")[:-1]
    cut_at = max(n for n, raw in enumerate(lines[:-1]) if json.loads(raw)["kind"] == "checkpoint")
    cut = tmp_path / "journal-coupe.jsonl"
    cut.write_bytes(b"".join(raw + b"\n" for raw in lines[: cut_at + 1]))
    assert _audit(tmp_path, "--journal", str(cut)) == 1
    assert "a été publiée depuis un journal dont le dernier sceau est" in capsys.readouterr().out


async def test_a_register_line_rewritten_is_refused_naming_it(aiohttp_client, tmp_path, capsys):
    await _published(aiohttp_client, tmp_path)
    path = tmp_path / "registre.jsonl"
    lines = path.read_bytes().split(b"\n")[:-1]
    n = next(i for i, raw in enumerate(lines) if b'"MinutesPublished"' in raw)
    data = json.loads(lines[n])
    data["entry"]["at"] = "2026-11-27T09:00:00+01:00"  # the PV « published in time », said afterwards
    lines[n] = canonical_bytes(data)
    path.write_bytes(b"".join(raw + b"\n" for raw in lines))
    capsys.readouterr()
    assert _audit(tmp_path) == 1
    assert f"ligne {n + 1} : empreinte « hash » incorrecte" in capsys.readouterr().out
