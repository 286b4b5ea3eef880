"""What every CLI command shares: output formats, error handling and exit codes, progress.

Concerns that add sub-commands (``monitoring/cli.py``, ``points/cli.py``, ...) import from here, not
from ``greenstream.cli``, so the main app can register them without an import cycle.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from greenstream.errors import (
    EXIT_INPUT_ERROR,
    EXIT_INTERNAL_ERROR,
    EXIT_MISSING_EXTRA,
    GreenstreamError,
    InputError,
    InputErrors,
)
from greenstream.extras import extra_for, missing_extra_message
from greenstream.settings import home_dir as home

if TYPE_CHECKING:
    import polars as pl
    from rich.progress import Progress

# Tables fit 100 columns (the width every command is written for), or a narrower terminal.
TABLE_WIDTH = 100


def _width(stream: Any) -> int:
    import shutil

    if stream.isatty():
        return min(TABLE_WIDTH, shutil.get_terminal_size().columns)
    return TABLE_WIDTH


out = Console(width=_width(sys.stdout))
err = Console(stderr=True, width=_width(sys.stderr))


class TableFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class SheetFormat(StrEnum):
    text = "text"
    json = "json"


def registry_for(extra_factors: list[Path] | None = None) -> Any:
    from greenstream.factors import Registry, user_factor_paths

    paths = user_factor_paths(home()) + list(extra_factors or [])
    return Registry.from_paths(paths) if paths else Registry.builtin()


def report_input_errors(errors: list[InputError], *, limit: int, errors_file: Path | None) -> None:
    """Print every bad row (up to ``limit``) as plain lines on stderr; all of them to a file."""
    if errors_file is not None:
        import polars as pl

        from greenstream.io.tables import write_table

        schema = {"file": pl.String, "row": pl.Int64, "field": pl.String, "reason": pl.String}
        write_table(pl.DataFrame([e.as_dict() for e in errors], schema=schema), errors_file)
    n = len(errors)
    lines = [f"{n} input error{'s' if n != 1 else ''} (nothing was written):"]
    lines += [f"  {e}" for e in errors[:limit]]
    if n > limit:
        where = f"all in {errors_file}" if errors_file else "use --errors FILE to write them all"
        lines.append(f"  ... and {n - limit} more ({where})")
    sys.stderr.write("\n".join(lines) + "\n")


def _command_name() -> str | None:
    """The sub-command named on the command line (its first word that is not an option)."""
    return next((a for a in sys.argv[1:] if not a.startswith("-")), None)


@contextmanager
def handle_errors(max_errors: int = 50, errors_file: Path | None = None) -> Iterator[None]:
    try:
        yield
    except InputErrors as exc:
        report_input_errors(exc.errors, limit=max_errors, errors_file=errors_file)
        raise typer.Exit(EXIT_INPUT_ERROR) from None
    except GreenstreamError as exc:
        sys.stderr.write(f"error: {exc}\n")
        raise typer.Exit(EXIT_INPUT_ERROR) from None
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except ImportError as exc:
        extra = extra_for(exc.name, _command_name())
        if extra is None:
            raise
        sys.stderr.write(missing_extra_message(extra, exc.name, _command_name()) + "\n")
        raise typer.Exit(EXIT_MISSING_EXTRA) from None
    except Exception:
        sys.stderr.write("internal error (please report it with the traceback below):\n")
        sys.stderr.write(traceback.format_exc())
        raise typer.Exit(EXIT_INTERNAL_ERROR) from None


@contextmanager
def stage(progress: Progress | None, text: str) -> Iterator[None]:
    task = progress.add_task(text, total=None) if progress else None
    try:
        yield
    finally:
        if progress is not None and task is not None:
            progress.update(task, completed=1, total=1)


def new_progress(enabled: bool) -> Progress | None:
    if not enabled:
        return None
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def print_rows(rows: list[dict[str, Any]], fmt: TableFormat, *, title: str = "") -> None:
    if fmt is TableFormat.json:
        sys.stdout.write(json.dumps(rows, indent=2, default=str) + "\n")
        return
    if fmt is TableFormat.csv:
        buf = io.StringIO()
        if rows:
            writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        sys.stdout.write(buf.getvalue())
        return
    table = Table(title=title or None)
    for name in rows[0] if rows else []:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*[fmt_cell(v) for v in row.values()])
    out.print(table)


def print_frame(frame: pl.DataFrame, fmt: TableFormat, *, title: str = "") -> None:
    """A table in ``fmt``: CSV and JSON written by Polars (no Python object per row, for
    roll-ups of every shipment), a rich table through :func:`print_rows`."""
    if fmt is TableFormat.csv:
        sys.stdout.write(frame.write_csv() if frame.width else "")
        return
    if fmt is TableFormat.json:
        sys.stdout.write(frame.write_json() + "\n")
        return
    print_rows(frame.to_dicts(), fmt, title=title)


def fmt_cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}"
    return "" if value is None else str(value)
