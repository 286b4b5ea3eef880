"""One error hierarchy for greenstream.

Every error a user can cause by what they feed in is an :class:`InputError` that names the file,
the row (1-based data row, header excluded), the field and the reason. A batch collects *all* of
them into one :class:`InputErrors` so the user fixes a file in one go instead of one row per run.
The CLI maps these to exit codes (see ``greenstream.cli``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

EXIT_OK = 0
EXIT_INPUT_ERROR = 2
EXIT_MISSING_EXTRA = 69  # EX_UNAVAILABLE in sysexits.h: an optional extra is not installed
EXIT_INTERNAL_ERROR = 70  # EX_SOFTWARE in sysexits.h


class GreenstreamError(Exception):
    """Base class of every error greenstream raises on purpose."""


@dataclass(frozen=True)
class InputError:
    """One bad value in one input: where it is and why it is refused.

    Attributes
    ----------
    file : str
        The input's name (a path, an upload's file name or an API body's name).
    row : int or None
        1-based data row, header excluded; None when the error is about the whole file.
    field : str or None
        The column or field at fault; None when the error is about the whole row or file.
    reason : str
        Why the value is refused, in words a user can act on.

    Examples
    --------
    >>> str(InputError("shipments.csv", 3, "mass_kg", "negative mass"))
    "shipments.csv, row 3, field 'mass_kg': negative mass"
    """

    file: str
    row: int | None
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.field:
            where += f", field '{self.field}'"
        return f"{where}: {self.reason}"

    def as_dict(self) -> dict[str, object]:
        """The error as a JSON-ready mapping (the body of a 4xx response and ``--format json``).

        Returns
        -------
        dict
            ``file``, ``row``, ``field`` and ``reason``.

        Examples
        --------
        >>> InputError("a.csv", None, None, "empty file").as_dict()
        {'file': 'a.csv', 'row': None, 'field': None, 'reason': 'empty file'}
        """
        return {"file": self.file, "row": self.row, "field": self.field, "reason": self.reason}


class InputErrors(GreenstreamError):
    """All the bad rows found in one batch. Raised only after the whole batch was checked.

    Parameters
    ----------
    errors : sequence of InputError
        Every error found, in the order found.

    Examples
    --------
    >>> err = InputErrors([InputError("a.csv", 1, "mode", "unknown mode 'bike'")])
    >>> print(err)
    1 input error:
      a.csv, row 1, field 'mode': unknown mode 'bike'
    """

    def __init__(self, errors: Sequence[InputError]) -> None:
        self.errors: list[InputError] = list(errors)
        super().__init__(self.summary())

    def summary(self, limit: int = 20) -> str:
        """A readable list of the errors, at most ``limit`` of them and a count of the rest.

        Parameters
        ----------
        limit : int, default 20
            Number of errors listed before ``... and N more``, count.

        Returns
        -------
        str
            A head line with the number of errors, then one indented line per error.

        Examples
        --------
        >>> errors = InputErrors([InputError("a.csv", r, "x", "bad") for r in (1, 2, 3)])
        >>> print(errors.summary(limit=1))
        3 input errors:
          a.csv, row 1, field 'x': bad
          ... and 2 more
        """
        lines = [str(e) for e in self.errors[:limit]]
        more = len(self.errors) - limit
        if more > 0:
            lines.append(f"... and {more} more")
        head = f"{len(self.errors)} input error{'s' if len(self.errors) != 1 else ''}"
        return head + ":\n" + "\n".join("  " + line for line in lines)

    @classmethod
    def single(
        cls, file: str, reason: str, *, row: int | None = None, field: str | None = None
    ) -> InputErrors:
        """One error as a batch: for a refusal that stops the whole input at once.

        Parameters
        ----------
        file : str
            The input's name.
        reason : str
            Why it is refused.
        row : int, optional
            1-based data row, header excluded.
        field : str, optional
            The column or field at fault.

        Returns
        -------
        InputErrors
            A batch that holds the one error.

        Examples
        --------
        >>> InputErrors.single("a.csv", "no header row").errors[0].reason
        'no header row'
        """
        return cls([InputError(file, row, field, reason)])

    @staticmethod
    def raise_if_any(errors: Iterable[InputError]) -> None:
        """Raise the errors as one batch, if there is any.

        Parameters
        ----------
        errors : iterable of InputError
            The errors found while checking a whole batch (consumed once).

        Raises
        ------
        InputErrors
            When ``errors`` is not empty.

        Examples
        --------
        >>> InputErrors.raise_if_any([])
        >>> InputErrors.raise_if_any([InputError("a.csv", 2, None, "short row")])
        Traceback (most recent call last):
        ...
        greenstream.errors.InputErrors: 1 input error:
          a.csv, row 2: short row
        """
        collected = list(errors)
        if collected:
            raise InputErrors(collected)


class FactorNotFound(GreenstreamError):
    """A factor asked for by id is not in the registry."""


class RegistryError(GreenstreamError):
    """A factor data file is malformed (wrong columns, units, duplicate ids, ...)."""
