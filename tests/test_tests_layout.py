"""The tests are a package tree (issue 14 point 8): helpers are imported as
``tests.<folder>.<module>``, no test module imports another, nothing touches ``sys.path``.

A test module importing another drags that module's tests and fixtures along and cannot
move alone; a ``sys.path`` insert makes a folder's files importable by bare name, which
is how they were shared before. Every folder of tests is a package, so pytest's default
(prepend) mode puts the repository root on ``sys.path``, not each folder.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


def _ours(dotted: str, bare: set[str]) -> list[str]:
    """What is wrong with importing the module ``dotted`` from a test (nothing for modules not ours)."""
    top = dotted.split(".")[0]
    if top != "tests" and top not in bare:
        return []  # the project's packages, the standard library, third parties (aiohttp.test_utils)
    wrong = [] if top == "tests" else [f"imports {dotted} by bare name, not as tests.…"]
    if any(part.startswith("test_") for part in dotted.split(".")):
        wrong.append(f"imports the test module {dotted}")
    return wrong


def bare_helper_names(tests: Path, repo: Path) -> set[str]:
    """Names a file under ``tests`` would be imported by if its folder were on sys.path,
    less the repository's own top-level modules (``sfu`` is both)."""
    names = {p.stem for p in tests.rglob("*.py")} | {p.name for p in tests.rglob("*") if p.is_dir()}
    return {n for n in names if not (repo / n).is_dir() and not (repo / f"{n}.py").exists()} - {"__init__"}


def problems(source: str, where: str, bare: set[str]) -> list[str]:
    """What this file does against the rule, one line each."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"{where}:{node.lineno}: {w}" for alias in node.names for w in _ours(alias.name, bare)]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                found.append(f"{where}:{node.lineno}: relative import (write tests.<folder>.<module>)")
            found += [f"{where}:{node.lineno}: {w}" for w in _ours(module, bare)]
            if module.split(".")[0] == "tests":
                found += [
                    f"{where}:{node.lineno}: imports the test module {module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("test_")
                ]
            if module == "sys" and any(a.name == "path" for a in node.names):
                found.append(f"{where}:{node.lineno}: imports sys.path")
        elif isinstance(node, ast.Attribute) and node.attr == "path":
            if isinstance(node.value, ast.Name) and node.value.id == "sys":
                found.append(f"{where}:{node.lineno}: touches sys.path")
    return found


def test_no_test_module_is_imported_and_sys_path_is_left_alone() -> None:
    bare = bare_helper_names(TESTS, REPO)
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        found += problems(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)), bare)
    assert not found, "\n".join(found)


def test_every_folder_of_tests_is_a_package() -> None:
    """A folder without __init__.py is put on sys.path by pytest: its files become
    importable by bare name again, and two files of the same name collide."""
    folders = {p.parent for p in TESTS.rglob("*.py")}
    missing = sorted(str(f.relative_to(REPO)) for f in folders if not (f / "__init__.py").exists())
    assert not missing, f"folders of tests without __init__.py: {missing}"


def test_the_check_catches_each_way_of_sharing_through_the_path(tmp_path: Path) -> None:
    """The rule above, on sources that break it: each is reported, the clean one is not."""
    (tmp_path / "tests" / "sfu").mkdir(parents=True)
    (tmp_path / "tests" / "sfu" / "sfu_clients.py").write_text("")
    (tmp_path / "tests" / "sfu" / "test_sitting_ws.py").write_text("")
    (tmp_path / "sfu").mkdir()
    bare = bare_helper_names(tmp_path / "tests", tmp_path)
    assert bare == {"sfu_clients", "test_sitting_ws"}  # not sfu: the repository has its own
    broken = {
        "from test_sitting_ws import connect": "test module",
        "from tests.signaling.test_sitting_ws import connect": "test module",
        "from tests.signaling import test_hub": "test module",
        "import tests.browser.test_accessibility": "test module",
        "from sfu_clients import Client": "bare name",
        "import sfu_clients": "bare name",
        "from .sitting_ws import connect": "relative import",
        "import sys\nsys.path.insert(0, 'tests/sfu')": "touches sys.path",
        "import sys\nif 'x' not in sys.path: pass": "touches sys.path",
        "from sys import path": "imports sys.path",
    }
    for source, expected in broken.items():
        assert any(expected in p for p in problems(source, "f.py", bare)), source
    clean = "import sys\nfrom aiohttp.test_utils import TestClient\nfrom tests.sfu.sfu_clients import Client\nfrom sfu.router import Router\nsys.exit(0)\n"
    assert problems(clean, "f.py", bare) == []
