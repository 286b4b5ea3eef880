"""Decimal strings and UTC timestamps as iLEAP and PACT write them.

* A Decimal is a JSON string matching ``^-?[0-9]+(\\.[0-9]+)?$``: plain notation, no exponent.
* A float is first taken at its shortest round-trip decimal form (``repr``), then rounded
  half-to-even (what ``rust_decimal``'s ``round_dp`` does in the SINE reference code), then
  written with trailing zeros removed: ``"16920"``, ``"1962.72"``, ``"0.00001"``, never
  ``"1e-05"`` or ``"16920.0"``.
* Timestamps are ISO 8601 in UTC with a ``Z``.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any, Final

from greenstream.timeutil import as_utc

DECIMAL_PATTERN: Final = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def plain(d: Decimal) -> str:
    """A Decimal in plain notation without trailing zeros (never an exponent, never "-0")."""
    if d == 0:
        return "0"
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


MIN_SIGNIFICANT_DIGITS: Final = 2


def decimal_string(
    value: float | int | Decimal, places: int, *, significant: int = MIN_SIGNIFICANT_DIGITS
) -> str:
    """``value`` as an iLEAP Decimal string, rounded half-to-even to ``places`` decimals, or to
    more when that keeps fewer than ``significant`` significant digits.

    Floats are taken at their shortest round-trip form first, so 1962.7200000000003 is "1962.72"
    and 1e-05 is "0.00001". A small amount keeps ``significant`` digits instead of rounding to
    "0": 0.00045 tkm at 3 places is "0.00045", 0.0041234 kg at 2 places "0.0041" (values of 0.1
    and more keep exactly ``places``). So no non-zero value is ever written as "0". Raises
    ValueError for NaN / inf.

    Parameters
    ----------
    value : float, int or Decimal
        The number (in the unit of the field it is written to).
    places : int
        Decimals kept for values of ordinary size.
    significant : int
        Significant digits kept at least, whatever the size of the value.

    Returns
    -------
    str
        Plain notation, no exponent, no trailing zeros (``^-?\\d+(\\.\\d+)?$``).
    """
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    d = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not d.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    if d != 0:
        places = max(places, significant - 1 - d.adjusted())
    with localcontext() as ctx:
        ctx.prec = max(60, d.adjusted() + places + 2)
        q = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    return plain(q)


def exact(value: Any) -> Decimal:
    """A validated Decimal field (string, or a tolerated number) as a Decimal."""
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def strings_for_numbers(value: Any) -> Any:
    """Copy of a JSON value with every (tolerated) number turned into its Decimal string."""
    if isinstance(value, dict):
        return {k: strings_for_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strings_for_numbers(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        return plain(Decimal(repr(value)))
    if isinstance(value, int | Decimal):
        return plain(Decimal(value))
    return value


def utc_text(value: Any) -> str:
    """An ISO 8601 UTC timestamp (``Z``; microseconds only when there are any)."""
    stamp = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(stamp, datetime):
        raise ValueError(f"not a date-time: {value!r}")
    stamp = as_utc(stamp)
    spec = "seconds" if stamp.microsecond == 0 else "microseconds"
    return stamp.isoformat(timespec=spec).replace("+00:00", "Z")
