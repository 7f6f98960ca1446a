"""Real Chromium kiosks and public viewers, each in its own salle's namespace.

Playwright drives Debian's Chromium over a pipe (``--remote-debugging-pipe``), so the
browser can live in another network namespace than the harness: ``executable_path`` is
a small wrapper that execs Chromium through ``ip netns exec <salle's namespace>``
(``setpriv --pdeathsig``: it dies with the Playwright driver). One browser per salle,
fake camera and microphone (as tests/browser), no ``--allow-loopback-in-peer-connection``:
a salle reaches the server over its link as in a real deployment.

The lab's certificates (the server's HTTPS, coturn's TLS) are self-signed: each browser
trusts them as a real installation's browsers trust its real ones, through its own NSS
database (``$HOME/.pki/nssdb``, ``certutil``, trust ``P``: a trusted peer certificate),
so Chromium still checks every certificate it is shown, names included — the TURN
client's TLS as much as the page's (``ignore_https_errors`` would not reach the former).

Each page gets :file:`sampler.js` as an init script: its ``getStats()`` figures every
200 ms, taken by :meth:`Kiosk.take` and turned into figures by :mod:`netlab.figures`.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bench.netns import Netns
from tests.browser.chromium_options import CHROMIUM, CHROMIUM_ARGS

SAMPLER = Path(__file__).with_name("sampler.js")
#: as tests/browser, but without loopback candidates: the salle's link is the only way
ARGS = [a for a in CHROMIUM_ARGS if a != "--allow-loopback-in-peer-connection"]


def chromium_missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM}"
    if shutil.which("certutil") is None:
        return "certutil is not installed (Debian: apt-get install libnss3-tools)"
    return None


def trusting(home: Path, certificates: tuple[Path, ...]) -> Path:
    """A home folder whose NSS database trusts ``certificates`` (PEM) as peers."""
    db = home / ".pki" / "nssdb"
    db.mkdir(parents=True, exist_ok=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"], check=True, capture_output=True)
    for n, cert in enumerate(certificates):
        subprocess.run(
            ["certutil", "-A", "-d", f"sql:{db}", "-n", f"lab-{n}", "-t", "P,,", "-i", str(cert)],
            check=True,
            capture_output=True,
        )
    return home


#: a page's script answers in milliseconds; past this the renderer is starved or gone
EVALUATE_TIMEOUT_S = 15.0
#: closing a browser (its pages, its processes)
CLOSE_TIMEOUT_S = 20.0


def wrapper(ns: Netns, folder: Path, home: Path) -> Path:
    """An executable that runs Chromium inside ``ns``, with ``home`` as its home, with the
    arguments it is given."""
    path = folder / f"chromium-{ns.name}"
    die = "setpriv --pdeathsig KILL -- " if shutil.which("setpriv") else ""
    path.write_text(f'#!/bin/sh\nexec env HOME={home} {" ".join(ns.exec_prefix())} {die}{CHROMIUM} "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@dataclass
class Kiosk:
    """One page (a salle's kiosk or a public viewer) in its own browser."""

    name: str
    role: str  # "salle" | "viewer"
    browser: object
    context: object
    page: object
    samples: list[dict] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    async def take(self) -> list[dict]:
        """Move the page's pending samples into :attr:`samples`; returns the new ones."""
        new = await asyncio.wait_for(
            self.page.evaluate("() => window.__netlab ? window.__netlab.take() : []"), EVALUATE_TIMEOUT_S
        )
        self.samples.extend(new)
        return new

    async def connected(self) -> bool:
        return bool(
            await asyncio.wait_for(
                self.page.evaluate(
                    "() => !!(window.seance && window.seance.pc && window.seance.pc.connectionState === 'connected')"
                ),
                EVALUATE_TIMEOUT_S,
            )
        )

    async def close(self) -> None:
        """Close the browser, at most ``CLOSE_TIMEOUT_S``: a renderer starved on a loaded
        machine can leave Playwright's close waiting for ever (seen in CI); the browser
        then dies with Playwright's driver (``--pdeathsig`` in the wrapper)."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.browser.close(), CLOSE_TIMEOUT_S)


async def open_page(
    pw, ns: Netns, folder: Path, name: str, role: str, url: str, certificates: tuple[Path, ...]
) -> Kiosk:
    """Launch a browser in ``ns`` trusting ``certificates`` and open ``url`` (a kiosk
    link or the public page)."""
    home = trusting(folder / f"home-{name}", certificates)
    browser = await pw.chromium.launch(executable_path=str(wrapper(ns, folder, home)), headless=True, args=ARGS)
    try:
        context = await browser.new_context(viewport={"width": 1280, "height": 760})
        await context.add_init_script(path=str(SAMPLER))
        page = await context.new_page()
        kiosk = Kiosk(name, role, browser, context, page)
        page.on("console", lambda m: m.type == "error" and kiosk.console.append(m.text))
        await page.goto(url)
        return kiosk
    except BaseException:
        await browser.close()
        raise
