"""Provincial time-of-use tariffs for commercial and industrial users, as hourly price series.

A tariff file (``data/tariffs/<province>.yaml``, format in ``data/tariffs/_README.md``) gives the
clock periods of each group of months (peak, flat, valley, and where the notice has them sharp
尖峰 and deep valley 深谷), periods that apply on public holidays or weekends, and the price of each
period relative to the flat price, with the sentence of the notice it comes from. Holidays are
the Chinese public holidays of the ``holidays`` package (substituted days off belong to the
festival they are next to).

:func:`hourly_tariff` turns a tariff into one row per hour of a year (China Standard Time): the
period and the price in CNY/kWh. It is built from a 96-slot (15-minute) code per day type and
month, gathered per hour with numpy (no loop over hours); an hour's price is the mean of its four
quarter-hours.

References
----------
NDRC 发改价格〔2021〕1093号, 关于进一步完善分时电价机制的通知 (the national rule: peak-valley spread,
sharp prices). Provincial notices are named in each file.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl

from greenstream.errors import InputError, InputErrors
from greenstream.io.text import read_utf8

PERIODS: Final = ("flat", "valley", "peak", "deep_valley", "sharp")
# Finer periods win where the notice nests them: sharp inside or next to peak, deep valley
# inside valley.
_OVERLAY_ORDER: Final = ("valley", "peak", "deep_valley", "sharp")
SLOTS_PER_DAY: Final = 96
SLOTS_PER_HOUR: Final = 4
HOLIDAY_KEYS: Final = (
    "new_year",
    "spring_festival",
    "tomb_sweeping",
    "labour_day",
    "dragon_boat",
    "mid_autumn",
    "national_day",
)
# Names in the ``holidays`` package (China) -> festival key; checked by the tests against the
# package's own 2025 calendar.
_HOLIDAY_NAMES: Final = {
    "New Year's Day": "new_year",
    "Chinese New Year's Eve": "spring_festival",
    "Chinese New Year (Spring Festival)": "spring_festival",
    "Tomb-Sweeping Day": "tomb_sweeping",
    "Labor Day": "labour_day",
    "Dragon Boat Festival": "dragon_boat",
    "Mid-Autumn Festival": "mid_autumn",
    "National Day": "national_day",
}
TARIFF_DIR: Final = "data/tariffs"


@dataclass(frozen=True)
class PeriodRule:
    """Clock intervals of each period for a set of months (or holidays / weekends)."""

    months: tuple[int, ...]
    intervals: dict[str, tuple[tuple[int, int], ...]]  # period -> (start slot, end slot)
    holidays: tuple[str, ...] = ()
    weekends_of_months: tuple[int, ...] = ()
    user_classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tariff:
    """One provincial time-of-use tariff (see the module docstring)."""

    province: str
    name: str
    notice: str
    source: str
    evidence: str
    flat_price_cny_per_kwh: float
    flat_price_note: str
    default_user_class: str
    multipliers: dict[str, dict[str, float]]
    month_multipliers: tuple[tuple[tuple[int, ...], dict[str, dict[str, float]]], ...]
    periods: tuple[PeriodRule, ...]
    holiday_periods: tuple[PeriodRule, ...]
    assumptions: dict[str, str] = field(default_factory=dict)
    limitations: str = ""

    def user_class(self, wanted: str | None) -> str:
        """The user class to price with: ``wanted``, else the tariff's default.

        Parameters
        ----------
        wanted : str or None
            A user class of the tariff.

        Returns
        -------
        str
            The user class.

        Raises
        ------
        InputErrors
            If the class is not in the tariff.
        """
        cls = wanted or self.default_user_class
        if cls not in self.multipliers:
            raise InputErrors.single(
                f"<tariff {self.province}>",
                f"unknown user class {cls!r} (one of {', '.join(sorted(self.multipliers))})",
                field="tariff.user_class",
            )
        return cls

    def with_flat_price(self, price: float | None) -> Tariff:
        """The tariff with its flat price replaced (e.g. by a site's own contract price).

        Parameters
        ----------
        price : float or None
            Flat price, CNY/kWh; the tariff unchanged when None.

        Returns
        -------
        Tariff
            A new tariff.
        """
        if price is None:
            return self
        from dataclasses import replace

        return replace(
            self, flat_price_cny_per_kwh=float(price), flat_price_note="given in the site file"
        )

    def multiplier_table(self, user_class: str, month: int) -> dict[str, float]:
        """Period -> price relative to flat for one user class and month.

        Parameters
        ----------
        user_class : str
            A user class of the tariff.
        month : int
            Month, 1-12.

        Returns
        -------
        dict of str to float
            Period -> multiplier of the flat price (dimensionless).

        Examples
        --------
        >>> tariff = tariff_for("CN-GD")
        >>> tariff.multiplier_table(tariff.user_class(None), 7)["peak"]
        1.7
        """
        table = dict(self.multipliers[user_class])
        for months, overrides in self.month_multipliers:
            if month in months and user_class in overrides:
                table.update(overrides[user_class])
        return table


def _clock_to_slot(text: str) -> int:
    hh, mm = text.strip().split(":")
    hour, minute = int(hh), int(mm)
    if not (0 <= hour <= 24 and minute in (0, 15, 30, 45)) or (hour == 24 and minute):
        raise ValueError(f"bad clock time {text!r} (HH:MM on the quarter hour, up to 24:00)")
    return hour * SLOTS_PER_HOUR + minute // 15


def parse_interval(text: str) -> tuple[int, int]:
    """``"22:00-06:00"`` -> (88, 24) quarter-hour slots; the end is exclusive and may wrap.

    Parameters
    ----------
    text : str
        ``HH:MM-HH:MM`` in local time.

    Returns
    -------
    tuple of (int, int)
        First and end quarter-hour slot of the day (0-96).

    Examples
    --------
    >>> parse_interval("22:00-06:00"), parse_interval("08:00-11:30")
    ((88, 24), (32, 46))
    """
    start, end = text.split("-")
    a, b = _clock_to_slot(start), _clock_to_slot(end)
    if a == b:
        raise ValueError(f"empty interval {text!r}")
    return a, b


def _slot_mask(intervals: tuple[tuple[int, int], ...]) -> npt.NDArray[np.bool_]:
    mask = np.zeros(SLOTS_PER_DAY, dtype=bool)
    for a, b in intervals:
        if a < b:
            mask[a:b] = True
        else:  # wraps past midnight
            mask[a:] = True
            mask[: b % SLOTS_PER_DAY] = True
    return mask


def _rule(raw: dict[str, Any], where: str, errors: list[InputError], file: str) -> PeriodRule:
    intervals: dict[str, tuple[tuple[int, int], ...]] = {}
    for period in _OVERLAY_ORDER:
        items = raw.get(period)
        if items is None:
            continue
        parsed = []
        for i, text in enumerate(items):
            try:
                parsed.append(parse_interval(str(text)))
            except ValueError as exc:
                errors.append(InputError(file, None, f"{where}.{period}[{i}]", str(exc)))
        intervals[period] = tuple(parsed)
    months = tuple(int(m) for m in raw.get("months", ()))
    for m in months:
        if not 1 <= m <= 12:
            errors.append(InputError(file, None, f"{where}.months", f"month {m} not in 1..12"))
    holidays = tuple(str(h) for h in raw.get("holidays", ()))
    for h in holidays:
        if h not in HOLIDAY_KEYS:
            errors.append(
                InputError(
                    file,
                    None,
                    f"{where}.holidays",
                    f"unknown holiday {h!r} (one of {', '.join(HOLIDAY_KEYS)})",
                )
            )
    return PeriodRule(
        months=months,
        intervals=intervals,
        holidays=holidays,
        weekends_of_months=tuple(int(m) for m in raw.get("weekends_of_months", ())),
        user_classes=tuple(str(c) for c in raw.get("user_classes", ())),
    )


def parse_tariff(doc: dict[str, Any], file: str) -> Tariff:
    """A :class:`Tariff` from a parsed tariff document; every problem raised at once.

    Parameters
    ----------
    doc : dict of str to Any
        The parsed YAML / JSON document (prices in CNY/kWh).
    file : str
        Name of the source, for the errors.

    Returns
    -------
    Tariff
        The tariff.

    Raises
    ------
    InputErrors
        Every problem of the document.
    """
    errors: list[InputError] = []
    for key in ("province", "notice", "source", "multipliers", "periods", "default_user_class"):
        if key not in doc:
            errors.append(InputError(file, None, key, "missing"))
    InputErrors.raise_if_any(errors)
    flat = doc.get("flat_price_cny_per_kwh")
    flat_note = str(doc.get("flat_price_assumption") or doc.get("flat_price_source") or "")
    if flat is not None and not flat_note:
        errors.append(
            InputError(
                file,
                None,
                "flat_price_cny_per_kwh",
                "a flat price needs flat_price_source or flat_price_assumption",
            )
        )
    multipliers: dict[str, dict[str, float]] = {}
    sources = doc.get("multiplier_sources") or {}
    assumptions = doc.get("multiplier_assumptions") or {}
    for cls, table in (doc.get("multipliers") or {}).items():
        multipliers[str(cls)] = {}
        for period, value in table.items():
            if period not in PERIODS:
                errors.append(
                    InputError(file, None, f"multipliers.{cls}.{period}", "unknown period")
                )
                continue
            if period != "flat" and period not in sources and period not in assumptions:
                errors.append(
                    InputError(
                        file,
                        None,
                        f"multipliers.{cls}.{period}",
                        "no multiplier_sources or multiplier_assumptions entry for this period",
                    )
                )
            try:
                multipliers[str(cls)][period] = float(value)
            except (TypeError, ValueError):
                errors.append(InputError(file, None, f"multipliers.{cls}.{period}", "not a number"))
        multipliers[str(cls)].setdefault("flat", 1.0)
    month_multipliers = []
    for i, entry in enumerate(doc.get("month_multipliers") or ()):
        months = tuple(int(m) for m in entry.get("months", ()))
        overrides = {
            str(k): {p: float(v) for p, v in t.items()} for k, t in entry.items() if k != "months"
        }
        for cls in overrides:
            if cls not in multipliers:
                errors.append(
                    InputError(file, None, f"month_multipliers[{i}].{cls}", "unknown user class")
                )
        month_multipliers.append((months, overrides))
    periods = tuple(
        _rule(r, f"periods[{i}]", errors, file) for i, r in enumerate(doc.get("periods") or ())
    )
    holiday_periods = tuple(
        _rule(r, f"holiday_periods[{i}]", errors, file)
        for i, r in enumerate(doc.get("holiday_periods") or ())
    )
    covered = {m for r in periods for m in r.months}
    missing = sorted(set(range(1, 13)) - covered)
    if missing:
        errors.append(InputError(file, None, "periods", f"months {missing} have no periods"))
    for cls, table in multipliers.items():
        used = {
            p
            for r in (*periods, *holiday_periods)
            if not r.user_classes or cls in r.user_classes
            for p in r.intervals
        }
        for p in sorted(used - set(table)):
            errors.append(
                InputError(file, None, f"multipliers.{cls}", f"no multiplier for period {p!r}")
            )
    if str(doc.get("default_user_class")) not in multipliers:
        errors.append(
            InputError(file, None, "default_user_class", "not one of the multipliers' classes")
        )
    InputErrors.raise_if_any(errors)
    return Tariff(
        province=str(doc["province"]),
        name=str(doc.get("name", doc["province"])),
        notice=str(doc["notice"]),
        source=" ".join(str(doc["source"]).split()),
        evidence=str(doc.get("evidence", "")),
        flat_price_cny_per_kwh=float(flat) if flat is not None else float("nan"),
        flat_price_note=" ".join(flat_note.split()),
        default_user_class=str(doc["default_user_class"]),
        multipliers=multipliers,
        month_multipliers=tuple(month_multipliers),
        periods=periods,
        holiday_periods=holiday_periods,
        assumptions={k: " ".join(str(v).split()) for k, v in assumptions.items()},
        limitations=" ".join(str(doc.get("limitations", "")).split()),
    )


def load_tariff_file(path: Path) -> Tariff:
    """A tariff from a YAML or JSON file of the same format as the packaged ones.

    Parameters
    ----------
    path : pathlib.Path
        A ``.yaml`` / ``.yml`` / ``.json`` file.

    Returns
    -------
    Tariff
        The tariff.

    Raises
    ------
    InputErrors
        If the file cannot be read or parsed, or its content is invalid.
    """
    import yaml

    text = read_utf8(path)
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputErrors.single(str(path), f"not valid YAML/JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InputErrors.single(str(path), "a tariff file holds one mapping")
    return parse_tariff(doc, str(path))


@functools.cache
def builtin_tariffs() -> dict[str, Tariff]:
    """The packaged tariffs by province code (``CN-GD``, ...)."""
    import yaml

    found: dict[str, Tariff] = {}
    folder = resources.files("greenstream.levers.energy").joinpath(TARIFF_DIR)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        doc = yaml.safe_load(entry.read_text(encoding="utf-8"))
        tariff = parse_tariff(doc, f"greenstream/levers/energy/{TARIFF_DIR}/{entry.name}")
        found[tariff.province] = tariff
    return found


def tariff_for(province: str) -> Tariff:
    """The packaged tariff of a province, or an :class:`InputErrors` naming the ones there are.

    Parameters
    ----------
    province : str
        ISO 3166-2 code (``CN-GD``).

    Returns
    -------
    Tariff
        The province's time-of-use tariff, with its notice as source.
    """
    tariffs = builtin_tariffs()
    if province not in tariffs:
        raise InputErrors.single(
            "<tariff>",
            f"no packaged tariff for {province!r} (packaged: {', '.join(sorted(tariffs))}; "
            "give a tariff file instead)",
            field="tariff.province",
        )
    return tariffs[province]


@functools.cache
def holiday_calendar(year: int) -> dict[date, str]:
    """Festival key of every public-holiday date of ``year``.

    A festival's break is the run of consecutive days off (public holidays, substituted days
    off and weekends) around its named days; every holiday or substituted day off in that run
    takes the festival's key (``Day off (substituted from ...)`` days have no festival name in
    the ``holidays`` package).

    Parameters
    ----------
    year : int
        Calendar year.

    Returns
    -------
    dict of datetime.date to str
        Date -> festival key.
    """
    import holidays

    cal = holidays.country_holidays("CN", years=(year - 1, year, year + 1))
    first, last = date(year - 1, 12, 1), date(year + 1, 1, 31)
    out: dict[date, str] = {}
    run: list[date] = []
    day = first
    while day <= last + timedelta(days=1):
        off = day <= last and (day in cal or day.weekday() >= 5)
        if off:
            run.append(day)
        elif run:
            keys = [_HOLIDAY_NAMES[cal[d]] for d in run if cal.get(d) in _HOLIDAY_NAMES]
            if keys:
                key = max(set(keys), key=keys.count)
                for d in run:
                    if d in cal and d.year == year:
                        out[d] = _HOLIDAY_NAMES.get(cal[d], key)
            run = []
        day += timedelta(days=1)
    return out


def _day_codes(
    rules: tuple[PeriodRule, ...], holiday_rules: tuple[PeriodRule, ...], user_class: str
) -> npt.NDArray[np.int8]:
    """96 period codes (index into PERIODS) of one day: the month's rules laid over each other
    (finer periods last), then the day's holiday or weekend rules on top of them."""
    codes = np.zeros(SLOTS_PER_DAY, dtype=np.int8)  # flat
    for layer in (rules, holiday_rules):
        for period in _OVERLAY_ORDER:
            code = PERIODS.index(period)
            for rule in layer:
                if rule.user_classes and user_class not in rule.user_classes:
                    continue
                if period in rule.intervals:
                    codes[_slot_mask(rule.intervals[period])] = code
    return codes


