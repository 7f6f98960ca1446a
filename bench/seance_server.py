"""The Séance server as the benchmark runs it: ``python -m bench.seance_server``.

The same application as ``seance demo --http`` (``web.app.create_app`` with the real
Router, the /ws protocol of docs/protocol.md), but hosting one sitting ``bench`` of N
salles ``s000``… (``seance demo`` hosts the three salles of the demo council), ICE on
127.0.0.1 only, in a throw-away data directory. It prints one JSON line with the kiosk
token of every salle, then serves until SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

SITTING = "bench"


def salle_id(i: int) -> str:
    return f"s{i:03d}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--salles", type=int, required=True)
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--voices", type=int, default=3)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    from aiohttp import web

    from signaling.auth import TokenSigner
    from signaling.roles import Role
    from web.app import create_app
    from web.config import SalleSpec, SittingSpec, WebConfig

    salles = tuple(SalleSpec(salle_id(i), f"Salle {i}") for i in range(args.salles))
    sitting = SittingSpec(SITTING, "Banc d'essai", salles, president_salle=salles[0].id)
    config = WebConfig(host="127.0.0.1", port=args.port, tls=False, data_dir=args.data_dir,
                       ice_addresses=("127.0.0.1",), voice_slots=args.voices, sittings=(sitting,))
    signer = TokenSigner.from_data_dir(config.data_dir)
    tokens = {s.id: signer.issue(Role.KIOSK, salle=s.id, sitting=SITTING, ttl_s=3600) for s in salles}
    app = create_app(config)

    async def announce(_app: web.Application) -> None:
        print(json.dumps({"event": "ready", "sitting": SITTING, "tokens": tokens}), flush=True)

    app.on_startup.append(announce)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, handle_signals=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
