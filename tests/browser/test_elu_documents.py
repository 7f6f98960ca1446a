"""The councillor's screen shows the convocation's agenda and its annexes (issue 16 point
1, L.2121-12), in real Chromium: the demo council's councillor logged in sees each item
with its PDF, which opens for them (application/pdf, inline, its name), and the screen
passes axe (WCAG 2.1 AA). Screenshot in test-output/elu/documents.png."""

from __future__ import annotations

import hashlib

import pytest
from playwright.async_api import expect
from test_accessibility import PHONE, _axe_or_skip, axe_violations, describe, new_person

from signaling.roles import Role
from tests.web.test_annexes import PDF, join_to_demo
from web.appkeys import CONFIG

pytestmark = pytest.mark.browser
T = 15_000


async def test_the_councillor_reads_the_agenda_and_opens_an_annex(browser, live_app, output_dir):
    _axe_or_skip()
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
