"""``seance backup --config FILE --out ARCHIVE``: a consistent copy of the installation.

Everything a council needs to start again on a new server (web/backup.py): the databases
(SQLite online backup), the keys (council signing key, recording key, session and CSRF
keys), the journals cut at their last complete batch and verified, the recordings, the
sobriety figures, and ``seance.toml`` with its TURN secret file for reference. It runs
while Séance serves. ``--out -`` writes the tar to standard output (to pipe it to
``gpg --symmetric`` or ``ssh``); a file is created mode 0600 and never overwritten.

Exit 0; 1 when the archive was written but something needs the DSI's eye (a journal that
does not verify, a file Séance does not know: listed); 2 when nothing could be written.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

from web.backup import BackupError, backup
from web.config_file import ConfigError, load


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, required=True, help="the installation's seance.toml")
    parser.add_argument(
        "--out", required=True, metavar="ARCHIVE", help="archive to create (.tar, .tar.gz), or - for standard output"
    )


def config_files(path: Path) -> tuple[Path, ...]:
    """seance.toml and the TURN secret file it names."""
    files = [path]
    secret = tomllib.loads(path.read_text("utf-8")).get("turn", {}).get("shared_secret_file")
    if isinstance(secret, str):
        secret_path = Path(secret) if Path(secret).is_absolute() else path.resolve().parent / secret
        if secret_path.is_file():
            files.append(secret_path)
    return tuple(files)


def unusable(command: str, err: ConfigError | BackupError) -> int:
    """Say why nothing was done (exit 2)."""
    print(err.render() if isinstance(err, ConfigError) else f"{command} : {err}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    def say(text: str) -> None:
        print(text, file=sys.stderr if args.out == "-" else sys.stdout)

    try:
        config = load(args.config)
        out = sys.stdout.buffer if args.out == "-" else Path(args.out)
        manifest = backup(config.web.data_dir, out, config_files(args.config), say=say)
    except (ConfigError, BackupError) as err:
        return unusable("seance backup", err)
    kinds: dict[str, int] = {}
    for f in manifest.files:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    size = sum(f.size for f in manifest.files)
    say(
        f"sauvegarde {args.out} : {len(manifest.files)} fichiers ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}), "
        f"{size / 1e6:.1f} Mo, version {manifest.version}"
    )
    for problem in manifest.problems:
        say(f"  à vérifier : {problem}")
    return 1 if manifest.problems else 0
