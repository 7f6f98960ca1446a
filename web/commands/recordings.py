"""``seance recordings purge --config FILE [--dry-run]``: apply the retention period (R5).

Each sitting's recordings (``<data_dir>/recordings/<sitting>/*.webm.enc``) are kept for
the period its council's règlement intérieur sets, read from the first line of the
sitting's own journal (``<data_dir>/sittings/<sitting>/journal.jsonl``: the council as
it was when the sitting was convened, hash-chained and signed). A sitting without a
readable journal is kept ``[privacy] recording_retention_days`` of ``seance.toml`` (the
period ``/confidentialite`` states for it); ``--retention-days`` overrides both. A
recording may be deleted from the day its retention ends
(``deliberation.deadlines.retention_until``), counted from the day it was recorded (in
its file name). Each deletion is printed; ``--dry-run`` prints what would be deleted and
deletes nothing. Exit 0, or 2 on unusable input.

``--config`` is what the systemd timer runs (``deploy/systemd/seance-recordings-purge.*``).
``--data-dir D`` instead of ``--config`` reads no file: a sitting without a journal is then
kept unless ``--retention-days`` is given. There is no default data dir: run from ``/``,
a default of ``var`` would scan ``/var``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from signaling.datadir import DataDir
from web.config_file import ConfigError, load


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="recordings_command", required=True)
    purge = sub.add_parser("purge", help="delete the recordings whose retention period has run out")
    where = purge.add_mutually_exclusive_group(required=True)
    where.add_argument("--config", type=Path, help="the installation's seance.toml (data dir and retention)")
    where.add_argument("--data-dir", type=Path, help="a data directory, without seance.toml")
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
    data_dir: Path,
    dry_run: bool = False,
    retention_days: int | None = None,
    today: date | None = None,
    out=None,
    without_journal_days: int | None = None,
) -> list[Path]:
    """Delete (or list, with ``dry_run``) the expired recordings; returns their paths.

    ``retention_days`` overrides every sitting's period; ``without_journal_days`` is the
    period of a sitting whose journal cannot be read (None: keep its recordings)."""
    from signaling.recordings import expired_recordings, recordings_dir

    out = out or sys.stdout
    done: list[Path] = []
    base = recordings_dir(data_dir)
    sittings = sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
    for sitting in sittings:
        days = retention_days if retention_days is not None else sitting_retention_days(data_dir, sitting)
        if days is None:
            days = without_journal_days
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
    without_journal = None
    if args.config is not None:
        try:
            config = load(args.config).web
        except ConfigError as err:
            print(err.render(), file=sys.stderr)
            return 2
        data_dir, without_journal = config.data_dir, config.recording_retention_days
    else:
        data_dir = args.data_dir
    if not Path(data_dir).is_dir():
        print(f"seance recordings: {data_dir} n'est pas un répertoire", file=sys.stderr)
        return 2
    if args.retention_days is not None and args.retention_days < 0:
        print("seance recordings: --retention-days doit être positif", file=sys.stderr)
        return 2
    purge(Path(data_dir), args.dry_run, args.retention_days, args.today, without_journal_days=without_journal)
    return 0
