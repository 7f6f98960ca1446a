"""Fixtures shared by the tests of tests/web."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller

from tests.web.smtp_mailbox import Mailbox, free_port


@pytest.fixture
def mailbox():
    """A real SMTP server on loopback: (its handler, its port)."""
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield box, controller.port
    finally:
        controller.stop()
