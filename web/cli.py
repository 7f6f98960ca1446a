"""The ``seance`` command line.

Each sub-command lives in its own module of :mod:`web.commands` exposing
``add_arguments(parser)`` and ``run(args) -> int``. The media stack (aiortc) is imported
only when a Router is built, so ``seance audit verify`` works without it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from signaling.datadir import PRIVATE_UMASK
from web import version
from web.commands import audit, backup, demo, recordings, rehearse, restore, serve

#: sub-command name -> (module of web.commands, one-line help in English)
COMMANDS: dict[str, tuple[ModuleType, str]] = {
    "demo": (demo, "start the embedded demo (no Redis, demo council, accounts printed)"),
    "serve": (serve, "serve an installation from its seance.toml (--check: validate only)"),
    "rehearse": (rehearse, "play a complete scripted sitting of the demo council in-process"),
    "audit": (audit, "verify a sitting's journal offline"),
    "recordings": (recordings, "apply the retention period to recordings (purge [--dry-run])"),
    "backup": (backup, "write a consistent archive of the installation's data (--config, --out)"),
    "restore": (restore, "restore an archive of seance backup into an empty data dir"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seance",
        description="Séance: council sittings by visioconference.",
        formatter_class=argparse.RawDescriptionHelpFormatter,  # --version on one line
    )
    parser.add_argument("--version", action="version", version=version.describe())
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module, help_text) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_text)
        module.add_arguments(sp)
        sp.set_defaults(command_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    os.umask(PRIVATE_UMASK)  # nothing written is open to other accounts (signaling.datadir, issue 12.11)
    return int(args.command_run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
