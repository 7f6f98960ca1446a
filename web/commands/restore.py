"""``seance restore ARCHIVE --config FILE [--owner USER]``: put a backup back.

Into the data dir of ``FILE`` (``server.data_dir``), which must be missing or empty:
nothing is restored over existing data. Every file is checked against the archive's
manifest (SHA-256), written with the modes the service uses and owned by ``--owner``
(default, when run as root: the ``seance`` user of deploy/install.sh), then each
journal is verified again. Stop Séance first; start it after. The configuration saved
in the archive (``seance-backup/etc/``) is not restored: compare it with the new one.

Exit 0; 1 when restored but a journal does not verify; 2 when nothing was restored.
"""

from __future__ import annotations

import argparse
import grp
import os
import pwd
from pathlib import Path

from web.backup import BackupError, restore
from web.commands.backup import unusable
from web.config_file import ConfigError, load

SERVICE_USER = "seance"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("archive", type=Path, metavar="ARCHIVE", help="an archive made by seance backup")
    parser.add_argument("--config", type=Path, required=True, help="the installation's seance.toml (its data_dir)")
    parser.add_argument(
        "--owner",
        default=None,
        metavar="USER[:GROUP]",
        help=f"owner of the restored files (default as root: {SERVICE_USER}; otherwise yourself)",
    )


def owner_ids(spec: str | None) -> tuple[int, int] | None:
    """(uid, gid) of ``USER[:GROUP]``; the service user by default when root; None: unchanged."""
    if spec is None:
        if os.geteuid() != 0:
            return None
        spec = SERVICE_USER
    user, _, group = spec.partition(":")
    try:
        entry = pwd.getpwnam(user)
        gid = grp.getgrnam(group).gr_gid if group else entry.pw_gid
    except KeyError:
        raise BackupError(f"utilisateur ou groupe inconnu : {spec} (--owner)") from None
    return entry.pw_uid, gid


def run(args: argparse.Namespace) -> int:
    try:
        config = load(args.config)
        owner = owner_ids(args.owner)
        manifest, invalid = restore(args.archive, config.web.data_dir, owner)
    except (ConfigError, BackupError) as err:
        return unusable("seance restore", err)
    print(
        f"restauré dans {config.web.data_dir} : {len(manifest.files)} fichiers de la sauvegarde du "
        f"{manifest.created_at} ({manifest.host}, Séance {manifest.version})"
    )
    for problem in manifest.problems:
        print(f"  signalé à la sauvegarde : {problem}")
    return 1 if invalid else 0
