"""The replay's screens in real Chromium (issue 16 point 4, R5): the admin sets the
règlement's replay setting on the dashboard; a role it does not name is refused in French;
the auditor it names finds the sitting's recordings page. Both pages pass axe."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from signaling.council_store import CouncilStore
from signaling.roles import Role
from tests.browser.axe_checks import axe_or_skip, axe_violations, describe
from tests.browser.closed_demo_server import serve_closed_demo
from tests.browser.kiosk_helpers import log_in

pytestmark = pytest.mark.browser
T = 15_000


@pytest.fixture
async def served(tmp_path):
    async with serve_closed_demo(
        tmp_path, [("dsi", "pw-admin-1", Role.ADMIN, "DSI"), ("auditeur", "pw-audit-1", Role.AUDITOR, "Auditeur")]
    ) as base:
        yield base


async def test_the_reglement_setting_then_the_recordings_page(browser, served, tmp_path):
    axe = axe_or_skip()
    pages = []
    try:
        for _ in range(2):
            context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
            await context.add_init_script(path=str(axe))
            pages.append((context, await context.new_page()))
        (_, admin), (_, auditor) = pages
        await log_in(admin, served, "dsi", "pw-admin-1")
        await admin.goto(f"{served}/admin#rediffusion")
        section = admin.locator("#rediffusion")
        await section.get_by_label("l'auditeur").check()
        await section.get_by_label("Publier les enregistrements sur la page des actes").check()
        await section.get_by_role("button", name="Enregistrer le réglage").click()
        await expect(admin.get_by_text("Réglage de la rediffusion enregistré.")).to_be_visible(timeout=T)
        assert await admin.locator("#rediffusion-auditor").is_checked()
        assert not await admin.locator("#rediffusion-admin").is_checked()

        await admin.goto(f"{served}/enregistrements/demo")
        await expect(admin.locator("main")).to_contain_text("R5 — le règlement intérieur ne permet pas", timeout=T)

        await log_in(auditor, served, "auditeur", "pw-audit-1")
        await auditor.goto(f"{served}/enregistrements/demo")
        await expect(auditor.locator("h1")).to_have_text("Enregistrements de la séance", timeout=T)
        await expect(auditor.locator("main")).to_contain_text("Aucun enregistrement conservé pour cette séance.")
        assert not (violations := await axe_violations(auditor)), describe({"enregistrements": violations})
        await admin.goto(f"{served}/admin#rediffusion")
        assert not (violations := await axe_violations(admin)), describe({"admin": violations})
    finally:
        for context, _page in pages:
            await context.close()
    with CouncilStore.in_data_dir(tmp_path) as store:
        policy = store.replay_policy(store.current().id)
    assert policy.roles == frozenset({"auditor"}) and policy.publish
