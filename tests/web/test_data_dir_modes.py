"""Issue 12 point 11: the data directory's files were world-readable in the demo (the
accounts' password hashes, the council's addresses, the journals). The ``seance`` command
now creates nothing open to the machine's other accounts, whatever the umask it is started
with, and every start takes those rights from what an earlier version left open (a
warning names them)."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from signaling import datadir
from signaling.accounts import AccountStore
from signaling.council_store import CouncilStore
from tests.reliability.reliability_support import Server, wait_ready_sync
from tests.signaling.fake_router import fake_router_factory
from web.app import create_app
from web.commands.demo import demo_sitting, seed_demo
from web.config import WebConfig


def open_to_others(root: Path) -> list[str]:
    """Every path under ``root`` (itself included) with a right for other accounts."""
    paths = [root, *root.rglob("*")]
    return sorted(str(p.relative_to(root)) for p in paths if not p.is_symlink() and p.stat().st_mode & stat.S_IRWXO)


def test_the_demo_server_creates_nothing_open_to_other_accounts(tmp_path):
    previous = os.umask(0o022)  # a user's usual umask, which the child inherits
    try:
        server = Server(tmp_path / "data")
        server.start()
    finally:
        os.umask(previous)
    try:
        wait_ready_sync(server, timeout=60.0)
    finally:
        server.stop()
        server.proc.wait(timeout=30)
    created = {str(p.relative_to(server.data_dir)) for p in server.data_dir.rglob("*")}
    assert {"accounts.sqlite3", "council.sqlite3", "sittings/demo/journal.jsonl", "keys/council-ed25519.pem"} <= created
    assert open_to_others(server.data_dir) == []


def test_a_start_takes_from_other_accounts_what_an_earlier_version_left_open(tmp_path, caplog):
    seed_demo(tmp_path)
    AccountStore.in_data_dir(tmp_path).close()
    leaked = [tmp_path, tmp_path / "accounts.sqlite3", tmp_path / "council.sqlite3"]
    for path in leaked:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    assert open_to_others(tmp_path)
    with caplog.at_level(logging.WARNING):
        # kept until the checks: collected mid-walk, the app's closing stores would remove their -wal files
        app = create_app(
            WebConfig(tls=False, data_dir=tmp_path, sittings=(demo_sitting(),)), router_factory=fake_router_factory
        )
    assert open_to_others(tmp_path) == []
    assert stat.S_IMODE((tmp_path / "accounts.sqlite3").stat().st_mode) == 0o640  # owner and group keep theirs
    warning = next(r.getMessage() for r in caplog.records if "répertoire des données" in r.getMessage())
    assert "accounts.sqlite3" in warning and "o-rwx" in warning
    del app


def test_the_stores_and_the_journal_are_created_private_whatever_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        CouncilStore.in_data_dir(tmp_path / "d").close()
        AccountStore.in_data_dir(tmp_path / "d").close()
        datadir.private_file(datadir.DataDir.of(tmp_path / "d").journal("demo"))
    finally:
        os.umask(previous)
    root = tmp_path / "d"
    assert open_to_others(root) == []
    assert stat.S_IMODE((root / "sittings" / "demo").stat().st_mode) == datadir.DIR_MODE


def test_what_is_seances_in_the_data_dir(tmp_path):
    """A start refuses only for Séance's own files it cannot close; a file the layout does
    not name (an operator's note) is left and reported."""
    layout = datadir.DataDir.of(tmp_path)
    ours = [
        tmp_path,
        layout.accounts_db,
        layout.accounts_db.with_name("accounts.sqlite3-wal"),
        layout.keys,
        layout.council_key,
        layout.sittings,
        layout.sitting("demo"),
        layout.journal("demo"),
        layout.recordings_of("demo"),
    ]
    assert all(layout.names(p) for p in ours)
    assert not any(layout.names(tmp_path / p) for p in ("LISEZMOI.txt", "keys/autre.pem", "sittings/demo/notes.txt"))
