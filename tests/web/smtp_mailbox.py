"""A real SMTP server's handler (aiosmtpd) that keeps every message and refuses one address
as a relay does; the ``mailbox`` fixture (tests/web/conftest.py) starts it on loopback."""

from __future__ import annotations

import socket

REFUSED = "boite.pleine@vaux.example.fr"


class Mailbox:
    """aiosmtpd handler: keeps every message; refuses one address as a relay does (550)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == REFUSED:
            return "550 5.2.2 Boite pleine"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
