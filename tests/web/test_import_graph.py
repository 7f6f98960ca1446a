"""The layers of DESIGN.md, checked on the source (issue 14 point 1).

- ``deliberation/`` imports nothing of ours but itself; ``sfu/`` nothing of ours but
  itself; ``signaling/`` only ``deliberation/`` and itself; only ``web/`` joins them.
- No ``web`` module imports another ``web`` module inside a function (the lazy import
  that dodged a cycle with ``web.app``), and none goes through ``importlib``.
- Module-level imports between our files form no cycle: the four packages, the
  benchmark (``bench/``) and the tests' own helpers (``tests/``).

Read with ``ast`` (nothing is imported), so the test sees every file, imported or not.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("deliberation", "signaling", "sfu", "web")
#: every file of ours: the cycle check walks these too
EVERYWHERE = (*PACKAGES, "bench", "tests")
ALLOWED = {
    "deliberation": {"deliberation"},
    "sfu": {"sfu"},
    "signaling": {"signaling", "deliberation"},
    "web": set(PACKAGES),
}


def modules(packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    out = {}
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def _targets(node: ast.AST, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:  # relative: resolved against this module's package
            base = module.split(".")
            base = base if is_package else base[:-1]
            base = base[: len(base) - (node.level - 1)]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        return [prefix] + [f"{prefix}.{a.name}" for a in node.names]
    return []


def _type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def imports(
    path: Path, module: str, ours: tuple[str, ...] = PACKAGES
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(module-level imports, imports inside functions) of our packages, as (target, line)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top: list[tuple[str, int]] = []
    inner: list[tuple[str, int]] = []
    is_package = path.name == "__init__.py"

    def walk(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if _type_checking(child):
                continue  # annotations only: never executed
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            for target in _targets(child, module, is_package):
                if target.split(".")[0] in ours:
                    (inner if in_function else top).append((target, child.lineno))
            walk(child, nested)

    walk(tree, False)
    return top, inner


def test_layers_import_only_what_design_allows() -> None:
    wrong = []
    for module, path in modules().items():
        layer = module.split(".")[0]
        top, inner = imports(path, module)
        for target, line in top + inner:
            if target.split(".")[0] not in ALLOWED[layer]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert wrong == [], "\n".join(wrong)


def test_no_web_module_imports_web_inside_a_function() -> None:
    wrong = []
    for module, path in modules().items():
        if not module.startswith("web"):
            continue
        _top, inner = imports(path, module)
        wrong += [f"{path.relative_to(ROOT)}:{line} imports {t}" for t, line in inner if t.split(".")[0] == "web"]
        if "importlib.import_module" in path.read_text(encoding="utf-8"):
            wrong.append(f"{path.relative_to(ROOT)} uses importlib.import_module")
    assert wrong == [], "\n".join(wrong)


def cycles_in(graph: dict[str, set[str]]) -> list[list[str]]:
    """The cycles a depth-first walk of ``graph`` meets, each as a path back to its start."""
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_module_level_imports_have_no_cycle() -> None:
    known = modules(EVERYWHERE)
    assert "bench.run" in known and "tests.sfu.sfu_clients" in known
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        top, _inner = imports(path, module, EVERYWHERE)
        graph[module] = {t for t, _ in top if t in known and t != module}
    cycles = cycles_in(graph)
    assert cycles == [], "\n".join(" -> ".join(c) for c in cycles)


def test_the_cycle_walk_finds_a_cycle() -> None:
    graph = {"web.a": {"web.b"}, "web.b": {"web.c"}, "web.c": {"web.a"}, "web.d": {"web.a"}}
    assert cycles_in(graph) == [["web.a", "web.b", "web.c", "web.a"]]
    assert cycles_in({"web.a": {"web.b"}, "web.b": set()}) == []


def test_the_checker_sees_a_function_level_import(tmp_path: Path) -> None:
    """The walker itself: a lazy import inside a function is found, one at module level is not."""
    path = tmp_path / "lazy.py"
    path.write_text(
        "from web.appkeys import CONFIG\n\ndef f():\n    from web.app import ROOMS\n    return ROOMS\n",
        encoding="utf-8",
    )
    top, inner = imports(path, "web.lazy")
    assert ("web.appkeys", 1) in top and all(line == 4 for _, line in inner)
    assert {t for t, _ in inner} == {"web.app", "web.app.ROOMS"}
