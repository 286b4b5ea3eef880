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
    r"""A Decimal in plain notation without trailing zeros (never an exponent, never "-0").

    Parameters
    ----------
    d : decimal.Decimal
        The number.

    Returns
    -------
    str
        Matches iLEAP's Decimal pattern ``^-?\d+(\.\d+)?$``.

    Examples
    --------
    >>> from decimal import Decimal
    >>> plain(Decimal("1.500")), plain(Decimal("1E+3")), plain(Decimal("-0.0"))
    ('1.5', '1000', '0')
    """
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
        The number, in the unit of the field it is written to (kg, km, tkm, kg CO2e).
    places : int
        Decimals kept for values of ordinary size.
    significant : int
        Significant digits kept at least, whatever the size of the value.

    Returns
    -------
    str
        Plain notation, no exponent, no trailing zeros (``^-?\\d+(\\.\\d+)?$``).

    References
    ----------
    .. [1] iLEAP technical specification v1.0.0: every numeric field is a Decimal string.

    Examples
    --------
    >>> decimal_string(1962.7200000000003, 2), decimal_string(0.00045, 3)
    ('1962.72', '0.00045')
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
    """A validated Decimal field (string, or a tolerated number) as a Decimal.

    Parameters
    ----------
    value : Any
        A Decimal string (``"161"``), an int or a float (taken at its shortest round-trip form).

    Returns
    -------
    decimal.Decimal
        The exact value.

    Examples
    --------
    >>> exact("161"), exact(0.1)
    (Decimal('161'), Decimal('0.1'))
    """
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def strings_for_numbers(value: Any) -> Any:
    """Copy of a JSON value with every (tolerated) number turned into its Decimal string.

    Parameters
    ----------
    value : Any
        A parsed JSON value.

    Returns
    -------
    Any
        The same structure; numbers as plain Decimal strings, bools and None unchanged.

    Examples
    --------
    >>> strings_for_numbers({"mass": 230, "distance": {"actual": 700.0}, "ok": True})
    {'mass': '230', 'distance': {'actual': '700'}, 'ok': True}
    """
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
    """An ISO 8601 UTC timestamp (``Z``; microseconds only when there are any).

    Parameters
    ----------
    value : Any
        A datetime (naive read as UTC) or an ISO 8601 string.

    Returns
    -------
    str
        ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``.

    Raises
    ------
    ValueError
        If ``value`` is not a date-time.

    Examples
    --------
    >>> utc_text("2025-01-01T14:00:00+02:00")
    '2025-01-01T12:00:00Z'
    """
    stamp = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(stamp, datetime):
        raise ValueError(f"not a date-time: {value!r}")
    stamp = as_utc(stamp)
    spec = "seconds" if stamp.microsecond == 0 else "microseconds"
    return stamp.isoformat(timespec=spec).replace("+00:00", "Z")
