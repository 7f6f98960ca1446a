"""The annex shown on a screen (issue 15 point 8): a real two-page document, and the page
drawn by pdf.js sampled from its canvas."""

from __future__ import annotations

from playwright.async_api import expect

#: how long a screen may take to draw a page (ms)
T = 20_000

TWO_PAGES = """<html lang="fr"><head><style>
@page { size: A4 landscape; margin: 1.5cm }
h1 { font: bold 34pt sans-serif; margin: 0 0 1cm }
table { border-collapse: collapse; font: 16pt sans-serif; width: 100% }
td { border: 2px solid #000; padding: .3cm }
.next { break-before: page }
.bar { background: #000; height: 9cm; width: 70%; margin-top: 1cm }
</style></head><body>
<h1>Plan de collecte — secteurs</h1>
<table>
<tr><td>Secteur nord</td><td>Lundi</td><td>12 tournées</td></tr>
<tr><td>Secteur sud</td><td>Mardi</td><td>9 tournées</td></tr>
<tr><td>Centre-bourg</td><td>Jeudi</td><td>15 tournées</td></tr>
</table>
<section class="next"><h1>Budget 2027</h1><div class="bar"></div></section>
</body></html>"""


#: The canvas of the document shown: how much of it is ink, an 8 × 8 grid of its mean
#: luminance (to compare two pages), and its size in device and CSS pixels.
SAMPLE = """() => {
    const c = document.querySelector('#document canvas');
    if (!c || !c.width) return null;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let ink = 0;
    const grid = new Array(64).fill(0), counts = new Array(64).fill(0);
    for (let y = 0; y < c.height; y += 2) for (let x = 0; x < c.width; x += 2) {
        const i = (y * c.width + x) * 4, lum = (d[i] + d[i + 1] + d[i + 2]) / 3;
        if (lum < 160) ink += 1;
        const g = Math.min(7, Math.floor(8 * y / c.height)) * 8 + Math.min(7, Math.floor(8 * x / c.width));
        grid[g] += lum; counts[g] += 1;
    }
    const r = c.getBoundingClientRect();
    return {ink: ink / counts.reduce((a, b) => a + b, 0), grid: grid.map((s, k) => s / counts[k]),
            width: c.width, cssWidth: r.width, area: r.width * r.height};
}"""


async def shown(page, number: int):
    """Wait for ``page`` to draw page ``number``; its canvas sample."""
    figure = page.locator("#document")
    await expect(figure).to_be_visible(timeout=T)
    await expect(figure.locator(".document-indicator")).to_have_text(f"Page {number} / 2", timeout=T)
    await expect(figure).to_have_attribute("data-page", str(number), timeout=T)
    sample = await page.evaluate(SAMPLE)
    assert sample is not None and sample["ink"] > 0.005, f"the page drawn is blank: {sample and sample['ink']}"
    return sample
