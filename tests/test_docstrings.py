"""The public API carries numpydoc docstrings, and their examples run.

For every module of the documented packages (``DOCUMENTED``, paths under ``src/greenstream``):

- each public function, class and method (a name without a leading underscore, in a module
  whose path has no leading underscore) has a docstring;
- each such function or method that takes parameters (other than ``self`` / ``cls``) has a
  numpydoc ``Parameters`` section that names every parameter;
- each parameter annotated as a ``float`` states its unit, in its name (``mass_kg``,
  ``intensity_wtw_kg_per_tkm``) or in its description (``kg``, ``fraction``, ...);
- the ``Examples`` of the docstrings run as doctests (``doctest`` with ELLIPSIS and
  NORMALIZE_WHITESPACE), one test per module; ``pytest --doctest-modules src/greenstream/geo``
  runs the same examples with the same flags (``doctest_optionflags`` in pyproject.toml).

Typer commands (``cli.py`` and ``*_cli.py`` modules) are exempt from the ``Parameters`` section:
their docstring is the command's ``--help`` text and each option carries its own help.

``python tests/test_docstrings.py`` prints, for the whole of ``src/greenstream``, the number of
public definitions and how many have no docstring.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "greenstream"

# Packages and modules whose public API is documented to the numpydoc standard above.
DOCUMENTED: tuple[str, ...] = (
    "accounting/__init__.py",
    "accounting/exact_sum.py",
    "accounting/kernel.py",
    # api without routes/ (the routes are documented by the OpenAPI document)
    "api/__init__.py",
    "api/app.py",
    "api/auth.py",
    "api/cancel.py",
    "api/cli.py",
    "api/demo.py",
    "api/deps.py",
    "api/errors.py",
    "api/hygiene.py",
    "api/jobs.py",
    "api/main.py",
    "api/oidc.py",
    "api/ratelimit.py",
    "api/responses.py",
    "api/schemas.py",
    "api/scopes.py",
    "api/sessions.py",
    "api/settings.py",
    "api/users.py",
    "api/users_cli.py",
    "audit",
    "factors",
    "geo",
    "io",
    "levers/energy",
    "levers/forecast",
    "levers/packaging",
    "levers/placement",
    "levers/reductions",
    "levers/routing",
    "monitoring",
    "points",
    "reports",
    "scale",
    "seal",
    "services",
    # store without migrations/ (Alembic scripts: run by Alembic, not imported as modules)
    "store/__init__.py",
    "store/admin_log.py",
    "store/chunks.py",
    "store/client_check.py",
    "store/dashboard.py",
    "store/db.py",
    "store/ids.py",
    "store/models.py",
    "store/parquet.py",
    "store/pgcopy.py",
    "store/queries.py",
    "store/rollups.py",
    "store/sealing.py",
    "store/tenants.py",
    "store/types.py",
    "synth",
    "timeutil.py",
    "checks.py",
    "errors.py",
    "pipeline.py",
    "settings.py",
)

_SECTION = re.compile(r"^(\w[\w ]*)\n-{3,}$", re.MULTILINE)
_PARAM_LINE = re.compile(r"^(\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*)\s*(?::.*)?$")
_UNIT_NAME = re.compile(
    r"(_per_|_(kg|g|t|km|m|mm|cm|m2|m3|l|tkm|kwh|mwh|kw|kwp|mj|s|ms|h|hours|days|years|"
    r"pct|percent|share|fraction|ratio|factor|eur|usd|cny|gbp|deg|c)$)",
    re.IGNORECASE,
)
_UNIT_TEXT = re.compile(
    r"(\bkg\b|\bg\b|\bt\b|\bkm\b|\bm\b|\bmm\b|\bm2\b|\bm3\b|\btkm\b|\bkWh\b|\bMWh\b|\bkW\b|"
    r"\bkWp\b|\bMJ\b|\bl\b|\blitres?\b|\bseconds?\b|\bs\b|\bms\b|\bhours?\b|\bdays?\b|"
    r"\byears?\b|\bdegrees?\b|°|%|\bper\b|\bfraction\b|\bratio\b|\bshare\b|\bdimensionless\b|"
    r"\bcount\b|\bEUR\b|\bUSD\b|\bCNY\b|\bGBP\b|\bunitless\b|\bscore\b|\bpoints\b)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Definition:
    """A public function, method or class found in the source."""

    where: str
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
    is_cli: bool


def _public_module(relative: Path) -> bool:
    return not any(p.startswith("_") and p != "__init__.py" for p in relative.parts)


def _module_paths(scope: tuple[str, ...] | None) -> list[Path]:
    paths = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC)
        if not _public_module(relative):
            continue
        if scope is None or any(
            relative.as_posix() == s or relative.as_posix().startswith(s.rstrip("/") + "/")
            for s in scope
        ):
            paths.append(path)
    return paths


def _definitions(path: Path) -> list[Definition]:
    relative = path.relative_to(SRC).as_posix()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[Definition] = []
    is_cli = path.name == "cli.py" or path.name.endswith("_cli.py")
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name.startswith("_") or _is_overload(node):
                continue
            found.append(Definition(f"{relative}:{node.name}", node, is_cli))
            if isinstance(node, ast.ClassDef):
                for member in node.body:
                    if (
                        isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef)
                        and not member.name.startswith("_")
                        and not _is_overload(member)
                        and not _is_setter(member)
                    ):
                        where = f"{relative}:{node.name}.{member.name}"
                        found.append(Definition(where, member, is_cli))
    return found


def _decorator_names(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> set[str]:
    return {ast.unparse(d).split("(")[0] for d in node.decorator_list}


def _is_overload(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> bool:
    return bool(_decorator_names(node) & {"overload", "typing.overload"})


def _is_setter(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(name.endswith((".setter", ".deleter")) for name in _decorator_names(node))


def _parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.arg]:
    a = node.args
    named = [*a.posonlyargs, *a.args, *a.kwonlyargs]
    if a.vararg is not None:
        named.append(a.vararg)
    if a.kwarg is not None:
        named.append(a.kwarg)
    return [p for p in named if p.arg not in ("self", "cls")]


def _sections(doc: str) -> dict[str, str]:
    marks = list(_SECTION.finditer(doc))
    out: dict[str, str] = {}
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(doc)
        out[mark.group(1).strip()] = doc[mark.end() : end]
    return out


def _documented_parameters(section: str) -> dict[str, str]:
    """Parameter name -> its description text (the header line and the indented lines)."""
    out: dict[str, str] = {}
    current: list[str] = []
    for line in section.splitlines():
        if not line.strip():
            continue
        if not line.startswith((" ", "\t")):
            match = _PARAM_LINE.match(line.strip())
            current = []
            if match:
                for name in match.group(1).split(","):
                    out[name.strip().lstrip("*")] = ""
                    current.append(name.strip().lstrip("*"))
            for name in current:
                out[name] += line + "\n"
        else:
            for name in current:
                out[name] += line + "\n"
    return out


def problems(definition: Definition) -> list[str]:
    """What the docstring of one definition lacks (empty when it meets the standard)."""
    node = definition.node
    doc = ast.get_docstring(node)
    if doc is None:
        return [f"{definition.where}: no docstring"]
    if isinstance(node, ast.ClassDef) or definition.is_cli:
        return []
    params = _parameters(node)
    if not params:
        return []
    section = _sections(doc).get("Parameters")
    if section is None:
        return [f"{definition.where}: no Parameters section"]
    documented = _documented_parameters(section)
    out = []
    for p in params:
        if p.arg not in documented:
            out.append(f"{definition.where}: parameter {p.arg!r} not in Parameters")
            continue
        annotation = ast.unparse(p.annotation) if p.annotation is not None else ""
        if (
            re.search(r"\bfloat\b", annotation)
            and not _UNIT_NAME.search(p.arg)
            and not _UNIT_TEXT.search(documented[p.arg])
        ):
            out.append(f"{definition.where}: parameter {p.arg!r} (float) states no unit")
    return out


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


DOCUMENTED_PATHS = _module_paths(DOCUMENTED)


@pytest.mark.parametrize("path", DOCUMENTED_PATHS, ids=lambda p: p.relative_to(SRC).as_posix())
def test_public_api_has_numpydoc_docstrings(path: Path) -> None:
    found = [msg for d in _definitions(path) for msg in problems(d)]
    assert not found, "\n".join(found)


# the settings that name where local state and caches live (greenstream/settings.py,
# store/db.py, monitoring/store_paths.py, monitoring/landmask.py): each example runs with them
# pointing into a fresh folder of its own, so it never reads or writes the user's data (the
# default store under GREENSTREAM_HOME is shared by every installation of the user)
LOCATION_SETTINGS: dict[str, str | None] = {
    "GREENSTREAM_HOME": "home",
    "GREENSTREAM_CACHE": "cache",
    "XDG_CACHE_HOME": "xdg-cache",
    # unset: the defaults under GREENSTREAM_HOME (the SQLite store and the telemetry archive
    # next to it)
    "GREENSTREAM_DATABASE_URL": None,
    "GREENSTREAM_TELEMETRY_ARCHIVE": None,
}


@pytest.fixture
def fresh_locations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every location setting pointing into ``tmp_path`` (or unset, so its default is there)."""
    for name, folder in LOCATION_SETTINGS.items():
        if folder is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, str(tmp_path / folder))
    return tmp_path


