"""``seance recordings purge [--data-dir D] [--dry-run]``: apply the retention period (R5).

Each sitting's recordings (``<data_dir>/recordings/<sitting>/*.webm.enc``) are kept for
the period its council's règlement intérieur sets, read from the first line of the
sitting's own journal (``<data_dir>/sittings/<sitting>/journal.jsonl``: the council as
it was when the sitting was convened, hash-chained and signed); ``--retention-days``
overrides it (and serves sittings without a journal). A recording may be deleted from
the day its retention ends (``deliberation.deadlines.retention_until``), counted from
the day it was recorded (in its file name). Each deletion is printed; ``--dry-run``
prints what would be deleted and deletes nothing. Exit 0, or 2 on unusable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from signaling.datadir import DataDir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="recordings_command", required=True)
    purge = sub.add_parser("purge", help="delete the recordings whose retention period has run out")
    purge.add_argument("--data-dir", default="var", type=Path, help="the installation's data directory (default: var)")
    purge.add_argument("--dry-run", action="store_true", help="say what would be deleted, delete nothing")
    purge.add_argument(
        "--retention-days", type=int, default=None, help="override the règlement intérieur's retention period (days)"
    )
    purge.add_argument("--today", type=date.fromisoformat, default=None, help=argparse.SUPPRESS)


def sitting_retention_days(data_dir: Path, sitting_id: str) -> int | None:
    """The retention period of the sitting's council, from its journal's first line."""
    path = DataDir.of(data_dir).journal(sitting_id)
    try:
        with open(path, encoding="utf-8") as fh:
            first = json.loads(fh.readline())
        days = first["council"]["reglement"]["retention_days"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return days if isinstance(days, int) and days >= 0 else None


def purge(
    data_dir: Path, dry_run: bool = False, retention_days: int | None = None, today: date | None = None, out=None
) -> list[Path]:
    """Delete (or list, with ``dry_run``) the expired recordings; returns their paths."""
    from signaling.recordings import expired_recordings, recordings_dir

    out = out or sys.stdout
    done: list[Path] = []
    base = recordings_dir(data_dir)
    sittings = sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
    for sitting in sittings:
        days = retention_days if retention_days is not None else sitting_retention_days(data_dir, sitting)
        if days is None:
            print(
                f"{sitting}: durée de conservation inconnue (pas de journal lisible) : rien supprimé ; "
                "utilisez --retention-days",
                file=out,
            )
            continue
        for e in expired_recordings(data_dir, days, today):
            if e.path.parent.name != sitting:
                continue
            verb = "supprimerait" if dry_run else "supprimé"
            if not dry_run:
                e.path.unlink()
            done.append(e.path)
            print(
                f"{verb} {e.path} (enregistré le {e.recorded.isoformat()}, conservation {days} jours "
                f"jusqu'au {e.delete_from.isoformat()}, {e.size} octets)",
                file=out,
            )
        folder = base / sitting
        if not dry_run and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    if not done:
        print("aucun enregistrement dont la durée de conservation est échue", file=out)
    return done


def run(args: argparse.Namespace) -> int:
    if args.recordings_command != "purge":
        return 2
    if not Path(args.data_dir).is_dir():
        print(f"seance recordings: {args.data_dir} n'est pas un répertoire", file=sys.stderr)
        return 2
    if args.retention_days is not None and args.retention_days < 0:
        print("seance recordings: --retention-days doit être positif", file=sys.stderr)
        return 2
    purge(Path(args.data_dir), args.dry_run, args.retention_days, args.today)
    return 0
