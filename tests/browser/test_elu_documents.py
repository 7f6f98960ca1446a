"""The councillor's screen shows the convocation's agenda and its annexes (issue 16 point
1, L.2121-12), in real Chromium: the demo council's councillor logged in sees each item
with its PDF, which opens for them (application/pdf, inline, its name), and the screen
passes axe (WCAG 2.1 AA). Screenshot in test-output/elu/documents.png."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

import pytest
from playwright.async_api import expect

from deliberation.council import SittingConfig
from signaling.council_store import CouncilStore
from signaling.roles import Role
from tests.browser.axe_checks import PHONE, axe_or_skip, axe_violations, describe, new_person
from tests.web.demo_annex import PDF, join_to_demo
from web.appkeys import ACCOUNTS, CONFIG

pytestmark = pytest.mark.browser
T = 15_000


async def test_the_councillor_reads_the_agenda_and_opens_an_annex(browser, live_app, output_dir):
    axe_or_skip()
    annex = join_to_demo(live_app.app[CONFIG], PDF)
    out = output_dir / "elu"
    out.mkdir(parents=True, exist_ok=True)
    context, page = await new_person(browser, live_app, Role.COUNCILLOR, member="m03", viewport=PHONE)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        await page.goto(f"{live_app.base_url}/elu?seance=demo")
        documents = page.locator("#documents")
        await expect(documents.get_by_role("heading")).to_have_text("Ordre du jour et documents", timeout=T)
        link = documents.get_by_role("link", name="Plan de zonage.pdf")
        await expect(link).to_be_visible(timeout=T)
        await expect(documents.locator(f"li[data-item='{annex.item_id}']")).to_contain_text("Plan, PDF")
        await link.scroll_into_view_if_needed()
        await page.screenshot(path=str(out / "documents.png"), full_page=True)
        assert not (violations := await axe_violations(page)), describe({"elu": violations})

        # the link opens with this councillor's session (the context's cookie), as Chromium follows it
        response = await context.request.get(live_app.base_url + await link.get_attribute("href"))
        assert response.status == 200 and response.headers["content-type"] == "application/pdf"
        assert response.headers["content-disposition"].startswith('inline; filename="Plan de zonage.pdf"')
        assert hashlib.sha256(await response.body()).hexdigest() == annex.sha256
        assert not errors, errors
    finally:
        await context.close()


async def test_the_secretariat_joins_a_pdf_from_chromium_and_a_wrong_file_is_refused(
    browser, live_app, output_dir, tmp_path
):
    """The admin's form as Chromium sends it (multipart, the file's UTF-8 name as browsers encode it)."""
    config = live_app.app[CONFIG]
    day = date.today() + timedelta(days=30)
    with CouncilStore.in_data_dir(config.data_dir) as store:
        cid = store.current().id
        store.save_sitting(
            cid, SittingConfig("cc-ete", "Conseil d'été", f"{day}T18:30:00", str(day - timedelta(days=10)))
        )
        item = store.agenda(cid, "demo")[1]
        store.add_agenda_item(cid, "cc-ete", item)
    live_app.app[ACCOUNTS].set_account("dsi", "pw-secret-1", Role.ADMIN)
    note, other = tmp_path / "Note de synthèse « collecte ».pdf", tmp_path / "tableau.xlsx"
    note.write_bytes(PDF)
    other.write_bytes(b"PK\x03\x04 un classeur")
    context, page = await new_person(browser, live_app, None)
    try:
        await page.goto(f"{live_app.base_url}/login")
        await page.fill("input[name=login]", "dsi")
        await page.fill("input[name=password]", "pw-secret-1")
        await page.click("button[type=submit]")
        await page.goto(f"{live_app.base_url}/admin/seances/cc-ete")
        form = page.locator("#annexe-form")
        await form.get_by_label("Fichier PDF").set_input_files(str(other))
        await form.get_by_role("button", name="Joindre l'annexe").click()
        await expect(page.locator("#refus-annexe")).to_contain_text("Ce fichier n'est pas un PDF", timeout=T)

        await page.locator("#annexe-form").get_by_label("Fichier PDF").set_input_files(str(note))
        await page.locator("#annexe-form").get_by_role("button", name="Joindre l'annexe").click()
        await expect(page.locator("#annexes [role=status]")).to_have_text("Annexe jointe.", timeout=T)
        row = page.locator("#table-annexes tr[data-annex]")
        await expect(row).to_contain_text("Note de synthèse « collecte ».pdf")
        (output_dir / "elu").mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(output_dir / "elu" / "admin-annexes.png"), full_page=True)
        with CouncilStore.in_data_dir(config.data_dir) as store:
            [annex] = store.annexes(cid, "cc-ete")
        assert (annex.filename, annex.sha256) == (note.name, hashlib.sha256(PDF).hexdigest())
    finally:
        await context.close()
