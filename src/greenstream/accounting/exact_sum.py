"""Exact sums of float columns that merge: the same total, to the last bit, whatever the
partitioning of the rows, their order, the engine or the number of threads.

A float sum in another order differs in the last bits (addition is not associative), so totals
of a partitioned job summed partition by partition would differ from the totals of one file. Here
every value is split into *limbs* on a grid of powers of two fixed independently of the data,
``2**(32 k)`` for integer ``k`` (the extraction of Rump, Ogita and Oishi 2008, on fixed boundaries
as in the reproducible summation of Demmel and Nguyen 2015): limb ``k`` of a value is a multiple of
``2**(32 k)`` below ``2**(32 (k + 1))`` in magnitude, so the float64 sum of at most
:data:`SLICE_ROWS` such limbs is exact in any order. A grouped sum of the limb columns
(:func:`limb_columns`, any group-by), turned into integer digits (:func:`limb_digits`), adds exactly
to the digits of other slices and partitions (integer sums); :func:`exact_floats` rounds the
exact total once, to the nearest float64.

Non-finite values (infinities, NaN) are summed apart (their float sum does not depend on the
order) and override the finite total as they do in a float sum. Nulls count as 0, as in a
Polars sum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np
import polars as pl

LIMB_BITS: Final = 32
# rows per limb sum: a limb is at most 2**32 grid units, so 2**20 of them stay below 2**53 units
SLICE_ROWS: Final = 1 << 20
# every float64 is a multiple of 2**-1074; a grid finer than that is not needed
_K_MIN: Final = -1074 // LIMB_BITS  # -34: 2**(32 * -34) < 2**-1074
_NONFINITE: Final = "nonfinite"


def limb_name(column: str, k: int | str) -> str:
    """The name of limb ``k`` of ``column`` (``nonfinite`` for its non-finite part).

    Parameters
    ----------
    column : str
        The summed column.
    k : int or str
        The limb's grid exponent over 32 (count), or ``"nonfinite"``.

    Returns
    -------
    str
        ``__<column>#<k>``.

    Examples
    --------
    >>> limb_name("co2e_wtw_kg", -2)
    '__co2e_wtw_kg#-2'
    """
    return f"__{column}#{k}"


def _limb_k(name: str, column: str) -> int | str | None:
    prefix = f"__{column}#"
    if not name.startswith(prefix):
        return None
    tail = name[len(prefix) :]
    return tail if tail == _NONFINITE else int(tail)


def _split(values: np.ndarray, top: int) -> dict[int, np.ndarray]:
    """Limbs of finite ``values`` from ``top`` down, until nothing is left (they add up to the
    values exactly)."""
    rest = values.copy()
    limbs: dict[int, np.ndarray] = {}
    for k in range(top, _K_MIN - 1, -1):
        if LIMB_BITS * k <= -1074:
            # every float64 is a multiple of 2**-1074, finer than this grid: the limb as is
            limbs[k] = rest
            break
        if 52 + LIMB_BITS * k >= 1023:
            # 1.5 * 2**(52 + 32 k) would overflow: round on the scaled value (the limb holds
            # its digit, not its value, so that the sum of limbs stays finite)
            digit = np.rint(rest * 2.0 ** (-LIMB_BITS * k))
            limbs[k] = digit
            quantum = digit * 2.0 ** (LIMB_BITS * k)
        else:
            # (x + 1.5 * 2**(52 + 32 k)) - 1.5 * 2**(52 + 32 k): x rounded to a multiple of
            # 2**(32 k), exactly (Rump, Ogita and Oishi 2008, ExtractVector)
            shift = 1.5 * 2.0 ** (52 + LIMB_BITS * k)
            quantum = rest + shift
            quantum -= shift
            limbs[k] = quantum
        rest -= quantum  # exact: what rounding left, at most half a grid step
        if not rest.any():
            break
    return limbs


def _top_k(largest: float) -> int:
    """Grid exponent (over 32) of the top limb of values below ``largest`` in magnitude."""
    return (math.frexp(largest)[1] - 1) // LIMB_BITS  # |x| < 2**(32 (top + 1))


def limb_columns(frame: pl.DataFrame, columns: Sequence[str]) -> list[pl.Series]:
    """The limb columns of ``columns`` over ``frame`` (at most :data:`SLICE_ROWS` rows): summed by
    any group-by, they give each group's exact sums (:func:`limb_digits`, :func:`exact_floats`).

    Parameters
    ----------
    frame : polars.DataFrame
        The rows (a slice of at most :data:`SLICE_ROWS`).
    columns : sequence of str
        Float columns to sum, in any unit (the limbs keep it).

    Returns
    -------
    list of polars.Series
        Float64 columns named by :func:`limb_name`; none for a column of zeros and nulls.

    Raises
    ------
    ValueError
        When ``frame`` has more than :data:`SLICE_ROWS` rows (the limb sums would not be exact).

    References
    ----------
    .. [1] S. M. Rump, T. Ogita, S. Oishi, "Accurate floating-point summation part I: faithful
       rounding", SIAM J. Sci. Comput. 31(1), 2008 (error-free extraction on a power of two).
    .. [2] J. Demmel, H. D. Nguyen, "Parallel reproducible summation", IEEE Trans. Computers
       64(7), 2015 (boundaries fixed independently of the data give order-independent sums).

    Examples
    --------
    >>> frame = pl.DataFrame({"x": [0.1, 0.2, 0.3]})
    >>> limbs = limb_columns(frame, ["x"])
    >>> exact_floats(limb_digits(pl.DataFrame(limbs).sum()), ["x"])["x"].item()
    0.6
    >>> 0.1 + 0.2 + 0.3
    0.6000000000000001
    """
    if frame.height > SLICE_ROWS:
        raise ValueError(f"{frame.height} rows: limb sums are exact up to {SLICE_ROWS} rows")
    out: list[pl.Series] = []
    for c in columns:
        column = frame.get_column(c).cast(pl.Float64)
        if column.null_count():
            column = column.fill_null(0.0)
        values = column.to_numpy()
        if values.size == 0:
            continue
        largest = max(float(values.max()), -float(values.min()))  # NaN when there is one
        if not math.isfinite(largest):
            finite = np.isfinite(values)
            out.append(
                pl.Series(limb_name(c, _NONFINITE), np.where(finite, 0.0, values), pl.Float64)
            )
            values = np.where(finite, values, 0.0)
            largest = float(np.abs(values).max())
        if largest == 0:
            continue
        out += [
            pl.Series(limb_name(c, k), limb, pl.Float64)
            for k, limb in _split(values, _top_k(largest)).items()
        ]
    return out


def limb_digits(sums: pl.DataFrame) -> pl.DataFrame:
    """Summed limb columns as integer digits (Int128, units of ``2**(32 k)``), so that sums of
    other slices and partitions add to them exactly; other columns unchanged.

    Parameters
    ----------
    sums : polars.DataFrame
        Group sums of :func:`limb_columns` (each the float64 sum of at most :data:`SLICE_ROWS`
        limbs, hence exact).

    Returns
    -------
    polars.DataFrame
        The same columns, limbs as Int128 digits (the non-finite parts stay Float64).

    Examples
    --------
    >>> limb_digits(pl.DataFrame({"__x#-1": [3 * 2.0**-32]}))["__x#-1"].to_list()
    [3]
    """
    exprs = []
    for name in sums.columns:
        tail = name.rsplit("#", 1)[-1] if name.startswith("__") and "#" in name else None
        if tail is None or tail == _NONFINITE:
            continue
        k = int(tail)
        value = pl.col(name)
        if 52 + LIMB_BITS * k < 1023:  # the limb holds its value: scale it to grid units
            scale = -LIMB_BITS * k
            while scale:  # steps within the float exponent range: each one exact
                step = max(-1000, min(1000, scale))
                value = value * 2.0**step
                scale -= step
        exprs.append(value.cast(pl.Int128).alias(name))
    return sums.with_columns(exprs) if exprs else sums


def exact_floats(digits: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """Each of ``columns`` from its summed digits (:func:`limb_digits`): the exact sum rounded
    once to the nearest float64 (ties to even); the limb columns are dropped.

    One Python step per row of ``digits`` (grouped totals, not the data's rows).

    Parameters
    ----------
    digits : polars.DataFrame
        Group rows with the digit columns of ``columns`` (missing or null digits count as 0).
    columns : sequence of str
        The summed columns.

    Returns
    -------
    polars.DataFrame
        ``digits`` without limb columns, with one Float64 column per name in ``columns``.

    Examples
    --------
    >>> digits = pl.DataFrame({"__x#0": [1, 2], "__x#-1": [2**31, 0]})
    >>> exact_floats(digits, ["x"])["x"].to_list()
    [1.5, 2.0]
    """
    finished = []
    limb_columns_all: list[str] = []
    for c in columns:
        ks = {name: _limb_k(name, c) for name in digits.columns}
        limbs = {name: k for name, k in ks.items() if isinstance(k, int)}
        special = limb_name(c, _NONFINITE) if limb_name(c, _NONFINITE) in digits.columns else None
        limb_columns_all += list(limbs) + ([special] if special else [])
        base = min(limbs.values(), default=0)
        names = list(limbs)
        rows = digits.select(names).rows() if names else [() for _ in range(digits.height)]
        nonfinite = (
            digits.get_column(special).fill_null(0.0).to_list()
            if special
            else [0.0] * digits.height
        )
        values = []
        for row, odd in zip(rows, nonfinite, strict=True):
            if odd != 0.0:  # an infinity or NaN decides the sum, as in a float sum
                values.append(float(odd))
                continue
            total = sum(
                int(d) << (LIMB_BITS * (limbs[n] - base))
                for n, d in zip(names, row, strict=True)
                if d
            )
            values.append(_to_float(total, LIMB_BITS * base))
        finished.append(pl.Series(c, values, pl.Float64))
    return digits.drop(limb_columns_all).with_columns(finished)


def _to_float(units: int, exponent: int) -> float:
    """``units * 2**exponent`` rounded to the nearest float64 (Python's int-to-float conversion
    and true division of ints round correctly)."""
    if units == 0:
        return 0.0
    try:
        if exponent >= 0:
            return float(units << exponent)
        return units / (1 << -exponent)
    except OverflowError:
        return math.copysign(math.inf, units)
