"""greenstream.runtime: the allocator setting reaches Polars' jemalloc (read back from jemalloc's
own statistics, printed at exit with ``stats_print``), a user's setting wins, and the garbage
collector's freeze."""

from __future__ import annotations

import gc
import os
import re
import subprocess
import sys

from greenstream.runtime import JEMALLOC_CONF, JEMALLOC_ENV, freeze_startup_objects


def _jemalloc_decay_ms(code: str, env_value: str | None) -> tuple[int, int, str]:
    """Run ``code`` in a new interpreter and read jemalloc's effective dirty and muzzy decay
    from the statistics it prints at exit; also return the process's stdout."""
    env = {k: v for k, v in os.environ.items() if k != JEMALLOC_ENV}
    if env_value is not None:
        env[JEMALLOC_ENV] = env_value
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    dirty = re.search(r"opt\.dirty_decay_ms: (-?\d+)", done.stderr)
    muzzy = re.search(r"opt\.muzzy_decay_ms: (-?\d+)", done.stderr)
    assert dirty and muzzy, done.stderr[-2000:]
    return int(dirty.group(1)), int(muzzy.group(1)), done.stdout


def test_configure_allocator_sets_polars_decay_when_called_first() -> None:
    # stats_print is appended after greenstream set the variable, before Polars reads it
    code = (
        "import os\n"
        "from greenstream.runtime import configure_allocator\n"
        "configure_allocator()\n"
        f"print(os.environ['{JEMALLOC_ENV}'])\n"
        f"os.environ['{JEMALLOC_ENV}'] += ',stats_print:true'\n"
        "import polars\n"
    )
    dirty, muzzy, out = _jemalloc_decay_ms(code, None)
    assert out.strip() == JEMALLOC_CONF
    assert (dirty, muzzy) == (10_000, 10_000)  # JEMALLOC_CONF's values


def test_the_cli_entry_point_sets_it_and_import_does_not() -> None:
    code = (
        "import os, sys\n"
        "import greenstream, greenstream.cli\n"
        f"print('import:', os.environ.get('{JEMALLOC_ENV}'))\n"
        "sys.argv = ['greenstream', 'footprint', '--help']\n"
        "try:\n"
        "    greenstream.cli.main()\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('main:', os.environ.get('{JEMALLOC_ENV}'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != JEMALLOC_ENV}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == "import: None"
    assert out[-1] == f"main: {JEMALLOC_CONF}"


def test_a_users_setting_wins() -> None:
    code = (
        "from greenstream.runtime import configure_allocator\n"
        "assert not configure_allocator()\n"
        "import polars\n"
    )
    dirty, muzzy, _ = _jemalloc_decay_ms(code, "dirty_decay_ms:1234,stats_print:true")
    assert dirty == 1234
    assert muzzy == 1000  # Polars 2.1's own value, which the user did not override


def test_polars_imported_first_keeps_polars_settings() -> None:
    code = (
        "import os, polars, greenstream.runtime as r\n"
        "print(r.configure_allocator(), os.environ.get('_RJEM_MALLOC_CONF'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != JEMALLOC_ENV}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    # Polars wrote its own value when it loaded; greenstream did not touch it
    assert out.startswith("False dirty_decay_ms:500,")
    assert JEMALLOC_CONF not in out


def test_freeze_startup_objects_moves_live_objects_out_of_collection() -> None:
    gc.unfreeze()
    try:
        assert gc.get_freeze_count() == 0
        freeze_startup_objects()
        assert gc.get_freeze_count() > 1000  # this interpreter's modules, functions, ...
    finally:
        gc.unfreeze()


def test_a_child_gets_the_job_decay_or_the_users_own() -> None:
    # The parent imported Polars first (its variable holds Polars' default): a worker started
    # with child_allocator_conf() gets the 10 s decay; with a user's value, the user's.
    code = (
        "import os, subprocess, sys\n"
        "import polars\n"
        "from greenstream.runtime import child_allocator_conf\n"
        "value = child_allocator_conf()\n"
        "print(value)\n"
        f"env = {{**os.environ, '{JEMALLOC_ENV}': value + ',stats_print:true'}}\n"
        "child = subprocess.run([sys.executable, '-c', 'import polars'], env=env,\n"
        "                       capture_output=True, text=True, check=True)\n"
        "sys.stderr.write(child.stderr)\n"
    )
    dirty, muzzy, out = _jemalloc_decay_ms(code, None)
    assert out.strip() == JEMALLOC_CONF
    assert (dirty, muzzy) == (10_000, 10_000)
    dirty, muzzy, out = _jemalloc_decay_ms(code, "dirty_decay_ms:2000")
    assert out.strip() == "dirty_decay_ms:2000"
    assert dirty == 2000
