"""Issue 14 point 5 in real Chromium: the screens read their French labels from /labels.js
(deliberation/labels.py), the words of the PV; the public page's badge says the sitting's
status with them, and no script fails to load."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from deliberation.labels import SITTING_STATUS_LABELS

pytestmark = pytest.mark.browser

T = 15_000


async def test_the_public_page_says_the_status_in_the_words_of_deliberation_labels(browser, live_app):
    context = await browser.new_context(locale="fr-FR")
    errors: list[str] = []
    try:
        page = await context.new_page()
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        await page.goto(live_app.base_url + "/public/demo")
        badge = page.locator("#badge-sitting")
        await expect(badge).to_have_text(SITTING_STATUS_LABELS["convened"], timeout=T)
        await expect(badge).to_have_attribute("data-state", "waiting")
        assert not [e for e in errors if "labels" in e or "SyntaxError" in e or "import" in e], errors
    finally:
        await context.close()
