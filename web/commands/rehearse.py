"""``seance rehearse --out DIR``: play a complete scripted sitting of the demo council.

Writes ``DIR/journal.jsonl``, ``DIR/journal.pub`` (PEM), ``DIR/proces-verbal.html``,
``DIR/liste-deliberations.html`` and ``DIR/deliberations.csv``; then
``seance audit verify DIR/journal.jsonl --key DIR/journal.pub`` checks it. Then the next
sitting adopts the procès-verbal (R22, :mod:`deliberation.rehearsal_adoption`):
``DIR/proces-verbal-signe.pdf`` (PDF/A) and that sitting's ``DIR/adoption/journal.jsonl``,
which ``seance audit pv DIR/proces-verbal-signe.pdf --journal DIR/adoption/journal.jsonl
--key DIR/journal.pub`` checks it against.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, metavar="DIR", help="directory for the journal, key, minutes and CSV")
    parser.add_argument("--quiet", action="store_true", help="print only the files written")


def run(args: argparse.Namespace) -> int:
    from deliberation.journal import generate_key, last_signed_head, read_verified
    from deliberation.rehearsal import run_rehearsal
    from deliberation.rehearsal_adoption import adopt_and_sign

    key = generate_key()
    try:
        outcome = run_rehearsal(args.out, key)
        pv_html = (outcome.journal_path.parent / "proces-verbal.html").read_text(encoding="utf-8")
        head = last_signed_head(read_verified(outcome.journal_path, key.public_key()))
        pdf, adoption_journal = adopt_and_sign(outcome.seance, pv_html, head, outcome.journal_path.parent, key)
    except (OSError, RuntimeError) as exc:
        print(f"seance rehearse: {exc}", file=sys.stderr)
        return 1
    if not args.quiet:
        for line in outcome.log:
            print(line)
    for name in ("journal.jsonl", "journal.pub", "proces-verbal.html", "liste-deliberations.html", "deliberations.csv"):
        print(f"écrit : {outcome.journal_path.parent / name}")
    print(f"écrit : {pdf}")
    print(f"écrit : {adoption_journal}")
    return 0
