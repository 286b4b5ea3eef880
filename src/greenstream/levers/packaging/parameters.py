"""Parameters of the packaging lever (``data/parameters.csv``): every number with its source or
the label ``assumption`` and a reason; the loader refuses a row with neither.

A caller may override any parameter (``with_overrides``); the values used travel with the
results (:meth:`Parameters.provenance`), so a default that decides a result is visible.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path

from greenstream.errors import InputError, InputErrors
from greenstream.io.text import read_utf8

FILE = "greenstream/levers/packaging/data/parameters.csv"


@dataclass(frozen=True)
class Parameter:
    """One parameter: its value (text), unit, source, and whether it is an assumption."""

    name: str
    value: str
    unit: str
    source: str
    assumption: bool
    reason: str


@dataclass(frozen=True)
class Parameters:
    """All parameters by name, with typed access; ``file`` names their source in errors."""

    rows: dict[str, Parameter] = field(default_factory=dict)
    file: str = FILE

    def number(self, name: str) -> float:
        """The parameter ``name`` as a number (in its unit).

        Parameters
        ----------
        name : str
            Parameter name.

        Returns
        -------
        float
            The value.

        Raises
        ------
        InputErrors
            If there is no such parameter or its value is not a number.
        """
        value = self.get(name).value
        try:
            return float(value)
        except ValueError:
            raise InputErrors.single(
                self.file, f"parameter {name!r} is not a number: {value!r}", field="value"
            ) from None

    def text(self, name: str) -> str:
        """The parameter ``name`` as text.

        Parameters
        ----------
        name : str
            Parameter name.

        Returns
        -------
        str
            The value as written.
        """
        return self.get(name).value

    def get(self, name: str) -> Parameter:
        """The parameter ``name`` with its unit and source.

        Parameters
        ----------
        name : str
            Parameter name.

        Returns
        -------
        Parameter
            The row.

        Raises
        ------
        InputErrors
            If there is no such parameter.
        """
        try:
            return self.rows[name]
        except KeyError:
            raise InputErrors.single(
                self.file, f"no parameter {name!r}", field="parameter"
            ) from None

    def with_overrides(self, values: dict[str, str], *, source: str) -> Parameters:
        """A copy with ``values`` replacing the packaged ones (unknown names are refused).

        Parameters
        ----------
        values : dict of str to str
            Name -> value (in the parameter's unit).
        source : str
            Where the values come from (recorded as their source).

        Returns
        -------
        Parameters
            A new set; this one is unchanged.

        Raises
        ------
        InputErrors
            Naming every unknown parameter.
        """
        unknown = sorted(set(values) - set(self.rows))
        if unknown:
            raise InputErrors(
                [InputError(source, None, n, "unknown packaging parameter") for n in unknown]
            )
        rows = dict(self.rows)
        for name, value in values.items():
            rows[name] = replace(rows[name], value=str(value), source=source, assumption=False)
        return Parameters(rows, self.file)

    def provenance(self) -> list[dict[str, object]]:
        """Every parameter with its value, unit, source or assumption reason (for outputs)."""
        return [
            {
                "parameter": p.name,
                "value": p.value,
                "unit": p.unit,
                "source": p.source,
                "assumption": p.assumption,
                "reason": p.reason,
            }
            for p in self.rows.values()
        ]


def load_parameters(path: Path | None = None) -> Parameters:
    """Read a parameters CSV; every row needs a source or ``assumption=true`` with a reason.

    Parameters
    ----------
    path : pathlib.Path, optional
        The CSV; the packaged ``data/parameters.csv`` when None.

    Returns
    -------
    Parameters
        The parameters.

    Raises
    ------
    InputErrors
        Every row without a source or reason.
    """
    if path is None:
        text = resources.files("greenstream.levers.packaging") / "data" / "parameters.csv"
        data = text.read_text(encoding="utf-8")
        name = FILE
    else:
        name = str(path)
        data = read_utf8(Path(path))
    rows: dict[str, Parameter] = {}
    errors: list[InputError] = []
    for i, row in enumerate(csv.DictReader(data.splitlines()), start=1):
        assumption = (row.get("assumption") or "").strip().lower() == "true"
        pname = (row.get("parameter") or "").strip()
        if not pname:
            errors.append(InputError(name, i, "parameter", "missing parameter name"))
            continue
        if not assumption and not (row.get("source") or "").strip():
            errors.append(
                InputError(name, i, "source", "a parameter needs a source or an assumption")
            )
        if assumption and not (row.get("reason") or "").strip():
            errors.append(InputError(name, i, "reason", "an assumption needs a reason"))
        rows[pname] = Parameter(
            pname,
            (row.get("value") or "").strip(),
            (row.get("unit") or "").strip(),
            (row.get("source") or "").strip(),
            assumption,
            (row.get("reason") or "").strip(),
        )
    InputErrors.raise_if_any(errors)
    return Parameters(rows, name)


@cache
def builtin_parameters() -> Parameters:
    """The packaged parameters (read once per process)."""
    return load_parameters()
