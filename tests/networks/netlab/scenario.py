"""One function runs a scenario of the network lab and returns its typed report.

A :class:`Scenario` is the sitting's salles (real Chromium kiosks) and public viewers,
the link of each from the start, and a list of :class:`Phase`\\ s: at the start of a
phase some links change (degrade, restore, cut), then the lab measures for the phase's
length. :func:`run` builds the lab (:mod:`netlab.lab`), starts ``seance serve``
(:mod:`netlab.server`) and, with ``turn``, coturn (:mod:`netlab.coturn`), opens every
page in its own browser in its own namespace (:mod:`netlab.browsers`), waits until all
are connected, opens the sitting (agents check councillors in, the president opens:
the reply is in :attr:`Report.opening`), lets the media settle, then runs the phases.
For each phase it returns, per page, the figures of :mod:`netlab.figures`, the link's
own counters, the server's /metrics deltas and what the sitting's view said.

Everything is bounded: each wait has a timeout, each phase its length; whatever
happens, browsers, server, coturn and namespaces are gone when :func:`run` returns or
raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from playwright.async_api import async_playwright

from tests.networks.netlab import figures
from tests.networks.netlab.browsers import Kiosk, open_page
from tests.networks.netlab.coturn import Coturn
from tests.networks.netlab.lab import UNLIMITED, Lab, LinkSpec
from tests.networks.netlab.server import SALLES, SeanceServer, SittingDriver, http_session

#: every page connected within this (a salle on a 120 kbit/s link too: ICE is small)
CONNECT_TIMEOUT_S = 60.0
#: how long the president waits for the checklist to show every salle transmitting
#: before asking to open; a salle whose link cannot carry the sitting stays red and the
#: opening is then refused (R7), which is what the weak-link scenarios measure
CHECKLIST_TIMEOUT_S = 30.0
#: closing the harness's sockets at the end of a scenario
TEARDOWN_TIMEOUT_S = 30.0
#: how often the pages' samples are taken (the page keeps 10 minutes at most)
TAKE_EVERY_S = 2.0


@dataclass(frozen=True)
class Phase:
    """``seconds`` of measurement after setting ``links`` (salle or viewer -> link) and
    waiting ``settle_s`` (packets in flight, jitter buffers, the server's timeouts)."""

    name: str
    seconds: float
    links: Mapping[str, LinkSpec] = field(default_factory=dict)
    settle_s: float = 0.0
    #: at the end of the phase, the president asks to open the sitting (the reply is
    #: the phase's ``opening``): "refused until it can" needs a second try
    open_at_end: bool = False


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    phases: tuple[Phase, ...]
    #: the salles with a kiosk (the demo council's three by default)
    salles: tuple[str, ...] = SALLES
    #: public viewers (their names, used as keys like the salles')
    viewers: tuple[str, ...] = ()
    #: links from the start, before any page opens (default: unshaped)
    links: Mapping[str, LinkSpec] = field(default_factory=dict)
    #: check the councillors in and ask the president to open the sitting
    open_sitting: bool = True
    #: after every page is connected (and the opening), before the first phase: the
    #: browsers' bandwidth estimates ramp up, the slots are assigned
    settle_s: float = 10.0
    #: a coturn with TLS on 443 (netlab.coturn), handed to the browsers as the only TURN
    turn: bool = False


def machine() -> dict:
    """What else ran on the machine (the figures depend on it)."""
    load = os.getloadavg()
    return {"cores": os.cpu_count(), "load_1m": round(load[0], 2), "load_5m": round(load[1], 2)}


async def _take_all(pages: Mapping[str, Kiosk]) -> None:
    await asyncio.gather(*(p.take() for p in pages.values()), return_exceptions=True)


async def _sleep_taking(pages: Mapping[str, Kiosk], seconds: float) -> None:
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        await asyncio.sleep(min(TAKE_EVERY_S, left))
        await _take_all(pages)


async def _wait_connected(pages: Mapping[str, Kiosk], timeout: float) -> list[str]:
    """Names of the pages still not connected after ``timeout`` (empty: all are)."""
    end = time.monotonic() + timeout
    waiting = dict(pages)
    while waiting and time.monotonic() < end:
        for name, page in list(waiting.items()):
            with contextlib.suppress(Exception):
                if await page.connected():
                    del waiting[name]
        await asyncio.sleep(0.5)
    return sorted(waiting)


async def _open_pages(pw, lab: Lab, scenario: Scenario, server: SeanceServer, certificates, folder: Path):
    """Every salle's kiosk and every viewer's public page, each in its browser, at once."""
    names = [*scenario.salles, *scenario.viewers]
    urls = {s: server.kiosk_url(s) for s in scenario.salles} | {v: server.public_url() for v in scenario.viewers}
    opened = await asyncio.gather(
        *(
            open_page(pw, lab.links[n], folder, n, "salle" if n in scenario.salles else "viewer", urls[n], certificates)
            for n in names
        ),
        return_exceptions=True,
    )
    pages = {n: p for n, p in zip(names, opened) if not isinstance(p, BaseException)}
    failed = [p for p in opened if isinstance(p, BaseException)]
    if failed:
        await asyncio.gather(*(p.close() for p in pages.values()), return_exceptions=True)
        raise failed[0]
    return pages


async def _measure(
    phase: Phase, lab: Lab, server: SeanceServer, driver: SittingDriver, pages: dict[str, Kiosk], http
) -> figures.PhaseReport:
    """Set the phase's links, let them settle, measure for its length."""
    for name, spec in phase.links.items():
        lab.set(name, spec)
    await _sleep_taking(pages, phase.settle_s)
    t0 = time.time()
    links0, metrics0, cpu0 = lab.counters(), await server.metrics(http), lab.cpu()
    journaled = len(server.journal())
    await _sleep_taking(pages, phase.seconds)
    await _take_all(pages)
    t1 = time.time()
    links1, metrics1, cpu1 = lab.counters(), await server.metrics(http), lab.cpu()
    seconds = t1 - t0
    return figures.PhaseReport(
        name=phase.name,
        seconds=round(seconds, 2),
        links={n: spec.describe() for n, spec in lab.specs.items()},
        kiosks={
            name: figures.kiosk_figures(
                name,
                page.role,
                page.samples,
                t0 * 1000,
                t1 * 1000,
                figures.link_figures(links0[name], links1[name], seconds),
            )
            for name, page in pages.items()
        },
        server=figures.server_figures(metrics0, metrics1, seconds),
        sitting=figures.sitting_figures(driver.views, t0, t1),
        machine=figures.machine_figures(cpu0, cpu1, os.getloadavg()[0]),
        journal=tuple(e["command"] for e in server.journal()[journaled:] if e.get("kind") == "command"),
        opening=await driver.open() if phase.open_at_end else None,
    )


async def run(scenario: Scenario, folder: Path, log=print) -> figures.Report:
    """Run ``scenario`` in ``folder`` (logs, data, certificates); return its report."""
    folder.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    load_before = machine()
    notes: list[str] = []
    phases: list[figures.PhaseReport] = []
    opening = None
    with Lab() as lab, contextlib.ExitStack() as stack:
        for name in [*scenario.salles, *scenario.viewers]:
            lab.add(name, scenario.links.get(name, UNLIMITED))
        coturn = Coturn(folder / "coturn") if scenario.turn else None
        if coturn is not None:
            stack.callback(coturn.stop)
            coturn.start()
        server = SeanceServer(folder, coturn.server_config() if coturn else None)
        stack.callback(server.stop)
        server.start()
        async with http_session() as http, async_playwright() as pw:
            driver = SittingDriver(server, http)
            pages: dict[str, Kiosk] = {}
            try:
                await server.ready()
                if coturn is not None:
                    await coturn.ready()
                certificates = (server.certificate,) + ((coturn.certificate,) if coturn else ())
                pages = await _open_pages(pw, lab, scenario, server, certificates, folder)
                late = await _wait_connected(pages, CONNECT_TIMEOUT_S)
                if late:
                    notes.append(f"not connected after {CONNECT_TIMEOUT_S:g} s: {', '.join(late)}")
                    log(f"[{scenario.name}] not connected: {late}")
                await driver.connect()
                if scenario.open_sitting:
                    await driver.check_in()
                    late = await driver.wait_transmitting(scenario.salles, CHECKLIST_TIMEOUT_S)
                    if late:
                        notes.append(f"not transmitting after {CHECKLIST_TIMEOUT_S:g} s: {', '.join(late)}")
                    opening = await driver.open()
                    log(f"[{scenario.name}] OpenSitting: {opening}")
                await _sleep_taking(pages, scenario.settle_s)
                for phase in scenario.phases:
                    phases.append(await _measure(phase, lab, server, driver, pages, http))
                    log(f"[{scenario.name}] phase {phase.name}: {phases[-1].seconds:.1f} s")
                notes += [f"{name} console errors: {p.console[:5]}" for name, p in pages.items() if p.console]
            finally:  # bounded: a starved browser must not hold the suite (each close has its own bound)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(driver.close(), TEARDOWN_TIMEOUT_S)
                await asyncio.gather(*(p.close() for p in pages.values()), return_exceptions=True)
        turn = await coturn.closed_sessions() if coturn is not None else []
    return figures.Report(
        scenario=scenario.name,
        description=scenario.description,
        date=started,
        machine={"before": load_before, "after": machine()},
        opening=opening,
        phases=tuple(phases),
        notes=tuple(notes),
        turn=tuple(turn),
    )
