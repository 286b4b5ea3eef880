"""How every report figure is printed: one function per kind of number, used by the HTML and
PDF renderers and by the tests that compare a PDF's text with the API's JSON.

Emissions print in tonnes CO2e with 3 decimals (kilograms for per-shipment figures), transport
activity in tkm with 1 decimal, intensities with 4 decimals, shares in percent with 1 decimal.
"""

from __future__ import annotations

from typing import Final

KG_PER_TONNE: Final = 1000.0  # SI definition
G_PER_KG: Final = 1000.0  # SI definition
DASH: Final = "–"


def t_co2e(kg: float | None) -> str:
    """Emissions in t CO2e from kg (3 decimals, thousands separated).

    Parameters
    ----------
    kg : float or None
        Emissions, kg CO2e; None prints a dash.

    Returns
    -------
    str
        Tonnes CO2e.

    Examples
    --------
    >>> t_co2e(1_234_567.0), t_co2e(None)
    ('1,234.567', '–')
    """
    return DASH if kg is None else f"{kg / KG_PER_TONNE:,.3f}"


def kg(value: float | None) -> str:
    """Kilograms (3 decimals).

    Parameters
    ----------
    value : float or None
        Mass or emissions, kg; None prints a dash.

    Returns
    -------
    str
        Kilograms.

    Examples
    --------
    >>> kg(187.83)
    '187.830'
    """
    return DASH if value is None else f"{value:,.3f}"


def tkm(value: float | None) -> str:
    """Transport activity in tkm (1 decimal).

    Parameters
    ----------
    value : float or None
        Transport activity, tkm; None prints a dash.

    Returns
    -------
    str
        Tonne-kilometres.

    Examples
    --------
    >>> tkm(1500.0)
    '1,500.0'
    """
    return DASH if value is None else f"{value:,.1f}"


def tonnes(value: float | None) -> str:
    """Hub activity in t (1 decimal).

    Parameters
    ----------
    value : float or None
        Mass handled at hubs, t; None prints a dash.

    Returns
    -------
    str
        Tonnes.

    Examples
    --------
    >>> tonnes(12.345)
    '12.3'
    """
    return DASH if value is None else f"{value:,.1f}"


def intensity(value: float | None) -> str:
    """An intensity in kg CO2e per tkm or per t (4 decimals).

    Parameters
    ----------
    value : float or None
        Intensity, kg CO2e per tkm (or per t); None prints a dash.

    Returns
    -------
    str
        The intensity.

    Examples
    --------
    >>> intensity(0.12522)
    '0.1252'
    """
    return DASH if value is None else f"{value:,.4f}"


def g_per_tkm(value: float | None) -> str:
    """An intensity in g per tkm (1 decimal).

    Parameters
    ----------
    value : float or None
        Intensity, g per tkm; None prints a dash.

    Returns
    -------
    str
        The intensity.

    Examples
    --------
    >>> g_per_tkm(90.04)
    '90.0'
    """
    return DASH if value is None else f"{value:,.1f}"


def pct(share: float | None) -> str:
    """A share (0..1) in percent (1 decimal).

    Parameters
    ----------
    share : float or None
        Share, fraction 0-1; None prints a dash.

    Returns
    -------
    str
        Percent with a ``%`` sign.

    Examples
    --------
    >>> pct(0.375)
    '37.5 %'
    """
    return DASH if share is None else f"{100.0 * share:.1f} %"


def count(n: int | None) -> str:
    """A count with thousands separated.

    Parameters
    ----------
    n : int or None
        A count; None prints a dash.

    Returns
    -------
    str

    Examples
    --------
    >>> count(150_000)
    '150,000'
    """
    return DASH if n is None else f"{n:,}"
