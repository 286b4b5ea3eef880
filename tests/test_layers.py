"""The dependency direction of docs/ARCHITECTURE.md, read from the source: every ``import`` of a
greenstream module (at the top of a module or inside a function) is an edge.

- no cycle between packages (``greenstream.<package>``);
- no cycle between the modules of the packages that hold the persistence, sealing, upload and
  exchange code (store, seal, services, audit, io);
- ``seal`` imports no other greenstream package; ``store`` imports nothing from ``audit``,
  ``services`` or the entry points; ``io`` nothing from ``store``, ``services`` or ``api``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "greenstream"


def _module_files() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _module_files()


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("greenstream")}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if not node.module.startswith("greenstream"):
                continue
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names} & MODULES.keys()
    return found


MODULE_EDGES: dict[str, set[str]] = {
    m: {t for t in _imports(p) if t in MODULES and t != m} for m, p in MODULES.items()
}


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "greenstream"


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return out


def _package_edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for m, targets in MODULE_EDGES.items():
        a = _package(m)
        # the root package re-exports the public API; it is the top, not a layer
        if a == "greenstream":
            continue
        edges.setdefault(a, set()).update(
            b for b in map(_package, targets) if b not in (a, "greenstream")
        )
    return edges


def _imported_packages(package: str) -> dict[str, list[str]]:
    """package imported -> the modules of ``package`` that import it."""
    out: dict[str, list[str]] = {}
    for m, targets in MODULE_EDGES.items():
        if _package(m) != package:
            continue
        for t in targets:
            if _package(t) != package:
                out.setdefault(_package(t), []).append(f"{m} -> {t}")
    return out


def test_the_graph_is_read() -> None:
    # the reader must see the edges this test is about, or every check below passes vacuously
    assert "greenstream.seal.chain" in MODULE_EDGES["greenstream.services.upload"]
    assert "greenstream.store.sealing" in MODULE_EDGES["greenstream.audit.verify"]


def test_no_cycle_between_packages() -> None:
    assert _cycles(_package_edges()) == []


@pytest.mark.parametrize("package", ["store", "seal", "services", "audit", "io"])
def test_no_cycle_between_modules(package: str) -> None:
    inside = {
        m: {t for t in targets if _package(t) == package}
        for m, targets in MODULE_EDGES.items()
        if _package(m) == package
    }
    assert _cycles(inside) == []


def _forbidden(package: str, banned: Iterable[str]) -> list[str]:
    imported = _imported_packages(package)
    return [edge for b in banned for edge in imported.get(b, [])]


def test_seal_is_the_bottom_layer() -> None:
    assert _imported_packages("seal") == {}


def test_store_is_below_audit_services_and_entry_points() -> None:
    assert _forbidden("store", ["audit", "services", "api", "cli", "levers", "reports"]) == []


def test_io_is_below_store_and_services() -> None:
    assert _forbidden("io", ["store", "services", "audit", "api", "cli"]) == []
