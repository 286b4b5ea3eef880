"""Atomic file writes: a failed run never leaves half a file, and a new file is owner-only.

The temporary file is created by :func:`tempfile.mkstemp` (mode 0600) beside the target and
renamed over it only when the whole content has been written; the rename keeps the mode, so
every file greenstream writes is readable by its owner only (footprints are business data).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from greenstream.errors import InputErrors


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    r"""Yield a temporary path beside ``target``; rename it over ``target`` only on success.

    The temporary file exists (empty, mode 0600) when the block starts; writers may replace it.

    Parameters
    ----------
    target : pathlib.Path
        The file to write; its folder is created if missing.

    Yields
    ------
    pathlib.Path
        The temporary file to write into.

    Raises
    ------
    InputErrors
        When ``target`` is a directory (nothing is written).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.csv"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("a,b\n")
    >>> target.read_text()
    'a,b\n'
    """
    if target.is_dir():
        raise InputErrors.single(str(target), "is a directory: name a file to write")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o600)
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
