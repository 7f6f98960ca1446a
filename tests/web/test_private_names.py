"""No module reaches into another object's underscored attributes (DESIGN.md style,
issue 14 point 3), and none rebinds another library's names (issue 11 point 8), checked
on the source with ``ast``.

An attribute whose name starts with one underscore, read or written on anything but
``self``, ``cls`` or ``super()``, is a private name of someone else. What remains is
listed here by file and name, so that the list can only shrink: only
``sfu/library_surface.py``, with the five private names of ``aioice.Connection`` the
transport Séance owns needs (issue 11 point 8: one module, checked by ``check_surface()``
against the exact versions pinned). The benchmark's load generator is built on that
transport (``bench/salle_transport.py``) and has none of its own.

A name on the list that a file no longer uses fails the test too: the list is kept true.

The transport Séance owns (``sfu/transport/``) uses none of them itself: it calls two
functions of the surface module, whose five aioice private names are listed in
``OWNED_TRANSPORT_NAMES``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("deliberation", "signaling", "sfu", "web", "bench")

#: the one module of the server that may touch other libraries' private names
LIBRARY_SURFACE = "sfu/library_surface.py"

#: file -> the private names it still uses on other objects
REMAINING: dict[str, set[str]] = {
    LIBRARY_SURFACE: {
        "_local_candidates_start",
        "_local_candidates",
        "_local_candidates_end",
        "_components",
        "_nominated",
    },
}
#: private by name only: documented public API of the standard library
STDLIB_PUBLIC = {"_exit", "_asdict", "_replace", "_fields"}


def _class_names(cls: ast.ClassDef) -> set[str]:
    """The names a class defines: its methods and attributes, and what it assigns on ``self``."""
    names: set[str] = set()
    for node in ast.walk(cls):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            names.add(node.attr)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def private_uses(path: Path) -> set[str]:
    """The underscored attribute names ``path`` uses on objects other than its own (a
    class's code may use its own private names on another instance, e.g. a classmethod
    building one)."""
    out: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    own: dict[int, set[str]] = {}  # id(attribute node) -> names of its enclosing class
    for cls in ast.walk(tree):
        if isinstance(cls, ast.ClassDef):
            names = _class_names(cls)
            for node in ast.walk(cls):
                if isinstance(node, ast.Attribute):
                    own.setdefault(id(node), set()).update(names)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        name = node.attr
        if name in own.get(id(node), ()):
            continue
        if not name.startswith("_") or (name.startswith("__") and name.endswith("__")) or name in STDLIB_PUBLIC:
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            continue
        if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super":
            continue
        out.add(name)
    return out


def sources() -> dict[str, Path]:
    return {
        str(path.relative_to(ROOT)): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if ".venv" not in path.parts
    }


def test_no_module_reaches_into_another_objects_private_names() -> None:
    found = {rel: private_uses(path) for rel, path in sources().items()}
    unexpected = {
        rel: sorted(names - REMAINING.get(rel, set()))
        for rel, names in found.items()
        if names - REMAINING.get(rel, set())
    }
    assert unexpected == {}, "give the owner a public method instead of reaching into its private names"


def test_the_list_of_remaining_private_names_is_true() -> None:
    found = {rel: private_uses(path) for rel, path in sources().items()}
    stale = {
        rel: sorted(names - found.get(rel, set())) for rel, names in REMAINING.items() if names - found.get(rel, set())
    }
    assert stale == {}, "a name no longer used: take it off REMAINING"


def test_the_check_sees_a_reach_into_a_private_name(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "class A:\n"
        "    def f(self, other):\n"
        "        self._mine = 1\n"
        "        super()._parent()\n"
        "        other._theirs = 2\n"
        "        return other.__class__, other._asdict()\n"
        "    @classmethod\n"
        "    def build(cls, other):\n"
        "        a = cls()\n"
        "        a._mine = other._size\n"
        "        return a\n"
    )
    assert private_uses(sample) == {"_theirs", "_size"}


#: what sfu/transport/ takes from the surface module, and the private names those use
OWNED_TRANSPORT_CALLS = {"gather_on_addresses", "nominated_socket", "SendBufferFull", "SEND_BUFFER_LIMIT"}
OWNED_TRANSPORT_NAMES = {
    "_local_candidates_start",
    "_local_candidates",
    "_local_candidates_end",
    "_components",
    "_nominated",
}


def test_the_owned_transport_needs_five_private_names_of_aioice_and_no_more() -> None:
    calls: set[str] = set()
    for path in sorted((ROOT / "sfu" / "transport").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assert private_uses(path) == set(), path
        calls |= {
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "library_surface"
        }
    assert calls == OWNED_TRANSPORT_CALLS
    surface = ast.parse((ROOT / LIBRARY_SURFACE).read_text(encoding="utf-8"))
    used: set[str] = set()
    for node in surface.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in OWNED_TRANSPORT_CALLS:
            used |= {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute) and n.attr.startswith("_")}
    assert used == OWNED_TRANSPORT_NAMES


#: the first-party packages (what they rebind of each other is not another library's)
FIRST_PARTY = {"deliberation", "signaling", "sfu", "web", "bench", "tests"}
#: file -> what it still rebinds of another library (may only shrink): two benchmark
#: helpers whose aiortc clients (the cascade measurement's kiosks, the MediaRelay
#: baseline server) gather on the benchmark's own addresses (127.0.0.1, which aioice
#: leaves out), in their own processes (aiortc's RTCPeerConnection takes no address
#: list). The server and the synthetic salles rebind nothing.
REBINDING: dict[str, set[str]] = {
    "bench/cascade_cpu.py": {"aioice.ice.get_host_addresses"},
    "bench/mediarelay_server.py": {"aioice.ice.get_host_addresses"},
}


def rebinds(path: Path) -> set[str]:
    """What ``path`` assigns on a module or object it imported from another library
    (``aioice.ice.StunProtocol = ...``, ``setattr(pc_module, ...)``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {
                a.asname or a.name.split(".")[0] for a in node.names if a.name.split(".")[0] not in FIRST_PARTY
            }
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] not in FIRST_PARTY:
                imported |= {a.asname or a.name for a in node.names}

    def root(node: ast.expr) -> ast.expr:
        while isinstance(node, ast.Attribute):
            node = node.value
        return node

    out: set[str] = set()
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = [t for t in node.targets if isinstance(t, ast.Attribute)]
        elif isinstance(node, ast.AugAssign | ast.AnnAssign) and isinstance(node.target, ast.Attribute):
            targets = [node.target]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr"):
            targets = node.args[:1]
        for target in targets:
            base = root(target)
            if isinstance(base, ast.Name) and base.id in imported:
                out.add(ast.unparse(target))
    return out


def test_nothing_rebinds_another_librarys_names() -> None:
    found = {rel: rebinds(path) for rel, path in sources().items()}
    found = {rel: names for rel, names in found.items() if names}
    assert found == REBINDING, "subclass or wrap it where it is used instead of rebinding it for everyone"


def test_the_check_sees_a_rebinding(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import aioice.ice\n"
        "import aiortc.rtcpeerconnection as pc\n"
        "from aiortc import rtcrtpreceiver\n"
        "from sfu import library_surface\n"
        "aioice.ice.StunProtocol = object\n"
        "pc.RTCRtpSender = object\n"
        "setattr(rtcrtpreceiver, 'get_decoder', None)\n"
        "library_surface.PINNED = {}\n"
        "pc = None\n"
    )
    assert rebinds(sample) == {"aioice.ice.StunProtocol", "pc.RTCRtpSender", "rtcrtpreceiver"}
