"""The audit pages' work, off the event loop and done once per journal head (issue 12.4).

Verifying a journal and re-deciding every command is CPU work: 5.5 s for a large
council's year (12,000 lines) when it ran on the loop that also carries the media and
every socket. Here it runs in the default executor (a thread), incrementally
(:class:`deliberation.audit.IncrementalAudit`: a journal only grows, each line is checked
once), and what a page or a download derives from a journal is cached by that journal's
head (the SHA-256 of its bytes), so a second visit of an unchanged journal costs a hash.

One :class:`AuditCache` per app (``web.audit_pages.AUDIT_CACHE``); a lock per sitting
serialises the threads working on the same journal.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from deliberation.audit import AuditReport, IncrementalAudit
from deliberation.journal import key_fingerprint

T = TypeVar("T")


class AuditCache:
    """Per sitting and key: the incremental audit, and outputs cached by journal head."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._audits: dict[tuple[str, str], IncrementalAudit] = {}
        self._outputs: dict[tuple[str, str], tuple[str, Any]] = {}
        #: per sitting, how many lines the last audit verified (tests, logs)
        self.checked_lines: dict[str, int] = {}

    def lock(self, sitting_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(sitting_id, threading.Lock())

    @staticmethod
    def head(content: bytes) -> str:
        return hashlib.sha256(content).hexdigest()

    def audit(self, sitting_id: str, content: bytes, public_key: Ed25519PublicKey) -> tuple[AuditReport, bool]:
        """(report, open): the report of a closed sitting, or, when its only fault is being
        under way, the report so far with ``open`` True. Call with :meth:`lock` held."""
        head = self.head(content)
        fingerprint = key_fingerprint(public_key)
        found = self._outputs.get((sitting_id, "report:" + fingerprint))
        if found is not None and found[0] == head:
            return found[1]
        auditor = self._audits.setdefault((sitting_id, fingerprint), IncrementalAudit(public_key))
        report, under_way = auditor.audit(content, allow_open=True), False
        self.checked_lines[sitting_id] = auditor.checked_lines
        if report.ok:
            complete = auditor.audit(content, allow_open=False)  # nothing new to check: the closing only
            report, under_way = (complete, False) if complete.ok else (report, True)
        elif not (report.reason or "").startswith("journal incomplet"):
            under_way = False
        self._outputs[(sitting_id, "report:" + fingerprint)] = (head, (report, under_way))
        return report, under_way

    def seance(self, sitting_id: str, public_key: Ed25519PublicKey) -> Any | None:
        """The sitting as the last audit re-decided it. Call with :meth:`lock` held."""
        auditor = self._audits.get((sitting_id, key_fingerprint(public_key)))
        return auditor.seance if auditor is not None else None

    def cached(self, sitting_id: str, kind: str, head: str, make: Callable[[], T]) -> T:
        """``make()``'s value for this journal head, made once. Call with :meth:`lock` held."""
        found = self._outputs.get((sitting_id, kind))
        if found is not None and found[0] == head:
            return found[1]
        value = make()
        self._outputs[(sitting_id, kind)] = (head, value)
        return value
