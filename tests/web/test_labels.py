"""Issue 14 point 5: the French labels of the core's values live in one place,
deliberation/labels.py. The PV and the audit page import them; the screens get the same
through GET /labels.js, and web/static/sitting.js holds none of them itself."""

from __future__ import annotations

import json
from pathlib import Path

from deliberation.labels import (
    AMENDMENT_STATUS_LABELS,
    CHOICE_LABELS,
    ITEM_STATUS_LABELS,
    METHOD_LABELS,
    SITTING_STATUS_LABELS,
    screen_labels,
)
from tests.signaling.fake_router import fake_router_factory
from web.app import create_app
from web.commands.demo import demo_sitting, seed_demo
from web.config import WebConfig

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"


async def test_the_screens_get_the_labels_of_the_core(aiohttp_client, tmp_path):
    seed_demo(tmp_path)
    app = create_app(
        WebConfig(tls=False, data_dir=tmp_path, sittings=(demo_sitting(),)), router_factory=fake_router_factory
    )
    client = await aiohttp_client(app)
    r = await client.get("/labels.js")  # no session: the public page imports it too
    assert r.status == 200 and r.content_type == "text/javascript"
    text = await r.text()
    prefix = "export const LABELS = "
    assert text.startswith(prefix) and text.rstrip().endswith(";")
    assert json.loads(text[len(prefix) :].rstrip().rstrip(";")) == screen_labels()


def test_no_screen_script_repeats_a_label():
    scripts = {p.name: p.read_text(encoding="utf-8") for p in STATIC.glob("*.js")}
    assert 'from "/labels.js"' in scripts["sitting.js"]
    words = [
        *CHOICE_LABELS.values(),
        *METHOD_LABELS.values(),
        *ITEM_STATUS_LABELS.values(),
        *SITTING_STATUS_LABELS.values(),
        *AMENDMENT_STATUS_LABELS.values(),
    ]
    for word in {w for w in words if len(w) > 12}:  # the distinctive ones (« pour » is everywhere)
        assert f'"{word}"' not in scripts["sitting.js"], word
        assert f'"{word[0].upper()}{word[1:]}"' not in scripts["sitting.js"], word
    amendment = AMENDMENT_STATUS_LABELS
    for name, script in scripts.items():  # the screens import the core's maps from sitting.js, never rewrite one
        assert "AMENDMENT_STATUS = {" not in script and "ITEM_STATUS = {" not in script, name
        assert f'"{amendment["voting"]}"' not in script and f'"{amendment["pending"]}"' not in script, name
