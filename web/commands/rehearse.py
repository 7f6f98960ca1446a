"""``seance rehearse --out DIR``: play a complete scripted sitting of the demo council.

Writes ``DIR/journal.jsonl``, ``DIR/journal.pub`` (PEM), ``DIR/proces-verbal.html``,
``DIR/liste-deliberations.html`` and ``DIR/deliberations.csv``; then
``seance audit verify DIR/journal.jsonl --key DIR/journal.pub`` checks it.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, metavar="DIR", help="directory for the journal, key, minutes and CSV")
    parser.add_argument("--quiet", action="store_true", help="print only the files written")


def run(args: argparse.Namespace) -> int:
    from deliberation.rehearsal import run_rehearsal

    try:
        outcome = run_rehearsal(args.out)
    except (OSError, RuntimeError) as exc:
        print(f"seance rehearse: {exc}", file=sys.stderr)
        return 1
    if not args.quiet:
        for line in outcome.log:
            print(line)
    for name in ("journal.jsonl", "journal.pub", "proces-verbal.html", "liste-deliberations.html", "deliberations.csv"):
        print(f"écrit : {outcome.journal_path.parent / name}")
    return 0
