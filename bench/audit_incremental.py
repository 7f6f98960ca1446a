"""What the audit page's verification costs, whole and incremental (issue 12.4):
``python -m bench.audit_incremental [LINES]``.

Writes a format-2 journal of about LINES lines (arrivals and departures in a salle, each
its own signed batch) in a temporary directory, then prints the time of the whole audit
(:func:`deliberation.audit.audit_bytes`: chain, signatures, recount, re-decision), of an
:class:`~deliberation.audit.IncrementalAudit`'s first call, and of its call after one more
command. Figures go to docs/performance.md; tests never assert them.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from deliberation.actors import Actor, Role
from deliberation.audit import IncrementalAudit, audit_bytes
from deliberation.commands import CheckIn, CheckOut
from deliberation.demo import demo_seance
from deliberation.journal import Journal, generate_key
from deliberation.seance import Seance


def main(lines: int = 12_000) -> None:
    key = generate_key()
    agent = Actor(Role.AGENT, salle_id="vaux", agent_id="a-vaux")
    start = datetime(2026, 1, 15, 18, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.jsonl"
        seance = Seance(demo_seance().council, demo_seance().config)
        journal = Journal.create(path, seance, key)
        n = 0
        while journal.lines < lines:
            at = (start + timedelta(seconds=n)).isoformat()
            command = CheckIn(at, "m06", "vaux") if n % 2 == 0 else CheckOut(at, "m06", "vaux")
            journal.handle(seance, command, agent)
            n += 1
        content = path.read_bytes()
        t = time.perf_counter()
        assert audit_bytes(content, key.public_key(), allow_open=True).ok
        whole = time.perf_counter() - t
        auditor = IncrementalAudit(key.public_key())
        t = time.perf_counter()
        assert auditor.audit(content, allow_open=True).ok
        first = time.perf_counter() - t
        at = (start + timedelta(seconds=n)).isoformat()
        journal.handle(seance, CheckIn(at, "m06", "vaux") if n % 2 == 0 else CheckOut(at, "m06", "vaux"), agent)
        journal.close()
        content = path.read_bytes()
        t = time.perf_counter()
        assert auditor.audit(content, allow_open=True).ok
        again = time.perf_counter() - t
        print(
            f"{journal.lines} lines: whole audit {whole * 1000:.0f} ms; incremental first call "
            f"{first * 1000:.0f} ms, after one more command {again * 1000:.1f} ms "
            f"({auditor.checked_lines} lines checked)"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 12_000)
