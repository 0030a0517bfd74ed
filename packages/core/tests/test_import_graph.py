"""The module-level import graph of every package under ``packages/*/src/pyro`` has no
cycle.

A static walk of the sources (no import is executed): an edge ``a -> b`` is a module-level
``import`` / ``from ... import`` in ``a`` of the project module ``b`` (``from pkg import
name`` is an edge to ``pkg.name`` when that is a module, else to ``pkg``). Imports inside
functions and ``if TYPE_CHECKING:`` blocks are deferred and do not count; the implicit
import of a module's parent packages does not count either (every package ``__init__``
imports its own submodules, which is no cycle). A second test also counts function-level
imports, which hide a cycle instead of removing it.
"""
from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGES = Path(__file__).resolve().parents[2]


@functools.cache
def _modules() -> dict[str, Path]:
    found = {}
    for src in sorted(PACKAGES.glob("*/src")):
        for path in sorted(src.rglob("*.py")):
            parts = list(path.relative_to(src).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _top_level_imports(tree: ast.Module):
    """Import statements that run when the module is imported."""
    pending = list(tree.body)
    while pending:
        node = pending.pop(0)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node):
                pending.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            pending.extend(node.body + node.orelse + node.finalbody)
            for handler in node.handlers:
                pending.extend(handler.body)
        elif isinstance(node, ast.With):
            pending.extend(node.body)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base.pop()
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


@functools.cache
def import_graph(deferred: bool = False) -> dict[str, set[str]]:
    """``module -> modules it imports``; with ``deferred``, imports inside functions and
    ``TYPE_CHECKING`` blocks count too."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(), filename=str(path))
        nodes = (
            [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
            if deferred else _top_level_imports(tree)
        )
        for node in nodes:
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = _resolve(name, is_package, node)
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            for target in targets:
                # `import a.b.c` binds `a` but executes a.b.c: the edge is to the deepest
                # project module named
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_relative_imports_resolve_to_modules():
    graph = import_graph()
    assert "pyro.poutine.messenger" in graph["pyro.poutine.trace_messenger"]
    assert "pyro.poutine.runtime" in graph["pyro.primitives"]


PACKAGE_NAMES = sorted(p.parent.name for p in PACKAGES.glob("*/src"))

#: Deferred (function-level) imports known to close a cycle, each with its reason.
DEFERRED_CYCLES_ALLOWED = [
    # The flow helpers of pyro.distributions.transforms (``affine_autoregressive(input_dim)``
    # ...) build the networks of pyro.nn, which itself subclasses those transforms; pyro-nn
    # depends on pyro-distributions, so the helpers import pyro.nn when called.
    {"pyro.distributions.transforms", "pyro.nn"},
]


def _cycles_of(package: str, graph: dict[str, set[str]]) -> list[list[str]]:
    src = PACKAGES / package / "src"
    mine = {name for name, path in _modules().items() if src in path.parents}
    return [c for c in cycles(graph) if mine & set(c)]


@pytest.mark.parametrize("package", PACKAGE_NAMES)
def test_no_import_cycle(package):
    found = _cycles_of(package, import_graph())
    assert not found, "import cycles (move the shared piece into its own module): " + "; ".join(
        " <-> ".join(c) for c in found)


@pytest.mark.parametrize("package", PACKAGE_NAMES)
def test_no_cycle_hidden_in_a_deferred_import(package):
    found = [
        c for c in _cycles_of(package, import_graph(deferred=True))
        if not any(allowed <= set(c) for allowed in DEFERRED_CYCLES_ALLOWED)
    ]
    assert not found, "cycles through function-level imports: " + "; ".join(
        " <-> ".join(c) for c in found)
