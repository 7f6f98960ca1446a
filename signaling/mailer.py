"""Sending mail through the council's SMTP relay (``[smtp]`` of ``seance.toml``), stdlib only.

The relay is the council's own (its messaging service or its host's): Séance never
delivers mail itself. :func:`send_each` sends one message per recipient over one
connection (RFC 5321), STARTTLS (RFC 3207) or implicit TLS (RFC 8314) as configured,
and reports each recipient's outcome: a refusal of one recipient (a 5xx to ``RCPT TO``)
is recorded as that recipient's failure and the others are still sent. It blocks: the
web layer runs it in a thread (``asyncio.to_thread``), never on the event loop.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

#: Seconds to wait for the relay at each step (connection, each command).
SMTP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class SmtpSettings:
    """The relay: ``security`` is ``"starttls"`` (port 587, RFC 3207), ``"tls"`` (port
    465, RFC 8314) or ``"none"`` (a relay on the same host or network only)."""

    host: str
    port: int
    from_address: str
    security: str = "starttls"
    user: str | None = None
    password: str | None = None
    timeout_s: float = SMTP_TIMEOUT_S
    #: The certificate authority of a relay with a private certificate (PEM); None: the
    #: system's. The relay's name is always checked against its certificate.
    ca_file: Path | None = None


@dataclass(frozen=True)
class Outcome:
    """One recipient's result: ``sent`` true, or the reason in French (the relay's words)."""

    key: str
    address: str
    sent: bool
    reason: str = ""


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    context = ssl.create_default_context(cafile=settings.ca_file)
    if settings.security == "tls":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout_s, context=context)
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s)
        if settings.security == "starttls":
            smtp.starttls(context=context)
    if settings.user:
        smtp.login(settings.user, settings.password or "")
    return smtp


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _reason(err: Exception) -> str:
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        codes = [f"{code} {_text(msg)}" for code, msg in err.recipients.values()]
        return "adresse refusée par le relais : " + "; ".join(codes)
    if isinstance(err, smtplib.SMTPResponseException):
        return f"refusé par le relais : {err.smtp_code} {_text(err.smtp_error)}"
    return f"relais injoignable ou en erreur : {err}"


def send_each(
    settings: SmtpSettings,
    messages: Sequence[tuple[str, EmailMessage]],
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Send each ``(key, message)``; one outcome per message, in order. A connection that
    fails fails every message not yet sent, each with the reason."""
    outcomes: list[Outcome] = []

    def done(outcome: Outcome) -> None:
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    try:
        smtp = _connect(settings)
    except (OSError, smtplib.SMTPException) as err:
        for key, message in messages:
            done(Outcome(key, str(message["To"]), False, _reason(err)))
        return outcomes
    try:
        for i, (key, message) in enumerate(messages):
            address = str(message["To"])
            try:
                smtp.send_message(message, from_addr=settings.from_address, to_addrs=[address])
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as err:
                done(Outcome(key, address, False, _reason(err)))
                try:
                    smtp.rset()
                except (OSError, smtplib.SMTPException):
                    pass
            except (OSError, smtplib.SMTPException) as err:  # the connection is lost: the rest fail
                for k, m in messages[i:]:
                    done(Outcome(k, str(m["To"]), False, _reason(err)))
                return outcomes
            else:
                done(Outcome(key, address, True))
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return outcomes
