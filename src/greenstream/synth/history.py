"""Deterministic synthetic daily parcel volumes per hub over two years, with the Chinese
shopping festivals and holidays (``data/history_parameters.csv``, every value a labelled
assumption): the demo's, tests' and benchmark's history for the event forecast.

The forecaster is also evaluated on history made apart from this generator (tests/forecast/):
its coverage figure must not rest on this generator's own assumptions.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import polars as pl


@cache
def history_parameters() -> dict[str, str]:
    """The generator's parameters, ``name -> value`` as text, from ``data/history_parameters.csv``.

    Every row there is a labelled assumption (``assumption = true``, source "greenstream
    assumption") with its unit; list values are ``;``-separated.

    Returns
    -------
    dict of str to str
        Parameter name -> value as written in the file (e.g. ``national_parcels_per_day``,
        parcels per day; ``annual_growth``, fraction per year).

    Examples
    --------
    >>> history_parameters()["hubs"]
    '50'
    """
    path = resources.files("greenstream.synth").joinpath("data/history_parameters.csv")
    with resources.as_file(path) as p:
        frame = pl.read_csv(p, infer_schema=False)
    return dict(frame.select("name", "value").iter_rows())


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(";")]


@cache
def provinces() -> list[str]:
    """The 31 mainland provinces (ISO 3166-2 codes of the factor data's grid regions)."""
    path = resources.files("greenstream.factors").joinpath("data/grid_regions.csv")
    with resources.as_file(path) as p:
        codes = pl.read_csv(p)["region"].to_list()
    return sorted(c for c in codes if c.startswith("CN-") and len(c) == 5)


def hub_table(seed: int = 7) -> pl.DataFrame:
    """The synthetic hubs: ``hub_id``, ``province`` and ``weight`` (share of the national volume).

    Every mainland province gets one hub and the remaining hubs (``hubs`` in
    :func:`history_parameters`) go to provinces drawn in proportion to a lognormal province size;
    a hub's weight is its province's size times a uniform 0.5-1.5 draw, normalised to sum to 1.
    A synthetic assumption, not a fact about any operator.

    Parameters
    ----------
    seed : int, default 7
        Seed of the NumPy generator; the same seed gives the same table.

    Returns
    -------
    polars.DataFrame
        ``hub_id`` (``H00``...), ``province`` (ISO 3166-2 code), ``weight`` (fraction of the
        national volume, summing to 1).

    Examples
    --------
    >>> hubs = hub_table()
    >>> hubs.height, round(hubs["weight"].sum(), 9)
    (50, 1.0)
    >>> hubs["province"].n_unique()
    31
    """
    rng = np.random.default_rng(seed)
    n = int(history_parameters()["hubs"])
    provs = provinces()
    size = rng.lognormal(0.0, 0.8, len(provs))
    extra = rng.choice(len(provs), n - len(provs), p=size / size.sum())
    owner = np.concatenate([np.arange(len(provs)), extra])
    weight = size[owner] * rng.uniform(0.5, 1.5, n)
    return pl.DataFrame(
        {
            "hub_id": [f"H{i:02d}" for i in range(n)],
            "province": [provs[i] for i in owner],
            "weight": weight / weight.sum(),
        }
    )


def _event_multiplier(days: list[dt.date]) -> np.ndarray:
    import chinese_calendar as cc

    p = history_parameters()
    weekday = _floats(p["weekday_factors"])
    after = _floats(p["double_11_after"])
    ramp = int(p["spring_festival_ramp_days"])
    mult = np.array([weekday[d.weekday()] for d in days])
    spring_days = []
    for i, d in enumerate(days):
        try:
            hol, name = cc.get_holiday_detail(d)
        except NotImplementedError:
            hol, name = False, None
        if hol and name == "Spring Festival":
            spring_days.append(i)
        off11 = (d - dt.date(d.year, 11, 11)).days
        if off11 == 0:
            mult[i] *= float(p["double_11_day"])
        elif -21 <= off11 < 0:
            mult[i] *= 1 + (float(p["double_11_presale_peak"]) - 1) * (21 + off11) / 21
        elif 1 <= off11 <= len(after):
            mult[i] *= after[off11 - 1]
        if (d.month, d.day) == (6, 18):
            mult[i] *= float(p["mid_year_618_day"])
        if (d.month, d.day) == (12, 12):
            mult[i] *= float(p["double_12_day"])
    low = float(p["spring_festival_holiday"])
    for i in spring_days:
        mult[i] *= low
    # the fall before and the recovery after each holiday block
    blocks = np.split(np.array(spring_days), np.flatnonzero(np.diff(spring_days) > 1) + 1)
    for block in blocks:
        if len(block) == 0:
            continue
        for k in range(1, ramp + 1):
            share = 1 - (1 - low) * (ramp - k + 1) / (ramp + 1)
            if block[0] - k >= 0:
                mult[block[0] - k] *= share
            if block[-1] + k < len(days):
                mult[block[-1] + k] *= share
    return mult


def daily_history(
    *, start: dt.date = dt.date(2023, 1, 1), days: int = 730, seed: int = 11
) -> pl.DataFrame:
    """Daily parcels per hub: ``ds`` (Date), ``hub_id``, ``province``, ``shipments``.

    The national volume is ``national_parcels_per_day * (1 + annual_growth) ** years`` times the
    event multiplier (weekday pattern, Double 11 with its pre-sale ramp and after-days, 618,
    Double 12, the Spring Festival holidays of the ``chinese_calendar`` package with their fall
    and recovery) times lognormal noise; each hub gets its :func:`hub_table` weight of it with its
    own lognormal noise. Every parameter is a labelled assumption of ``history_parameters.csv``.

    Parameters
    ----------
    start : datetime.date, default 2023-01-01
        First day of the history.
    days : int, default 730
        Number of days, count.
    seed : int, default 11
        Seed of the NumPy generator (and of :func:`hub_table`); the same seed gives the same frame.

    Returns
    -------
    polars.DataFrame
        One row per hub and day: ``ds`` (Date), ``hub_id``, ``province``, ``shipments`` (parcels
        per day, Int64).

    Examples
    --------
    >>> import datetime as dt
    >>> week = daily_history(start=dt.date(2024, 11, 5), days=7)
    >>> week.height, week["ds"].n_unique()
    (350, 7)

    Double 11 (``double_11_day`` = 2.2 times an ordinary day) is the busiest day of the week:

    >>> daily = week.group_by("ds").agg(pl.col("shipments").sum()).sort("ds")
    >>> daily.row(daily["shipments"].arg_max())[0]
    datetime.date(2024, 11, 11)
    """
    p = history_parameters()
    rng = np.random.default_rng(seed)
    hubs = hub_table(seed)
    dates = [start + dt.timedelta(days=k) for k in range(days)]
    t = np.arange(days) / 365.0
    national = (
        float(p["national_parcels_per_day"])
        * (1 + float(p["annual_growth"])) ** t
        * _event_multiplier(dates)
        * rng.lognormal(0.0, float(p["national_noise_sigma"]), days)
    )
    w = hubs["weight"].to_numpy()
    noise = rng.lognormal(0.0, float(p["hub_noise_sigma"]), (len(w), days))
    volume = np.rint(national[None, :] * w[:, None] * noise).astype(np.int64)
    return pl.DataFrame(
        {
            "ds": np.tile(np.array(dates, dtype="datetime64[D]"), len(w)),
            "hub_id": np.repeat(hubs["hub_id"].to_numpy(), days),
            "province": np.repeat(hubs["province"].to_numpy(), days),
            "shipments": volume.reshape(-1),
        }
    ).with_columns(pl.col("ds").cast(pl.Date))


def synth_history_command(out_dir: Any, seed: int, file_format: Any, fmt: Any) -> None:
    """``greenstream synth --history``: write ``history.<format>`` (daily parcels per hub).

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Directory the file is written to (created if missing).
    seed : int
        Seed of :func:`daily_history`.
    file_format : str or enum
        File format (``parquet``, ``arrow`` -> Parquet, ``csv``, ``ndjson``).
    fmt : greenstream.clikit.TableFormat
        Format of the printed summary (table, json, csv).
    """
    from pathlib import Path

    from greenstream.clikit import TableFormat, handle_errors, print_rows
    from greenstream.io.tables import write_table

    with handle_errors():
        frame = daily_history(seed=seed)
        ext = getattr(file_format, "value", str(file_format))
        ext = "parquet" if ext in ("arrow", "parquet") else ext
        path = Path(out_dir) / f"history.{ext}"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_table(frame, path)
        print_rows(
            [{"table": "history", "rows": frame.height, "path": str(path)}],
            fmt if isinstance(fmt, TableFormat) else TableFormat.table,
            title="Synthetic history",
        )
