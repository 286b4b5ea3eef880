"""What ``import greenstream`` and the CLI's start-up load, and the CLI without optional extras.

- importing greenstream changes nothing in the process (no environment variable, no allocator);
- every sub-command the CLI lists lazily is the one its module registers;
- with the optional libraries made unimportable (as in ``pip install greenstream`` without
  extras), ``greenstream footprint`` computes the same figures and ``greenstream serve`` says
  which extra to install.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import typer

from greenstream.cli import CONCERN_COMMANDS
from greenstream.errors import EXIT_MISSING_EXTRA
from greenstream.extras import MODULE_EXTRAS

# a core-only install: every library an extra brings cannot be imported
BLOCKER = textwrap.dedent(
    """
    import sys
    BLOCKED = set({blocked!r})

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, Blocker())
    from greenstream.cli import main
    sys.argv[0] = "greenstream"
    main()
    """
).format(blocked=sorted(MODULE_EXTRAS))


def _greenstream(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_import_greenstream_leaves_the_environment_alone() -> None:
    code = (
        "import os, sys, json\n"
        "before = dict(os.environ)\n"
        "import greenstream\n"
        "print(json.dumps({'same': dict(os.environ) == before,"
        " 'polars': 'polars' in sys.modules}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert json.loads(done.stdout) == {"same": True, "polars": False}


def test_version_comes_from_the_package_metadata() -> None:
    import tomllib
    from importlib.metadata import version

    import greenstream

    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    declared = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]
    assert greenstream.__version__ == version("greenstream") == declared


def test_lazy_command_list_matches_what_the_modules_register() -> None:
    registered: dict[str, str] = {}
    for module in dict.fromkeys(CONCERN_COMMANDS.values()):
        sub = typer.Typer()
        importlib.import_module(module).register(sub)
        names = [c.name or c.callback.__name__ for c in sub.registered_commands if c.callback]
        names += [g.name for g in sub.registered_groups if g.name]
        registered |= dict.fromkeys(names, module)
    assert registered == CONCERN_COMMANDS


def test_every_module_that_registers_commands_is_listed() -> None:
    src = Path(__file__).resolve().parents[1] / "src"
    registering = {
        ".".join(path.relative_to(src).with_suffix("").parts)
        for path in (src / "greenstream").rglob("*.py")
        if re.search(r"^def register\(\w+: [\w.]+\)", path.read_text("utf-8"), re.M)
    }
    assert registering == set(CONCERN_COMMANDS.values())


def test_footprint_help_loads_neither_polars_nor_the_extras() -> None:
    code = (
        "import sys\n"
        "from greenstream.cli import app\n"
        "try:\n"
        "    app(['footprint', '--help'], prog_name='greenstream')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ['polars', 'fastapi', 'paho', 'nats', 'highspy', 'scipy', 'numpy']\n"
        "print('loaded:', ','.join(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "--output" in done.stdout
    assert done.stdout.splitlines()[-1] == "loaded: "


def test_footprint_runs_without_the_optional_extras(tmp_path: Path) -> None:
    legs = tmp_path / "legs.csv"
    # 10 t over 500 km by an articulated HGV > 33 t: 5000 tkm x 0.09502 kg/tkm (DESNZ 2025,
    # road.hgv_artic_gt33t, average laden, WTW) = 475.1 kg, as in tests/test_cli.py
    legs.write_text(
        "shipment_id,tce_id,mass_kg,mode,distance_km,vehicle\n"
        "S3,S3-a,10000,road,500,road.hgv_artic_gt33t\n"
    )
    out = tmp_path / "out.csv"
    done = _greenstream("footprint", str(legs), "-o", str(out), "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["co2e_wtw_kg"] == pytest.approx(475.1)
    assert out.exists()


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (["serve"], "service"),
        (["monitor", "totals"], "monitoring"),
        (["route", "Shanghai", "Beijing"], "routing"),
    ],
)
def test_a_command_without_its_extra_names_the_extra(args: list[str], extra: str) -> None:
    done = _greenstream(*args)
    assert done.returncode == EXIT_MISSING_EXTRA, (done.stdout, done.stderr)
    assert f"pip install 'greenstream[{extra}]'" in done.stderr
    assert "Traceback" not in done.stderr