def hourly_tariff(tariff: Tariff, year: int, *, user_class: str | None = None) -> pl.DataFrame:
    """One row per hour of ``year`` (China Standard Time, naive local clock):
    ``hour_start, month, period, price_cny_per_kwh, holiday``.

    ``period`` is the period of most of the hour's quarter-hours (ties: the higher price);
    ``price_cny_per_kwh`` is the mean of its four quarter-hour prices.

    Parameters
    ----------
    tariff : Tariff
        The tariff.
    year : int
        Calendar year.
    user_class : str, optional
        A user class; the tariff's default when None.

    Returns
    -------
    polars.DataFrame
        8,760 or 8,784 rows; prices in CNY/kWh.
    """
    cls = tariff.user_class(user_class)
    first = date(year, 1, 1)
    days = (date(year + 1, 1, 1) - first).days
    dates = [first + timedelta(days=i) for i in range(days)]
    holidays = holiday_calendar(year)
    # day types: (month, holiday key or "", weekend) -> code row
    rows: dict[tuple[int, str, bool], int] = {}
    table: list[npt.NDArray[np.int8]] = []
    day_row = np.empty(days, dtype=np.int32)
    for i, d in enumerate(dates):
        key = (d.month, holidays.get(d, ""), d.weekday() >= 5)
        if key not in rows:
            month, holiday, weekend = key
            rules = tuple(r for r in tariff.periods if month in r.months)
            extra = tuple(
                r
                for r in tariff.holiday_periods
                if (holiday and holiday in r.holidays)
                or (weekend and month in r.weekends_of_months)
            )
            rows[key] = len(table)
            table.append(_day_codes(rules, extra, cls))
        day_row[i] = rows[key]
    codes = np.stack(table)[day_row].reshape(-1)  # days x 96 quarter-hours
    months = np.repeat(np.array([d.month for d in dates], dtype=np.int8), SLOTS_PER_DAY)
    mult = np.zeros((13, len(PERIODS)))
    for m in range(1, 13):
        t = tariff.multiplier_table(cls, m)
        mult[m] = [t.get(p, np.nan) for p in PERIODS]
    slot_price = mult[months, codes] * tariff.flat_price_cny_per_kwh
    hours = days * 24
    price = slot_price.reshape(hours, SLOTS_PER_HOUR).mean(axis=1)
    # the hour's period: the most frequent code of its quarter-hours, ties to the dearer one
    by_hour = codes.reshape(hours, SLOTS_PER_HOUR)
    counts = np.stack([(by_hour == c).sum(axis=1) for c in range(len(PERIODS))], axis=1)
    rank = mult[months[::SLOTS_PER_HOUR]] * 1e-6  # tie-break by price
    period = np.argmax(counts + np.nan_to_num(rank), axis=1)
    hol = np.repeat(np.array([d in holidays for d in dates]), 24)
    start = np.datetime64(f"{year}-01-01T00:00", "us")
    return pl.DataFrame(
        {
            "hour_start": pl.Series(start + np.arange(hours) * np.timedelta64(1, "h")),
            "month": pl.Series(np.repeat(months[::SLOTS_PER_DAY], 24), dtype=pl.Int8),
            "period": pl.Series(np.array(PERIODS)[period]).cast(pl.Enum(list(PERIODS))),
            "price_cny_per_kwh": price,
            "holiday": hol,
        }
    )


def describe(tariff: Tariff) -> dict[str, Any]:
    """Provenance of a tariff as one flat record (for tables, the API and reports).

    Parameters
    ----------
    tariff : Tariff
        The tariff.

    Returns
    -------
    dict of str to Any
        Province, name, notice, evidence, source, user classes and flat price (CNY/kWh).
    """
    return {
        "province": tariff.province,
        "name": tariff.name,
        "notice": tariff.notice,
        "evidence": tariff.evidence,
        "source": tariff.source,
        "user_classes": sorted(tariff.multipliers),
        "default_user_class": tariff.default_user_class,
        "flat_price_cny_per_kwh": tariff.flat_price_cny_per_kwh,
        "flat_price_note": tariff.flat_price_note,
        "assumptions": tariff.assumptions,
        "limitations": tariff.limitations,
    }
