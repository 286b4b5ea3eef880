"""Settings read from the environment, in one place.

- ``GREENSTREAM_HOME``: where local state lives (imported factor sets, the default SQLite store);
  default ``~/.local/share/greenstream``.
- ``GREENSTREAM_DATABASE_URL``: the store (see :mod:`greenstream.store.db`); default a SQLite file
  in the home directory.
"""

from __future__ import annotations

import os
from pathlib import Path


def home_dir() -> Path:
    """Local state directory: ``$GREENSTREAM_HOME``, else ``~/.local/share/greenstream``."""
    return Path(os.environ.get("GREENSTREAM_HOME", Path.home() / ".local/share/greenstream"))
