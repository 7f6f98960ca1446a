"""axe-core in real Chromium: a person's browser context with axe preloaded, the WCAG 2.0/2.1
A and AA rules run on a page, and what blocks (impact serious or critical).

How axe gets into the page: the pages' CSP is ``script-src 'self'``, so Playwright's
``page.add_script_tag(path=…)`` (which inlines the file's content) is refused by the
browser; ``context.add_init_script(path=…)`` is evaluated by the DevTools protocol
(Page.addScriptToEvaluateOnNewDocument), outside the page's CSP, and works
(tests/browser/test_accessibility.py checks both)."""

from __future__ import annotations

from pathlib import Path

import pytest

from signaling.roles import Role
from web.app import SESSION_COOKIE, SIGNER

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: axe's best-practice rules (landmarks, heading order, one h1…): reported, not failing
INFO_TAGS = ["best-practice"]
BLOCKING = ("serious", "critical")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1360, "height": 900}


def axe_or_skip() -> Path:
    if not AXE.exists():
        pytest.skip("axe-core missing: run `npm ci --no-audit --no-fund` at the repository root")
    return AXE


async def new_person(browser, server, role: Role | None, *, member=None, salle=None, agent=None, viewport=None):
    """A context with this person's session cookie (none for the public) and axe preloaded."""
    context = await browser.new_context(viewport=viewport or DESKTOP, locale="fr-FR")
    await context.add_init_script(path=str(AXE))
    if role is not None:
        token = server.app[SIGNER].issue(role, member=member, salle=salle, agent=agent)
        await context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": server.base_url}])
    page = await context.new_page()
    label = member or agent or (role.value if role else "public")
    page.on("pageerror", lambda e: print(f"[{label}] page error: {e}"))
    return context, page


async def axe_violations(page) -> list[dict]:
    return await page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
            return r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl, tags: v.tags,
              nodes: v.nodes.map((n) => ({target: n.target.join(" "), html: n.html.slice(0, 200),
                                          summary: (n.failureSummary || "").replace(/\\s+/g, " ").slice(0, 300)}))}));
        }""",
        WCAG_TAGS + INFO_TAGS,
    )


def describe(found: dict[str, list[dict]]) -> str:
    lines = []
    for where, violations in found.items():
        for v in violations:
            lines.append(f"{where}: [{v['impact']}] {v['id']} — {v['help']} ({v['helpUrl']})")
            for n in v["nodes"]:
                lines.append(f"    {n['target']}  {n['html']}\n      {n['summary']}")
    return "\n".join(lines)


class Scanner:
    """Runs axe on pages and collects every violation; fails at the end on serious/critical ones."""

    def __init__(self, shots: Path) -> None:
        self.found: dict[str, list[dict]] = {}
        self.shots = shots
        shots.mkdir(parents=True, exist_ok=True)
        self.scanned: list[str] = []

    async def scan(self, page, where: str, shot: str | None = None) -> None:
        await page.wait_for_load_state("load")
        violations = await axe_violations(page)
        self.scanned.append(where)
        if violations:
            self.found[where] = violations
        if shot:
            await page.screenshot(path=str(self.shots / f"{shot}.png"), full_page=True)

    def check(self) -> None:
        print(f"\naxe: {len(self.scanned)} screens scanned: {', '.join(self.scanned)}")
        if self.found:
            print(describe(self.found))
        blocking = {
            w: [v for v in vs if v["impact"] in BLOCKING and set(v["tags"]) & set(WCAG_TAGS)]
            for w, vs in self.found.items()
        }
        blocking = {w: vs for w, vs in blocking.items() if vs}
        assert not blocking, "axe-core: serious or critical WCAG 2.1 A/AA violations\n" + describe(self.found)
