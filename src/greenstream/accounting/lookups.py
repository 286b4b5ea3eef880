"""Small lookup tables turned into column expressions.

The kernel never joins a small reference table onto millions of legs (a join rematerializes every
column of the big frame). Instead a key column is hashed once into a row index of the small table
(:meth:`Lookup.index`) and each needed value is gathered by that index (:meth:`Lookup.value`):
one string hash per key column, then integer gathers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import polars as pl

COMPARE_MAX_KEYS = 8


@dataclass(frozen=True)
class Lookup:
    """Keys (unique) and aligned value columns of a small table."""

    keys: pl.Series
    values: dict[str, pl.Series] = field(default_factory=dict)

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, key: str) -> Lookup:
        frame = frame.filter(pl.col(key).is_not_null()).unique(
            subset=key, keep="first", maintain_order=True
        )
        return cls(
            keys=frame.get_column(key).cast(pl.String),
            values={c: frame.get_column(c) for c in frame.columns if c != key},
        )

    def __len__(self) -> int:
        return self.keys.len()

    def index(self, key: pl.Expr) -> pl.Expr:
        """Row index of each key in this table (UInt32), null when absent.

        Up to :data:`COMPARE_MAX_KEYS` keys, chained equality tests are cheapest (measured 2-4x
        cheaper than hashing every row on 2M rows); beyond that, a non-strict cast to an Enum of
        the keys, whose physical code is the row index (measured about 2x cheaper than
        ``replace_strict`` on 2M rows with 60 to 2,000 keys).
        """
        if len(self) == 0:
            return pl.lit(None, dtype=pl.UInt32)
        if len(self) <= COMPARE_MAX_KEYS:
            keys = self.keys.to_list()
            result: pl.Expr = pl.lit(None, dtype=pl.UInt32)
            for i, k in reversed(list(enumerate(keys))):
                result = pl.when(key == k).then(pl.lit(i, dtype=pl.UInt32)).otherwise(result)
            return result
        return key.cast(self._enum, strict=False).to_physical().cast(pl.UInt32)

    @cached_property
    def _enum(self) -> pl.Enum:
        return pl.Enum(self.keys)

    def value(self, name: str, index: pl.Expr) -> pl.Expr:
        """The value column ``name`` gathered at ``index`` (null where the index is null)."""
        series = self.values[name]
        if len(self) == 0:
            return pl.lit(None, dtype=series.dtype)
        return pl.lit(series).gather(index)


class FactorCatalogue:
    """Every (factor_id, factor_source) pair a job can report, numbered.

    Rows carry a small integer code; the final ``factor_id`` / ``factor_source`` columns are
    categorical gathers of these codes, so millions of rows share a handful of strings.
    """

    def __init__(self) -> None:
        self._codes: dict[tuple[str, str], int] = {}

    def code(self, factor_id: str, source: str) -> int:
        return self._codes.setdefault((factor_id, source), len(self._codes))

    def codes(self, ids: Sequence[str | None], sources: Sequence[str | None]) -> pl.Series:
        return pl.Series(
            [
                None if i is None else self.code(i, s or "")
                for i, s in zip(ids, sources, strict=True)
            ],
            dtype=pl.UInt32,
        )

    def series(self) -> tuple[pl.Series, pl.Series]:
        """Ids and sources by code, as Enums (all values are known here, so the Enum categories
        are fixed; Arrow export of an Enum is zero-copy, of a Categorical it is not)."""
        pairs = sorted(self._codes.items(), key=lambda kv: kv[1])
        return as_enum([k[0] for k, _ in pairs]), as_enum([k[1] for k, _ in pairs])


def as_enum(values: Sequence[str | None]) -> pl.Series:
    """A Series of ``values`` typed as an Enum of its distinct values (in first-seen order)."""
    categories = list(dict.fromkeys(v for v in values if v is not None))
    return pl.Series(values, dtype=pl.String).cast(pl.Enum(categories))
