"""The admin and auditor pages in real Chromium: R12 refused as typed, screenshots of each page
into test-output/admin/ (to look at: they are how a person sees the product)."""

from __future__ import annotations

import asyncio
import shutil

import pytest
from playwright.async_api import expect

from deliberation.journal import generate_key, private_pem
from deliberation.rehearsal import run_rehearsal
from signaling.roles import Role
from tests.browser.kiosk_helpers import log_in
from tests.browser.live_server import start_server

pytestmark = pytest.mark.browser


@pytest.fixture
async def served(tmp_path):
    """The demo app over a data dir holding a rehearsal's closed journal (as after a sitting)."""
    from web.app import ACCOUNTS, create_app
    from web.commands.demo import demo_sitting, seed_demo
    from web.config import WebConfig

    key = generate_key()
    run_rehearsal(tmp_path / "rehearsal", key)
    data = tmp_path / "data"
    (data / "sittings" / "demo").mkdir(parents=True)
    (data / "keys").mkdir()
    shutil.copy(tmp_path / "rehearsal" / "journal.jsonl", data / "sittings" / "demo" / "journal.jsonl")
    (data / "keys" / "council-ed25519.pem").write_bytes(private_pem(key))
    (data / "keys" / "council-ed25519.pem").chmod(0o600)
    shutil.copy(tmp_path / "rehearsal" / "journal.pub", data / "keys" / "council-ed25519.pub")
    seed_demo(data)  # the demo council as /admin holds it (the journal above is its sitting's)
    app = create_app(
        WebConfig(
            host="127.0.0.1", port=0, tls=False, data_dir=data, ice_addresses=("127.0.0.1",), sittings=(demo_sitting(),)
        )
    )
    app[ACCOUNTS].set_account("dsi", "pw-admin-1", Role.ADMIN, display_name="DSI")
    app[ACCOUNTS].set_account("auditeur", "pw-audit-1", Role.AUDITOR, display_name="Auditeur")
    runner, base = await start_server(app)
    try:
        yield base
    finally:
        await asyncio.wait_for(runner.cleanup(), 15)


async def test_admin_and_audit_pages_in_chromium(browser, served, output_dir):
    out = output_dir / "admin"
    out.mkdir(parents=True, exist_ok=True)
    base = served
    errors: list[str] = []

    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    page = await context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    await log_in(page, base, "dsi", "pw-admin-1")
    await page.goto(f"{base}/admin")
    assert "Trois Rivières" in await page.inner_text("h1")
    await page.screenshot(path=str(out / "admin.png"), full_page=True)

    # convene a sitting through the form, then type a banned item: refused as typed (R12)
    await page.click("#seances summary")
    await page.fill("#se-id", "cc-2027-02")
    await page.fill("#se-title", "Conseil communautaire du 11 février 2027")
    await page.fill("#se-date", "2027-02-11")
    async with page.expect_navigation():
        await page.click("#seances button[type=submit]")
    assert page.url == f"{base}/admin/seances/cc-2027-02?cree=1", await page.inner_text("main")
    # R12: the title only warns; the nature decides
    await page.fill("#p-title", "Vote du budget primitif 2027")
    await page.wait_for_selector("#p-check[data-state=ok]", timeout=5000)
    assert "budget primitif" in await page.inner_text("#p-warnings") and not await page.is_disabled("#p-submit")
    await page.select_option("#p-kind", "budget_primitif")
    await page.wait_for_selector("#p-check[data-state=lost]", timeout=5000)
    assert "R12" in await page.inner_text("#p-check") and await page.is_disabled("#p-submit")
    assert await page.input_value("#p-matiere") == "7.1"  # the nature's ACTES matière, preselected
    await page.screenshot(path=str(out / "admin-seance-r12.png"), full_page=True)
    # a nomination states its body: an outside body is refused (L.2121-33), a commission is not
    assert await page.is_hidden("#p-body-fields")
    await page.select_option("#p-kind", "nomination")
    assert await page.is_visible("#p-body-fields")
    await page.fill("#p-title", "Désignation au conseil d'administration de l'office de tourisme")
    await page.select_option("#p-body", "organisme_exterieur")
    await page.fill("#p-body-name", "Office de tourisme")
    await expect(page.locator("#p-check")).to_contain_text("L.2121-33", timeout=5000)
    await page.select_option("#p-body", "commission")
    await page.wait_for_selector("#p-check[data-state=ok]", timeout=5000)
    await expect(page.locator("#p-warnings")).to_contain_text("organisme extérieur", timeout=5000)
    await page.select_option("#p-kind", "deliberation")
    await page.fill("#p-title", "Programme de voirie intercommunale 2027")
    await page.select_option("#p-matiere", "8.3")
    await page.wait_for_selector("#p-check[data-state=ok]", timeout=5000)
    await page.click("#p-submit")
    await page.wait_for_selector("tr[data-item] >> text=Programme de voirie")

    await page.goto(f"{base}/admin/seances/cc-2027-02/convocation")
    assert "visioconférence" in await page.inner_text("#mention-visio")
    assert "R6" in await page.inner_text("#r6")  # 2 clear days: warned
    await page.screenshot(path=str(out / "convocation.png"), full_page=True)
    await context.close()

    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    page = await context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    await log_in(page, base, "auditeur", "pw-audit-1")
    await page.goto(f"{base}/audit/demo")
    assert "Journal vérifié" in await page.inner_text("#verdict")
    async with page.expect_download() as info:
        await page.click("a[href='/audit/demo/deliberations.csv']")
    download = await info.value
    assert download.suggested_filename == "deliberations-demo.csv"
    await page.screenshot(path=str(out / "audit.png"), full_page=False)
    await page.screenshot(path=str(out / "audit-full.png"), full_page=True)
    await page.goto(f"{base}/audit/demo#ligne-150")
    await page.screenshot(path=str(out / "audit-chronologie.png"))
    await page.fill("#filtre", "Claire Dubois")
    await page.screenshot(path=str(out / "audit-filtre.png"), full_page=True)
    await context.close()
    assert not errors, errors
