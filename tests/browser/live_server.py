"""The app served on a free loopback port in the test's event loop (plain HTTP on
127.0.0.1 is a secure context, so getUserMedia works without TLS)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web


@dataclass
class LiveServer:
    app: web.Application
    base_url: str


async def start_server(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve ``app`` on 127.0.0.1 and a free port; returns the runner (to clean up) and the base URL."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"
