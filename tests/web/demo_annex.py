"""An annex joined to the demo's first item, as /admin joins it before the convocation."""

from __future__ import annotations

import hashlib

from signaling import datadir
from signaling.council_store import Annex, CouncilStore

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + bytes(range(256)) * 40


def join_to_demo(config, content: bytes) -> Annex:
    """An annex of the demo's first item, as /admin joined it before the demo was convened."""
    with CouncilStore.in_data_dir(config.data_dir) as store:
        cid = store.current().id
        item = store.agenda(cid, "demo")[0]
        annex = Annex("a1b2c3d4e5f60718", item.item_id, "plan", "Plan de zonage.pdf", sha(content), len(content), "")
        path = datadir.DataDir.of(config.data_dir).annex("demo", annex.id)
        datadir.private_dir(path.parent)
        path.write_bytes(content)
        store.add_annex(cid, "demo", annex)
    return annex


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