def test_locations_are_fresh(fresh_locations: Path) -> None:
    """The defaults of the settings resolve inside the test's folder."""
    from greenstream.monitoring.landmask import cache_dir
    from greenstream.monitoring.store_paths import default_archive_dir
    from greenstream.settings import home_dir
    from greenstream.store.db import database_url

    assert home_dir() == fresh_locations / "home"
    assert database_url().startswith(f"sqlite:///{fresh_locations / 'home'}")
    assert default_archive_dir(None).is_relative_to(fresh_locations / "home")
    assert cache_dir() == fresh_locations / "cache"


@pytest.mark.parametrize("path", DOCUMENTED_PATHS, ids=lambda p: p.relative_to(SRC).as_posix())
@pytest.mark.usefixtures("fresh_locations")
def test_docstring_examples_run(path: Path) -> None:
    module = importlib.import_module(_module_name(path))
    finder = doctest.DocTestFinder(exclude_empty=True)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    failures = []
    for test in finder.find(module, module.__name__):
        if not test.examples:
            continue
        output: list[str] = []
        runner = doctest.DocTestRunner(optionflags=flags)
        result = runner.run(test, out=output.append, clear_globs=True)
        if result.failed:
            failures.append("".join(output))
    assert not failures, "\n".join(failures)


def test_checker_finds_what_is_missing() -> None:
    """The checker itself: a function without Parameters, or with a float without a unit."""
    source = (
        "def ok(mass_kg: float, share: float) -> float:\n"
        '    """Do.\n\n    Parameters\n    ----------\n    mass_kg : float\n        Mass.\n'
        '    share : float\n        Share of the load, fraction 0-1.\n    """\n'
        "def bare(x: float) -> float:\n"
        '    """Do."""\n'
        "def unitless(x: float) -> float:\n"
        '    """Do.\n\n    Parameters\n    ----------\n    x : float\n        A number.\n    """\n'
        "def undocumented(x: int) -> int:\n    return x\n"
    )
    nodes = [n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]
    found = {n.name: problems(Definition(n.name, n, False)) for n in nodes}
    assert found == {
        "ok": [],
        "bare": ["bare: no Parameters section"],
        "unitless": ["unitless: parameter 'x' (float) states no unit"],
        "undocumented": ["undocumented: no docstring"],
    }


def count(scope: tuple[str, ...] | None = None) -> tuple[int, int]:
    """Public definitions under ``scope`` (all of src when None) and those without docstring."""
    definitions = [d for path in _module_paths(scope) for d in _definitions(path)]
    missing = [d for d in definitions if ast.get_docstring(d.node) is None]
    return len(definitions), len(missing)


if __name__ == "__main__":
    total, missing = count(tuple(sys.argv[1:]) or None)
    print(f"public definitions: {total}; without a docstring: {missing}")
