"""The Séance server as a benchmark target: ``seance demo --http`` on loopback.

NOT YET WIRED: the /ws protocol (docs/protocol.md) is being written at the same time
as this benchmark. :meth:`SeanceServer.start` raises ``NotImplementedError`` until the
client side (:mod:`bench.seance_client`) speaks it; the report then carries ``null``
figures for Séance and the Janus figures alone.
"""

from __future__ import annotations

from typing import Any

#: True once the Séance target really runs (the smoke test then requires its figures).
WIRED = False


class SeanceServer:
    def __init__(self, cpu: int | None = None) -> None:
        self.cpu = cpu
        self.pid: int | None = None
        self.url = ""

    async def start(self) -> None:
        raise NotImplementedError("the Séance /ws target is not wired yet (see bench/seance_target.py)")

    async def prepare(self, salles: int) -> dict[str, Any]:
        return {}

    async def stop(self) -> None:
        return None
