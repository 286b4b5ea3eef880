"""A user's text document (site, tariff or parameter file) read as UTF-8, or refused by name."""

from __future__ import annotations

from pathlib import Path

from greenstream.errors import InputErrors


def read_utf8(path: Path) -> str:
    """The text of ``path``, decoded as UTF-8.

    Parameters
    ----------
    path : pathlib.Path
        The document.

    Returns
    -------
    str
        Its text.

    Raises
    ------
    InputErrors
        Naming the file when it cannot be read or is not UTF-8 text (a GBK export, a binary
        file under the wrong name).

    Examples
    --------
    >>> read_utf8(Path("/nonexistent/sites.yaml"))
    Traceback (most recent call last):
    ...
    greenstream.errors.InputErrors: ...cannot read: No such file or directory...
    """
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputErrors.single(str(path), f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise InputErrors.single(str(path), f"not UTF-8 text: {exc}") from None
