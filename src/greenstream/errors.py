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
    """One bad value in one input: where it is and why it is refused."""

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
        return {"file": self.file, "row": self.row, "field": self.field, "reason": self.reason}


class InputErrors(GreenstreamError):
    """All the bad rows found in one batch. Raised only after the whole batch was checked."""

    def __init__(self, errors: Sequence[InputError]) -> None:
        self.errors: list[InputError] = list(errors)
        super().__init__(self.summary())

    def summary(self, limit: int = 20) -> str:
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
        return cls([InputError(file, row, field, reason)])

    @staticmethod
    def raise_if_any(errors: Iterable[InputError]) -> None:
        collected = list(errors)
        if collected:
            raise InputErrors(collected)


class FactorNotFound(GreenstreamError):
    """A factor asked for by id is not in the registry."""


class RegistryError(GreenstreamError):
    """A factor data file is malformed (wrong columns, units, duplicate ids, ...)."""
