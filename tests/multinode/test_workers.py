"""``seance serve --workers 2`` without Redis: sittings spread over workers, redirects, restart."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from deliberation.commands import AddAgendaItem
from deliberation.council import SittingConfig
from deliberation.demo import demo_council
from signaling.council_store import CouncilStore, now_iso
from tests.multinode.multinode_support import REPO, wait_for

pytestmark = pytest.mark.timeout(90)

CONFIG = """\
[server]
host = "127.0.0.1"
port = {port}
data_dir = "{data_dir}"
workers = 2
node_url = "http://127.0.0.1:{{port}}"  # no proxy in front: browsers reach each port

[proxy]
trusted = ["127.0.0.1"]

[ice]
listen_addresses = ["127.0.0.1"]

[web]
reconcile_after_s = false

[[sittings]]
id = "demo"
title = "Communauté de communes des Trois Rivières"
president_salle = "belcourt"
salles = [{{ id = "belcourt", name = "Belcourt" }}, {{ id = "vaux", name = "Vaux" }}]

[[sittings]]
id = "syndicat"
title = "Syndicat des eaux"
salles = [{{ id = "siege", name = "Siège" }}]
"""


def two_free_ports() -> int:
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no two consecutive free ports")


def get(url: str):
    """(status, Location) without following redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=3) as r:
            return r.status, r.headers.get("Location")
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Location")


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in path.read_text().split()] if path.exists() else []


async def test_two_workers_share_the_sittings_and_redirect(tmp_path):
    port = two_free_ports()
    conf = tmp_path / "seance.toml"
    conf.write_text(CONFIG.format(port=port, data_dir=tmp_path / "data"))
    w0, w1 = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}"
    log = open(tmp_path / "serve.log", "ab")
    seance = Path(sys.executable).parent / "seance"
    argv = [str(seance)] if seance.exists() else [sys.executable, "-m", "web.cli"]
    proc = subprocess.Popen([*argv, "serve", "--config", str(conf)], cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:

        def up(url):
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            return get(url + "/healthz")[0] == 200

        wait_for(lambda: up(w0) and up(w1), 30, "both workers to serve")

        # sitting 0 on worker 0, sitting 1 on worker 1; each worker sends pages to the other
        assert get(w0 + "/public/syndicat") == (307, w1 + "/public/syndicat")
        assert get(w1 + "/public/demo?x=1") == (307, w0 + "/public/demo?x=1")
        assert get(w0 + "/public/demo")[0] == 200 and get(w1 + "/public/syndicat")[0] == 200
        assert get(w1 + "/salle/belcourt?token=t") == (307, w0 + "/salle/belcourt?token=t")
        info = json.loads(urllib.request.urlopen(w1 + "/cluster", timeout=3).read())
        assert info["sittings"]["demo"]["url"] == w0 and info["sittings"]["syndicat"]["here"]

        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(w1 + "/ws")
            await ws.send_json({"type": "hello", "sitting": "demo", "id": "h"})
            msg = await asyncio.wait_for(ws.receive_json(), 5)
            assert msg == {"type": "redirect", "re": "h", "sitting": "demo", "node": "worker-0", "url": w0}
            await ws.close()
            ws = await session.ws_connect(w0 + "/ws")
            await ws.send_json({"type": "hello", "sitting": "demo", "id": "h"})
            msg = await asyncio.wait_for(ws.receive_json(), 5)
            assert msg["type"] == "welcome" and msg["role"] == "public"
            await ws.close()

        # a sitting convened in /admin after the start (the council store, which the workers
        # share) is hosted by exactly one worker and known to both: no restart, no [[sittings]]
        with CouncilStore.in_data_dir(tmp_path / "data") as store:
            council = demo_council()
            store.save(council)
            later = SittingConfig("cc-2027-01", "Conseil de janvier", "2027-01-14T18:30:00+01:00", "2027-01-05", True)
            store.save_sitting(council.id, later)
            store.add_agenda_item(council.id, later.id, AddAgendaItem(now_iso(), "voirie", "Voirie 2027"))
            store.convene(council.id, later.id, now_iso())

        def cluster(url):
            return json.loads(urllib.request.urlopen(url + "/cluster", timeout=3).read())["sittings"]

        wait_for(
            lambda: (
                all("cc-2027-01" in cluster(w) for w in (w0, w1))
                and sum(cluster(w)["cc-2027-01"]["here"] for w in (w0, w1)) == 1
            ),
            30,
            "both workers to know the convened sitting, one to hold it",
        )
        holder, other = (w0, w1) if cluster(w0)["cc-2027-01"]["here"] else (w1, w0)
        assert get(holder + "/public/cc-2027-01")[0] == 200
        assert get(other + "/public/cc-2027-01") == (307, holder + "/public/cc-2027-01")
        journal = (tmp_path / "data" / "sittings" / "cc-2027-01" / "journal.jsonl").read_text()
        assert json.loads(journal.splitlines()[0])["council"]["id"] == council.id and "Voirie 2027" in journal

        # a worker killed is restarted by the supervisor, with the same sittings
        workers = children(proc.pid)
        assert len(workers) == 2
        victim = next(pid for pid in workers if "--worker-index\x001" in Path(f"/proc/{pid}/cmdline").read_text())
        os.kill(victim, signal.SIGKILL)
        wait_for(
            lambda: len(children(proc.pid)) == 2 and victim not in children(proc.pid),
            15,
            "the supervisor to restart worker 1",
        )
        wait_for(lambda: up(w1) and get(w1 + "/public/syndicat")[0] == 200, 30, "worker 1 to serve again")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                for pid in children(proc.pid):
                    os.kill(pid, signal.SIGKILL)
                proc.kill()
                proc.wait(5)
        log.close()
    assert proc.returncode == 0
