"""The README's first command: ``seance demo`` as a real process.

It starts, prints the kiosk links and the accounts on the console, serves (on uvloop,
like ``seance serve``), lets the printed president log in and refuses a wrong password,
serves each printed kiosk link, and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import sys
from pathlib import Path

import aiohttp

from web.app import SESSION_COOKIE

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_seance_demo_prints_accounts_and_serves_them(tmp_path) -> None:
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; from web.cli import main; sys.exit(main())",
        "demo",
        "--http",
        "--port",
        str(port),
        "--data-dir",
        str(tmp_path / "demo"),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    lines: list[str] = []
    try:

        async def banner() -> None:
            while True:
                raw = await proc.stdout.readline()
                assert raw, "seance demo ended before its banner:\n" + "\n".join(lines)
                lines.append(raw.decode().rstrip())
                if "Ctrl+C pour arrêter" in lines[-1]:
                    return

        await asyncio.wait_for(banner(), 60)
        base = f"http://127.0.0.1:{port}"
        kiosks = [line.strip() for line in lines if "/salle/" in line]
        assert [re.search(r"/salle/([\w-]+)\?", k).group(1) for k in kiosks] == ["belcourt", "vaux", "saint-ferreol"]
        president = next(line.split() for line in lines if line.strip().startswith("president "))
        password = president[1]

        async with aiohttp.ClientSession() as http:
            for _ in range(100):  # the banner is printed just before the socket is bound
                try:
                    async with http.get(f"{base}/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            async with http.post(
                f"{base}/login", data={"login": "president", "password": password + "x"}, allow_redirects=False
            ) as r:
                assert r.status == 401
            async with http.post(
                f"{base}/login", data={"login": "president", "password": password}, allow_redirects=False
            ) as r:
                assert r.status == 303 and SESSION_COOKIE in r.cookies, r.status
            for link, name in zip(kiosks, ("Belcourt", "Vaux", "Saint-Ferréol")):
                async with http.get(link) as r:
                    assert r.status == 200 and name in await r.text(), (link, r.status)
            async with http.get(f"{base}/metrics") as r:
                assert 'seance_event_loop_info{loop="uvloop"} 1.0' in await r.text()
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()
    assert proc.returncode in (0, -signal.SIGTERM), proc.returncode
