"""What signing every batch of the journal costs (issue 12.1): ``python -m bench.journal_sign``.

Appends the same kind of batch the server writes for a ballot (a command, its event, the
signed checkpoint) to a journal in a temporary directory, with and without the checkpoint,
and prints the median time per batch: chained and sealed without the checkpoint and with
it (the difference is what format 2 adds), then a whole batch written and fsynced (the
fsync dominates on a real disk). Figures go to
docs/performance.md, « Journal: the cost of signing each batch »; tests never assert them.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from deliberation.actors import Actor
from deliberation.commands import command_from_dict
from deliberation.events import Event
from deliberation.journal import Journal, generate_key, seal

BATCHES = 2000


def _entries(with_checkpoint: bool) -> list[dict[str, Any]]:
    command = {"kind": "command", "command": {"type": "CastBallot", "at": "2026-01-15T18:00:00+01:00",
               "item_id": "marche-collecte", "voter_id": "m07", "choice": "pour", "on_behalf_of": None},
               "actor": {"role": "councillor", "member_id": "m07", "salle_id": None, "agent_id": None}}  # fmt: skip
    event = {"kind": "event", "cause": 0, "event": {"type": "BallotCast", "at": "2026-01-15T18:00:00+01:00",
             "data": {"item_id": "marche-collecte", "voter_id": "m07", "on_behalf_of": None, "choice": "pour"}}}  # fmt: skip
    return [command, event] + ([{"kind": "checkpoint", "reason": "batch"}] if with_checkpoint else [])


def seal_only(with_checkpoint: bool) -> float:
    """Median µs to chain and seal one batch, without the write and fsync."""
    key = generate_key()
    samples = []
    for n in range(BATCHES):
        start = time.perf_counter()
        prev = "0" * 64
        for seq, entry in enumerate(_entries(with_checkpoint), start=3 * n + 1):
            full = {**entry, "seq": seq, "prev": prev}
            if full["kind"] == "checkpoint":
                full["head"] = prev
            seal(full, key)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def appended(count: int = 300) -> float:
    """Median µs of one ballot's batch (command, event, signed checkpoint) written and fsynced."""
    key = generate_key()
    command, event = _entries(False)
    cmd = command_from_dict(command["command"])
    actor = Actor.from_dict(command["actor"])
    events = [Event.from_dict(event["event"])]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.jsonl"
        with open(path, "ab") as handle:
            journal = Journal(path, handle, key, b"genesis", 1)
            samples = []
            for _ in range(count):
                start = time.perf_counter()
                journal.append(cmd, actor, events)
                samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def main() -> None:
    plain, signed = seal_only(False), seal_only(True)
    print(f"chain + seal, per batch: {plain:.0f} µs without a checkpoint, {signed:.0f} µs with its signed checkpoint "
          f"(+{signed - plain:.0f} µs)")  # fmt: skip
    print(f"a ballot's batch written and fsynced (Journal.append): {appended():.0f} µs")


if __name__ == "__main__":
    main()
