"""Settings read from the environment, in one place.

- ``GREENSTREAM_HOME``: where local state lives (imported factor sets, the default SQLite store);
  default ``~/.local/share/greenstream``.
- ``GREENSTREAM_SECRET_KEY``: the signing key (see :func:`secret_key`).
- ``GREENSTREAM_DATABASE_URL``: the store (see :mod:`greenstream.store.db`); default a SQLite file
  in the home directory.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def home_dir() -> Path:
    """Local state directory: ``$GREENSTREAM_HOME``, else ``~/.local/share/greenstream``.

    Returns
    -------
    pathlib.Path
        The directory (not created here).

    Examples
    --------
    >>> import os
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"GREENSTREAM_HOME": "/srv/greenstream"}):
    ...     str(home_dir())
    '/srv/greenstream'
    """
    return Path(os.environ.get("GREENSTREAM_HOME", Path.home() / ".local/share/greenstream"))


def secret_key() -> bytes:
    """The key that signs access tokens and share links.

    ``$GREENSTREAM_SECRET_KEY`` when set, else a random 256-bit key created once in
    ``$GREENSTREAM_HOME/secret_key`` (mode 0600) so every process of one installation shares it.

    Returns
    -------
    bytes
        The key.
    """
    env = os.environ.get("GREENSTREAM_SECRET_KEY")
    if env:
        return env.encode()
    home = home_dir()
    home.mkdir(parents=True, exist_ok=True)
    path = home / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_hex(32).encode())
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    return path.read_bytes().strip()
