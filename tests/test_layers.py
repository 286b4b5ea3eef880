"""The dependency direction of docs/ARCHITECTURE.md, read from the source: every ``import`` of a
greenstream module (at the top of a module or inside a function) is an edge.

- no cycle between packages (``greenstream.<package>``);
- no cycle between the modules of the packages that hold the persistence, sealing, upload and
  exchange code (store, seal, services, audit, io);
- no cycle between the modules of any package through the imports that run when a module is
  imported (its top level, outside ``if TYPE_CHECKING:``; ``from package import submodule`` is an
  edge to the submodule): such a cycle makes the result depend on which module is imported first;
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


def _import_time_imports(path: Path) -> set[str]:
    """The greenstream modules a module imports while it is being imported."""
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If):
                if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                visit(node.orelse)
                visit(node.finalbody)
                for handler in node.handlers:
                    visit(handler.body)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("greenstream"))
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if not node.module.startswith("greenstream"):
                    continue
                submodules = {f"{node.module}.{a.name}" for a in node.names} & MODULES.keys()
                found.update(submodules)
                if len(submodules) < len(node.names):  # names defined in the module itself
                    found.add(node.module)

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return found


IMPORT_TIME_EDGES: dict[str, set[str]] = {
    m: {t for t in _import_time_imports(p) if t in MODULES and t != m} for m, p in MODULES.items()
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


def test_the_import_time_graph_is_read() -> None:
    # a submodule imported from its package is an edge to the submodule only
    view = IMPORT_TIME_EDGES["greenstream.reports.render.view"]
    assert "greenstream.reports.render.fmt" in view
    assert "greenstream.reports.render" not in view
    # an import under TYPE_CHECKING does not run
    assert (
        "greenstream.monitoring.ingest.identity"
        in MODULE_EDGES["greenstream.monitoring.ingest.decode"]
    )
    assert (
        "greenstream.monitoring.ingest.identity"
        not in IMPORT_TIME_EDGES["greenstream.monitoring.ingest.decode"]
    )


PACKAGES = sorted({_package(m) for m in MODULES} - {"greenstream"})


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_time_cycle_inside_a_package(package: str) -> None:
    inside = {
        m: {t for t in targets if _package(t) == package}
        for m, targets in IMPORT_TIME_EDGES.items()
        if _package(m) == package
    }
    assert _cycles(inside) == []


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
