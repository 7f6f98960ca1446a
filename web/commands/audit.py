"""``seance audit verify JOURNAL --key PUBKEY``: verify a sitting's journal offline (R21).

Exit 0 when the chain, the signatures and every recomputed quorum, start condition and
result hold; exit 1 naming the first line that fails and why; exit 2 on unusable input.
With ``--failed-sitting JOURNAL`` (a sitting convened again after a lack of quorum), the
failed sitting's journal is verified too and must be the one the new sitting's genesis
names, recording the lack of quorum on the agenda the waiver covers (R8, L.2121-17).
With ``--head FILE`` (a signed head kept outside the server: the « Sceau du journal » of the
public page, or ``signed_head`` of the sitting view), the journal must hold that very
signed line: a journal cut or rolled back before it is refused, naming the line.

``seance audit pv PDF --journal JOURNAL --key PUBKEY [--register REGISTER]``: the signed
procès-verbal (R22) is the one the sitting that adopted it signed: the journal verifies, the
motion was adopted, and the PDF's SHA-256 is journaled by ``MinutesSigned`` under a signed
checkpoint or, with ``--register`` (the council's ``registre.jsonl``, verified whole), entered
by that register's ``MinutesSigned`` after the sitting closed
(:func:`deliberation.adoption.check_signed_pdf`); and the PAdES
signature inside it is the council key's, valid, over the whole file
(:func:`deliberation.pades.check_pades`; a PV signed before PAdES existed has none, and
the journal's digest vouches for it alone). Exit 0, 1 or 2 as above.

``seance audit register REGISTER --key PUBKEY [--journal JOURNAL]… [DOCUMENT]…``: the
council's register of publications (``registre.jsonl``, :mod:`deliberation.register`)
verifies (chain, signatures on every batch, each entry of its type and consistent with
the ones before); each DOCUMENT downloaded from the Actes pages (a délibération's page,
the signed procès-verbal, a replay) is one the register entered (its SHA-256, the line
named); each sitting JOURNAL given verifies and agrees with the register (its liste drawn
from its last signed line, its signed procès-verbal and recordings the ones entered).
Exit 0, 1 or 2 as above.
Imports only :mod:`deliberation` (no media stack, no server).
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="audit_command", required=True)
    verify = sub.add_parser("verify", help="verify the chain, the signatures and recompute every result")
    verify.add_argument("journal", metavar="JOURNAL", help="the sitting's journal (journal.jsonl)")
    verify.add_argument("--key", required=True, metavar="PUBKEY", help="the council's Ed25519 public key (PEM)")
    verify.add_argument("--allow-open", action="store_true", help="accept the journal of a sitting not yet closed")
    verify.add_argument(
        "--failed-sitting",
        metavar="JOURNAL",
        help="the journal of the sitting without quorum this one is convened again after (same key)",
    )
    verify.add_argument(
        "--head",
        metavar="FILE",
        help="a signed head kept elsewhere (JSON: seq, hash, signature…): the journal must hold it",
    )

    pv = sub.add_parser("pv", help="check a signed procès-verbal (PDF) against the journal that adopted it")
    pv.add_argument("pdf", metavar="PDF", help="the signed procès-verbal (proces-verbal-signe.pdf)")
    pv.add_argument("--journal", required=True, metavar="JOURNAL", help="the journal of the sitting that adopted it")
    pv.add_argument("--key", required=True, metavar="PUBKEY", help="the council's Ed25519 public key (PEM)")
    pv.add_argument("--allow-open", action="store_true", help="accept the journal of a sitting not yet closed")
    pv.add_argument(
        "--register",
        metavar="REGISTER",
        help="the council's register (registre.jsonl): a PV signed after the adopting sitting closed is entered there",
    )

    reg = sub.add_parser("register", help="verify the council's register of publications and what was served")
    reg.add_argument("register", metavar="REGISTER", help="the council's register (registre.jsonl)")
    reg.add_argument("documents", nargs="*", metavar="DOCUMENT", help="a document downloaded from the Actes pages")
    reg.add_argument("--key", required=True, metavar="PUBKEY", help="the council's Ed25519 public key (PEM)")
    reg.add_argument(
        "--journal", action="append", default=[], metavar="JOURNAL", help="a sitting's journal (repeatable)"
    )


def run(args: argparse.Namespace) -> int:
    if args.audit_command == "pv":
        return _run_pv(args)
    if args.audit_command == "register":
        return _run_register(args)
    from deliberation.audit import audit_file
    from deliberation.journal import load_public_pem

    try:
        with open(args.key, "rb") as f:
            public_key = load_public_pem(f.read())
    except (OSError, ValueError) as exc:
        print(f"seance audit: clé publique illisible ({exc})", file=sys.stderr)
        return 2
    try:
        report = audit_file(args.journal, public_key, allow_open=args.allow_open)
    except OSError as exc:
        print(f"seance audit: journal illisible ({exc})", file=sys.stderr)
        return 2
    if report.ok and args.head:
        problem = _head_problem(args.journal, args.head, public_key)
        if problem is not None:
            print(f"ÉCHEC {args.journal} {problem}")
            return 1
    if report.ok and args.failed_sitting:
        problem = _reconvocation_problem(args.journal, args.failed_sitting, public_key)
        if problem is not None:
            print(f"ÉCHEC {args.journal} ligne 1 : {problem}")
            return 1
    if report.ok:
        print(report.summary())
        for v in report.votes:
            c = v["counts"]
            subject = "" if v["subject"] == "délibération" else f" ({v['subject']})"
            if "candidates" in c:  # a round of a nomination (R24)
                tally = (
                    ", ".join(f"{m} {n}" for m, n in sorted(c["candidates"].items())) + f", {c['abstention']} blanc(s)"
                )
            else:
                tally = f"{c['pour']} pour, {c['contre']} contre, {c['abstention']} abst., {c['nppv']} nppv"
            print(f"  ligne {v['line']}: {v['item_id']}{subject}: {tally} — {v['verdict']}")
        return 0
    print(f"ÉCHEC {args.journal} ligne {report.line} : {report.reason}")
    return 1


def _head_problem(journal: str, head_file: str, public_key) -> str | None:
    """R21: the journal against a signed head kept outside the server (a witness)."""
    import json

    from deliberation.journal import JournalError, check_head, read_verified

    try:
        with open(head_file, "rb") as f:
            head = json.loads(f.read())
        if not isinstance(head, dict):
            raise ValueError("pas un objet JSON")
    except (OSError, ValueError) as exc:
        return f"ligne 1 : tête témoin illisible ({exc})"
    try:
        check_head(read_verified(journal, public_key), head, public_key)
    except JournalError as err:
        return f"ligne {err.line} : {err.reason}"
    return None


def _reconvocation_problem(journal: str, failed: str, public_key) -> str | None:
    """R8: the genesis's link to the failed sitting, checked against that sitting's verified journal."""
    from deliberation.journal import JournalError, genesis_of, read_verified
    from deliberation.reconvocation import link_problem

    try:
        failed_entries = read_verified(failed, public_key)
    except (JournalError, OSError) as err:
        return f"R8 — journal de la séance sans quorum invalide ({err})"
    _council, config = genesis_of(read_verified(journal, public_key))
    return link_problem(config, failed_entries)


def _run_pv(args: argparse.Namespace) -> int:
    """R22: the signed procès-verbal against the journal of the sitting that adopted it."""
    from deliberation.adoption import check_signed_pdf
    from deliberation.audit import audit_file
    from deliberation.journal import JournalError, load_public_pem, read_verified
    from deliberation.pades import NO_PADES, check_pades
    from deliberation.register import verify_register

    try:
        with open(args.key, "rb") as f:
            public_key = load_public_pem(f.read())
        with open(args.pdf, "rb") as f:
            pdf = f.read()
        report = audit_file(args.journal, public_key, allow_open=args.allow_open)
    except (OSError, ValueError) as exc:
        print(f"seance audit: fichier illisible ({exc})", file=sys.stderr)
        return 2
    if not report.ok:
        print(f"ÉCHEC {args.journal} ligne {report.line} : {report.reason}")
        return 1
    pub = None
    if args.register is not None:
        try:
            with open(args.register, "rb") as f:
                pub = verify_register(f.read(), public_key)[1]
        except OSError as exc:
            print(f"seance audit: fichier illisible ({exc})", file=sys.stderr)
            return 2
        except JournalError as err:
            print(f"ÉCHEC {args.register} ligne {err.line} : {err.reason}")
            return 1
    problem = check_signed_pdf(pdf, read_verified(args.journal, public_key), pub)
    if problem is not None:
        print(f"ÉCHEC {args.pdf} : {problem}")
        return 1
    pades = check_pades(pdf, public_key)
    if pades is not None and pades != NO_PADES:
        print(f"ÉCHEC {args.pdf} : {pades}")
        return 1
    where = f"au journal {args.journal}" if pub is None else f"au journal {args.journal} ou au registre {args.register}"
    print(f"OK {args.pdf} : procès-verbal adopté et signé, empreinte inscrite {where}")
    if pades is None:
        print("  signature PAdES (Ed25519) de la clé du conseil valide, couvrant tout le fichier")
    else:
        print("  sans signature PAdES intégrée (signé avant qu'elle n'existe) : l'empreinte au journal fait foi")
    return 0


def _run_register(args: argparse.Namespace) -> int:
    """R21, R26: the register of publications, the documents served and the journals."""
    from deliberation.journal import JournalError, load_public_pem, read_verified
    from deliberation.register import verify_register
    from deliberation.register_audit import find_document, journal_problem

    try:
        with open(args.key, "rb") as f:
            public_key = load_public_pem(f.read())
        with open(args.register, "rb") as f:
            content = f.read()
        documents = {}
        for name in args.documents:
            with open(name, "rb") as f:
                documents[name] = f.read()
    except (OSError, ValueError) as exc:
        print(f"seance audit: fichier illisible ({exc})", file=sys.stderr)
        return 2
    try:
        entries, pub = verify_register(content, public_key)
    except JournalError as err:
        print(f"ÉCHEC {args.register} ligne {err.line} : {err.reason}")
        return 1
    failed = False
    for name, data in documents.items():
        match = find_document(pub, data)
        if match is None:
            print(f"ÉCHEC {name} : document que le registre n'inscrit pas (modifié, ou jamais publié)")
            failed = True
        else:
            print(f"  {name} : ligne {match.line} du registre, {match.what}")
    for journal in args.journal:
        try:
            problem = journal_problem(pub, read_verified(journal, public_key))
        except (JournalError, OSError) as err:
            problem = f"journal invalide ({err})"
        if problem is not None:
            print(f"ÉCHEC {journal} : {problem}")
            failed = True
        else:
            print(f"  {journal} : en accord avec le registre")
    if failed:
        return 1
    signed = max(e.line for e in entries if e.kind == "checkpoint")
    print(
        f"OK {args.register} : {len(pub.inscriptions)} inscription(s), {len(entries)} lignes, "
        f"chaîne et signatures vérifiées (dernier sceau ligne {signed})"
    )
    return 0
