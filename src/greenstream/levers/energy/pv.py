"""PV yield with pvlib, offline: clear sky, calibrated to the site's climate, measured first.

The chain for one fixed array, hour by hour (interval midpoints, China Standard Time):

1. **Clear sky**: Ineichen-Perez GHI/DNI/DHI with the Linke turbidity climatology that pvlib ships
   (``LinkeTurbidities.h5``) and the site altitude from pvlib's ``Altitude.h5``
   (:func:`clear_sky`).
2. **Calibration to the climate**: each month's clear-sky GHI is scaled by that month's
   *clear-sky index* ``k_m = GHI_measured_m / GHI_clearsky_m`` (:func:`clear_sky_index`), taken
   from a station table with its source (``data/pv_calibration.csv`` or the user's); the scaled
   GHI is split into beam and diffuse with the Erbs correlation, so a cloudier month also gets a
   more diffuse sky (:func:`all_sky_irradiance`).
3. **Plane of array**: Hay-Davies transposition (:func:`plane_of_array`).
4. **Cell temperature**: SAPM (King et al. 2004), open rack (:func:`cell_temperature`).
5. **DC and AC**: PVWatts DC with the module type's temperature coefficient, PVWatts system
   losses, PVWatts inverter clipped at ``kWp / dc_ac_ratio`` (:func:`ac_power_kw`).

Without a calibration table the result is the clear-sky yield, an upper bound, and says so.
Measured generation replaces the model hour by hour where it exists (:func:`with_measured`).
Every parameter comes from ``data/pv_parameters.csv`` (source or labelled assumption).

References
----------
Ineichen P., Perez R. (2002), A new airmass independent formulation for the Linke turbidity
coefficient, Solar Energy 73(3):151-157. Erbs D. G., Klein S. A., Duffie J. A. (1982), Estimation
of the diffuse radiation fraction for hourly, daily and monthly-average global radiation, Solar
Energy 28(4):293-302. Hay J. E., Davies J. A. (1980), Calculation of the solar radiation incident
on an inclined surface. King D. L. et al. (2004), SAND2004-3535. Dobos A. P. (2014), PVWatts
Version 5 Manual, NREL/TP-6A20-62641. Holmgren W., Hansen C., Mikofski M. (2018), pvlib python,
JOSS 3(29):884.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl

from greenstream.errors import InputError, InputErrors
from greenstream.levers.energy.sites import PVArray, Site

if TYPE_CHECKING:
    import pandas as pd

TZ: Final = "Asia/Shanghai"
FloatArray = npt.NDArray[np.float64]
CALIBRATION_COLUMNS: Final = (
    "station",
    "latitude",
    "longitude",
    "month",
    "ghi_kwh_per_m2_day",
    "source",
)
W_PER_KW: Final = 1000.0  # SI


@functools.cache
def parameters() -> dict[str, Any]:
    """``data/pv_parameters.csv`` as {parameter: value} (numbers as floats)."""
    path = resources.files("greenstream.levers.energy").joinpath("data/pv_parameters.csv")
    frame = pl.read_csv(path.read_bytes(), infer_schema=False)
    bad = frame.filter(
        pl.col("source").is_null() & (pl.col("assumption").str.to_lowercase() != "true")
    )
    if bad.height:  # pragma: no cover - packaged data invariant, checked by the tests
        raise ValueError(f"pv_parameters.csv rows without source: {bad['parameter'].to_list()}")
    out: dict[str, Any] = {}
    for name, value in frame.select("parameter", "value").iter_rows():
        try:
            out[name] = float(value)
        except ValueError:
            out[name] = value
    return out


def parameter_table() -> pl.DataFrame:
    """The PV parameters with their sources (shown by ``greenstream energy pv --explain``)."""
    path = resources.files("greenstream.levers.energy").joinpath("data/pv_parameters.csv")
    return pl.read_csv(path.read_bytes(), infer_schema=False)


def hour_midpoints(year: int) -> pd.DatetimeIndex:
    """Midpoints of every hour of ``year`` in China Standard Time (8,760 or 8,784).

    Parameters
    ----------
    year : int
        Calendar year.

    Returns
    -------
    pandas.DatetimeIndex
        One timestamp per hour at hh:30, Asia/Shanghai (8,784 in 2024: the first is
        2024-01-01 00:30+08:00).
    """
    import pandas as pd

    starts = pd.date_range(f"{year}-01-01", f"{year + 1}-01-01", freq="h", tz=TZ, inclusive="left")
    return starts + pd.Timedelta(minutes=30)


def clear_sky(
    latitude: float, longitude: float, times: pd.DatetimeIndex, altitude_m: float | None = None
) -> pd.DataFrame:
    """Ineichen-Perez clear-sky GHI, DNI, DHI (W/m2) with pvlib's Linke turbidity climatology.

    Parameters
    ----------
    latitude, longitude : float
        Degrees north / east.
    times : pandas.DatetimeIndex
        Time-zone aware instants.
    altitude_m : float, optional
        Metres above sea level; default: pvlib's altitude map (``Altitude.h5``).

    Returns
    -------
    pandas.DataFrame
        ``ghi``, ``dni``, ``dhi`` in W/m2, plus ``zenith`` and ``azimuth`` (degrees) of the sun.

    References
    ----------
    Ineichen and Perez (2002), Solar Energy 73(3):151-157.
    """
    import pvlib

    alt = (
        float(pvlib.location.lookup_altitude(latitude, longitude))
        if altitude_m is None
        else altitude_m
    )
    loc = pvlib.location.Location(latitude, longitude, tz=TZ, altitude=alt)
    solpos = loc.get_solarposition(times)
    cs = loc.get_clearsky(times, model="ineichen", solar_position=solpos)
    cs["zenith"] = solpos["apparent_zenith"]
    cs["azimuth"] = solpos["azimuth"]
    return cs


def clear_sky_index(
    measured_ghi_kwh_per_m2_day: FloatArray, clearsky_ghi_w_per_m2: FloatArray, months: FloatArray
) -> FloatArray:
    """Monthly clear-sky index ``k_m`` = measured mean daily GHI / modelled clear-sky mean daily
    GHI, for months 1..12 (index 0 = January).

    Parameters
    ----------
    measured_ghi_kwh_per_m2_day : array of 12
        Long-term mean daily global horizontal irradiation of each month, kWh/m2/day.
    clearsky_ghi_w_per_m2 : array
        Hourly clear-sky GHI (W/m2 over one hour = Wh/m2).
    months : array
        Month (1..12) of each hour.

    Returns
    -------
    numpy.ndarray of 12
        ``k_m`` (dimensionless, 0..1 in any real climate).
    """
    days = np.bincount(months.astype(np.int64), minlength=13)[1:] / 24.0
    cs_kwh = (
        np.bincount(months.astype(np.int64), weights=clearsky_ghi_w_per_m2, minlength=13)[1:]
        / W_PER_KW
    )
    cs_daily = cs_kwh / days
    return np.asarray(measured_ghi_kwh_per_m2_day, dtype=np.float64) / cs_daily


def all_sky_irradiance(clearsky: pd.DataFrame, monthly_index: FloatArray | None) -> pd.DataFrame:
    """GHI scaled by the month's clear-sky index, split into DNI/DHI with Erbs (W/m2).

    Without ``monthly_index`` the clear-sky components are returned unchanged.

    References
    ----------
    Erbs, Klein and Duffie (1982), Solar Energy 28(4):293-302.

    Parameters
    ----------
    clearsky : pandas.DataFrame
        Clear-sky ``ghi``, ``dni``, ``dhi`` per hour, W/m2.
    monthly_index : numpy.ndarray or None
        Clear-sky index per month (12 values, dimensionless ratio measured / clear-sky GHI).

    Returns
    -------
    pandas.DataFrame
        ``ghi``, ``dni``, ``dhi`` per hour, W/m2.
    """
    import pvlib

    if monthly_index is None:
        return clearsky[["ghi", "dni", "dhi"]]
    k = np.asarray(monthly_index, dtype=np.float64)[clearsky.index.month.to_numpy() - 1]
    ghi = clearsky["ghi"] * k
    parts = pvlib.irradiance.erbs(ghi, clearsky["zenith"], clearsky.index)
    out = parts[["dni", "dhi"]].copy()
    out.insert(0, "ghi", ghi)
    return out.fillna(0.0)


def plane_of_array(
    irradiance: pd.DataFrame, sun: pd.DataFrame, tilt_deg: float, azimuth_deg: float
) -> pd.Series:
    """Global irradiance on the array plane (W/m2), Hay-Davies sky diffuse model.

    References
    ----------
    Hay and Davies (1980); pvlib.irradiance.get_total_irradiance.

    Parameters
    ----------
    irradiance : pandas.DataFrame
        ``ghi``, ``dni``, ``dhi`` per hour, W/m2.
    sun : pandas.DataFrame
        Solar position per hour (``apparent_zenith``, ``azimuth``, degrees).
    tilt_deg : float
        Array tilt from horizontal, degrees.
    azimuth_deg : float
        Array azimuth, degrees clockwise from north (180 = south).

    Returns
    -------
    pandas.Series
        Plane-of-array irradiance, W/m2.
    """
    import pvlib

    dni_extra = pvlib.irradiance.get_extra_radiation(irradiance.index)
    poa = pvlib.irradiance.get_total_irradiance(
        surface_tilt=tilt_deg,
        surface_azimuth=azimuth_deg,
        solar_zenith=sun["zenith"],
        solar_azimuth=sun["azimuth"],
        dni=irradiance["dni"],
        ghi=irradiance["ghi"],
        dhi=irradiance["dhi"],
        dni_extra=dni_extra,
        model="haydavies",
        albedo=float(parameters()["albedo"]),
    )
    series: pd.Series = poa["poa_global"].fillna(0.0).clip(lower=0.0)
    return series


def cell_temperature(poa_w_per_m2: pd.Series, temp_air_c: FloatArray | float) -> pd.Series:
    """SAPM cell temperature (degC) on an open rack (King et al. 2004, SAND2004-3535).

    Parameters
    ----------
    poa_w_per_m2 : pandas.Series
        Plane-of-array irradiance, W/m2.
    temp_air_c : numpy.ndarray or float
        Air temperature, degrees Celsius.

    Returns
    -------
    pandas.Series
        Cell temperature, degrees Celsius.
    """
    import pvlib

    p = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"][str(parameters()["sapm_mounting"])]
    out: pd.Series = pvlib.temperature.sapm_cell(
        poa_w_per_m2, temp_air_c, float(parameters()["wind_speed_m_per_s"]), **p
    )
    return out


def ac_power_kw(poa_w_per_m2: pd.Series, temp_cell_c: pd.Series, array: PVArray) -> FloatArray:
    """AC power of the array (kW): PVWatts DC, system losses, PVWatts inverter.

    Parameters
    ----------
    poa_w_per_m2 : pandas.Series
        Plane-of-array irradiance, W/m2.
    temp_cell_c : pandas.Series
        Cell temperature, degC.
    array : PVArray
        ``kwp`` (DC nameplate at STC), ``losses_pct`` (default: PVWatts v5 losses),
        ``dc_ac_ratio`` and ``module_type``.

    References
    ----------
    Dobos (2014), PVWatts Version 5 Manual, NREL/TP-6A20-62641.
    """
    import pvlib

    par = parameters()
    gamma = float(par[f"gamma_pdc_{array.module_type}"])
    losses = array.losses_pct if array.losses_pct is not None else float(par["system_losses_pct"])
    ratio = array.dc_ac_ratio if array.dc_ac_ratio is not None else float(par["dc_ac_ratio"])
    pdc0_w = array.kwp * W_PER_KW
    dc = pvlib.pvsystem.pvwatts_dc(poa_w_per_m2, temp_cell_c, pdc0_w, gamma) * (
        1.0 - losses / 100.0
    )
    ac = pvlib.inverter.pvwatts(
        dc,
        pdc0_w / ratio / float(par["inverter_eta_nominal"]),
        eta_inv_nom=float(par["inverter_eta_nominal"]),
        eta_inv_ref=float(par["inverter_eta_reference"]),
    )
    return np.clip(np.asarray(ac, dtype=np.float64), 0.0, None) / W_PER_KW


@dataclass(frozen=True)
class Calibration:
    """A station's monthly mean daily GHI (kWh/m2/day) with its source, and how far it is."""

    station: str
    latitude: float
    longitude: float
    ghi_kwh_per_m2_day: FloatArray  # 12 months
    temp_air_c: FloatArray | None
    source: str
    distance_km: float = 0.0

    def describe(self) -> str:
        """The calibration as text: station, distance when over 0.5 km, and source.

        Returns
        -------
        str
            E.g. ``"monthly GHI of Beijing (12 km away): <source>"``.
        """
        where = f" ({self.distance_km:.0f} km away)" if self.distance_km > 0.5 else ""
        return f"monthly GHI of {self.station}{where}: {self.source}"


def read_calibration_table(source: Path | bytes, *, file: str | None = None) -> pl.DataFrame:
    """A calibration table (CSV): ``station, latitude, longitude, month, ghi_kwh_per_m2_day,
    source`` and optionally ``temp_air_c``; twelve months per station, each row with a source.

    Parameters
    ----------
    source : pathlib.Path or bytes
        The CSV file, or its bytes.
    file : str, optional
        Name of the source for the errors (the path when None).

    Returns
    -------
    polars.DataFrame
        The checked table (GHI in kWh/m2/day, coordinates in decimal degrees).

    Raises
    ------
    InputErrors
        Every bad row.
    """
    name = file or (str(source) if isinstance(source, Path) else "<calibration>")
    try:
        raw = pl.read_csv(source, infer_schema=False, schema_overrides={"source": pl.String})
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputErrors.single(name, f"cannot read: {exc}") from None
    missing = [c for c in CALIBRATION_COLUMNS if c not in raw.columns]
    if missing:
        raise InputErrors([InputError(name, None, c, "missing column") for c in missing])
    typed = raw.with_row_index("__row", offset=1).with_columns(
        pl.col("latitude", "longitude", "ghi_kwh_per_m2_day").cast(pl.Float64, strict=False),
        pl.col("month").cast(pl.Int64, strict=False),
        *(
            [pl.col("temp_air_c").cast(pl.Float64, strict=False)]
            if "temp_air_c" in raw.columns
            else [pl.lit(None, pl.Float64).alias("temp_air_c")]
        ),
    )
    errors: list[InputError] = []
    checks = [
        ("latitude", ~pl.col("latitude").is_between(-90, 90), "missing or not in -90..90"),
        ("longitude", ~pl.col("longitude").is_between(-180, 180), "missing or not in -180..180"),
        ("month", ~pl.col("month").is_between(1, 12), "missing or not in 1..12"),
        (
            "ghi_kwh_per_m2_day",
            ~pl.col("ghi_kwh_per_m2_day").is_between(0.0, 12.0),
            "missing or not in 0..12 kWh/m2/day",
        ),
        ("source", pl.col("source").is_null(), "every row needs its source"),
    ]
    for col, bad, reason in checks:
        for (row,) in typed.filter(bad.fill_null(True)).select("__row").iter_rows():
            errors.append(InputError(name, int(row), col, reason))
    counts = typed.group_by("station").agg(pl.col("month").n_unique().alias("n"))
    for station, n in counts.filter(pl.col("n") != 12).iter_rows():
        errors.append(
            InputError(name, None, "month", f"station {station!r} has {n} months, not 12")
        )
    InputErrors.raise_if_any(errors)
    return typed.drop("__row").sort("station", "month")


@functools.cache
def builtin_calibration() -> pl.DataFrame:
    """The packaged calibration stations (``data/pv_calibration.csv``)."""
    path = resources.files("greenstream.levers.energy").joinpath("data/pv_calibration.csv")
    return read_calibration_table(
        path.read_bytes(), file="greenstream/levers/energy/data/pv_calibration.csv"
    )


def nearest_calibration(
    latitude: float, longitude: float, table: pl.DataFrame | None = None
) -> Calibration | None:
    """The station of ``table`` (default: the packaged one) nearest to a site, or None.

    Parameters
    ----------
    latitude, longitude : float
        The site, decimal degrees.
    table : polars.DataFrame, optional
        A calibration table (:func:`read_calibration_table`); the packaged one when None.

    Returns
    -------
    Calibration or None
        The nearest station with its great-circle distance (km), or None for an empty table.
    """
    from greenstream.geo import great_circle_distance_km_scalar

    frame = builtin_calibration() if table is None else table
    if frame.height == 0:
        return None
    stations = frame.group_by("station", maintain_order=True).agg(
        pl.col("latitude").first(), pl.col("longitude").first()
    )
    dist = [
        great_circle_distance_km_scalar(latitude, longitude, la, lo)
        for la, lo in stations.select("latitude", "longitude").iter_rows()
    ]
    i = int(np.argmin(dist))
    name = str(stations["station"][i])
    rows = frame.filter(pl.col("station") == name).sort("month")
    temps = rows["temp_air_c"] if "temp_air_c" in rows.columns else pl.Series([None] * 12)
    return Calibration(
        station=name,
        latitude=float(rows["latitude"][0]),
        longitude=float(rows["longitude"][0]),
        ghi_kwh_per_m2_day=rows["ghi_kwh_per_m2_day"].to_numpy().astype(np.float64),
        temp_air_c=None if temps.null_count() else temps.to_numpy().astype(np.float64),
        source="; ".join(sorted(set(rows["source"].to_list()))),
        distance_km=float(dist[i]),
    )


def array_ac_kwh(
    site: Site, array: PVArray, year: int, calibration: Calibration | None
) -> FloatArray:
    """Hourly AC energy (kWh) of one array over ``year`` (China Standard Time hours).

    Parameters
    ----------
    site : Site
        The site (location, in decimal degrees).
    array : PVArray
        The array (capacity in kWp, tilt and azimuth in degrees).
    year : int
        Calendar year.
    calibration : Calibration or None
        Monthly GHI to scale clear-sky irradiance to; clear-sky (an upper bound) when None.

    Returns
    -------
    numpy.ndarray
        AC energy per hour, kWh (8,760 or 8,784 values).

    References
    ----------
    .. [1] Dobos, A. P. (2014), PVWatts Version 5 Manual, NREL/TP-6A20-62641 (DC model, losses,
       inverter).
    """
    times = hour_midpoints(year)
    cs = clear_sky(site.latitude, site.longitude, times, site.altitude_m)
    index = None
    temp: FloatArray | float = float(parameters()["temp_air_c"])
    if calibration is not None:
        months = times.month.to_numpy().astype(np.float64)
        index = clear_sky_index(calibration.ghi_kwh_per_m2_day, cs["ghi"].to_numpy(), months)
        if calibration.temp_air_c is not None:
            temp = calibration.temp_air_c[times.month.to_numpy() - 1]
    irr = all_sky_irradiance(cs, index)
    poa = plane_of_array(irr, cs, array.tilt_deg, array.azimuth_deg)
    tcell = cell_temperature(poa, temp)
    return ac_power_kw(poa, tcell, array)  # kW over one hour = kWh


@dataclass(frozen=True)
class PVResult:
    """Hourly PV energy of a site with how it was obtained."""

    hourly: pl.DataFrame  # hour_start, pv_kwh_modelled (+ per-array columns)
    basis: str  # "calibrated: <station and source>" or "clear-sky (upper bound)"
    calibration: Calibration | None

    @property
    def annual_kwh(self) -> float:
        """Modelled PV energy over the year, kWh."""
        return float(self.hourly["pv_kwh_modelled"].sum())


def site_pv(
    site: Site,
    year: int,
    *,
    calibration: pl.DataFrame | None = None,
    calibrate: bool = True,
    adjust: bool = True,
) -> PVResult:
    """Modelled hourly PV of every array of ``site`` (kWh), calibrated to the nearest station
    of ``calibration`` (default: the packaged stations) unless ``calibrate`` is False; with
    ``adjust`` (and a calibration) times the held-out performance adjustment of
    ``data/pv_parameters.csv`` (:func:`fit_performance_adjustment`).

    Parameters
    ----------
    site : Site
        The site and its arrays.
    year : int
        Calendar year.
    calibration : polars.DataFrame, optional
        Calibration stations (:func:`read_calibration_table`); the packaged ones when None.
    calibrate : bool, default True
        Scale to the nearest station's monthly GHI (else clear-sky, an upper bound).
    adjust : bool, default True
        Apply the fitted performance adjustment (dimensionless factor).

    Returns
    -------
    PVResult
        Hourly kWh per array and in total, with the basis used.

    References
    ----------
    .. [1] Holmgren, Hansen and Mikofski (2018), pvlib python, JOSS 3(29), 884.
    .. [2] Dobos (2014), PVWatts Version 5 Manual, NREL/TP-6A20-62641.
    """
    cal = nearest_calibration(site.latitude, site.longitude, calibration) if calibrate else None
    start = np.datetime64(f"{year}-01-01T00:00", "us")
    hours = len(hour_midpoints(year))
    columns: dict[str, Any] = {
        "hour_start": pl.Series(start + np.arange(hours) * np.timedelta64(1, "h"))
    }
    total = np.zeros(hours)
    for array in site.pv_arrays:
        kwh = array_ac_kwh(site, array, year, cal)
        columns[f"pv_kwh_{array.array_id}"] = kwh
        total += kwh
    factor = float(parameters()["performance_adjustment"]) if (adjust and cal) else 1.0
    if factor != 1.0:
        for name in [c for c in columns if c.startswith("pv_kwh_")]:
            columns[name] = columns[name] * factor
        total = total * factor
    columns["pv_kwh_modelled"] = total
    basis = (
        f"calibrated to the {cal.describe()}"
        + (f"; performance adjustment x{factor:g}" if factor != 1.0 else "")
        if cal is not None
        else "clear-sky (no calibration: an upper bound)"
    )
    return PVResult(pl.DataFrame(columns), basis, cal)


def with_measured(modelled: pl.DataFrame, measured: pl.DataFrame | None) -> pl.DataFrame:
    """Hourly PV where measured generation replaces the model hour by hour.

    ``modelled``: ``hour_start, pv_kwh_modelled``; ``measured``: ``hour_start, pv_kwh`` (hourly
    sums of the site's ``pv_generation`` meters). Returns ``hour_start, pv_kwh, pv_source``
    (``measured`` | ``modelled``).

    Parameters
    ----------
    modelled : polars.DataFrame
        Modelled PV per hour, kWh.
    measured : polars.DataFrame or None
        Measured PV per hour, kWh; all modelled when None.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime
    >>> hours = [datetime(2025, 6, 1, 10), datetime(2025, 6, 1, 11)]
    >>> modelled = pl.DataFrame({"hour_start": hours, "pv_kwh_modelled": [40.0, 50.0]})
    >>> measured = pl.DataFrame({"hour_start": hours[:1], "pv_kwh": [38.5]})
    >>> with_measured(modelled, measured).select("pv_kwh", "pv_source").rows()
    [(38.5, 'measured'), (50.0, 'modelled')]
    """
    base = modelled.select("hour_start", "pv_kwh_modelled")
    if measured is None or measured.height == 0:
        return base.select(
            "hour_start",
            pl.col("pv_kwh_modelled").alias("pv_kwh"),
            pl.lit("modelled").alias("pv_source"),
        )
    joined = base.join(
        measured.select("hour_start", pl.col("pv_kwh").alias("__m")), on="hour_start", how="left"
    )
    return joined.select(
        "hour_start",
        pl.coalesce("__m", "pv_kwh_modelled").alias("pv_kwh"),
        pl.when(pl.col("__m").is_not_null())
        .then(pl.lit("measured"))
        .otherwise(pl.lit("modelled"))
        .alias("pv_source"),
    )


@functools.cache
def published_yields() -> pl.DataFrame:
    """``data/pv_published_yields.csv``: annual yields (kWh/kWp) of Chinese cities, sourced."""
    path = resources.files("greenstream.levers.energy").joinpath("data/pv_published_yields.csv")
    return pl.read_csv(path.read_bytes(), infer_schema_length=None)


def check_against_published(
    *,
    year: int = 2025,
    calibration: pl.DataFrame | None = None,
    calibrate: bool = True,
    tilt_deg: float | None = None,
) -> pl.DataFrame:
    """Model the yield of a 1 kWp south-facing array in every city of the published-yields
    table and compare: ``city, split, published_kwh_per_kwp, modelled_raw_kwh_per_kwp,
    modelled_kwh_per_kwp, error_pct, basis``.

    ``modelled_raw`` is the physical chain (calibrated to the nearest station's monthly GHI
    unless ``calibrate`` is False). ``modelled`` multiplies it by the performance adjustment
    fitted on the ``train`` rows only (:func:`fit_performance_adjustment`), so the ``test``
    rows score a model that never saw them. The monthly GHI stations come from a measured
    irradiation data set, independent of the published yields. The tilt is the city's
    latitude (the usual fixed-tilt design) unless ``tilt_deg`` is given.

    Parameters
    ----------
    year : int, default 2025
        Weather year of the model (clear-sky and calendar).
    calibration : polars.DataFrame, optional
        Calibration stations; the packaged ones when None.
    calibrate : bool, default True
        Scale to the nearest station's monthly GHI.
    tilt_deg : float, optional
        Array tilt, degrees; each city's latitude when None.

    Returns
    -------
    polars.DataFrame
        One row per city; yields in kWh per kWp per year, error in percent.
    """
    from greenstream.levers.energy.sites import parse_sites

    rows = []
    for r in published_yields().iter_rows(named=True):
        site = parse_sites(
            {
                "site_id": r["city"],
                "province": "CN-BJ",
                "latitude": r["latitude"],
                "longitude": r["longitude"],
                "pv_arrays": [
                    {
                        "array_id": "a",
                        "kwp": 1.0,
                        "tilt_deg": tilt_deg if tilt_deg is not None else round(r["latitude"]),
                        "azimuth_deg": 180,
                    }
                ],
            },
            "<published yields>",
        )[0]
        result = site_pv(site, year, calibration=calibration, calibrate=calibrate, adjust=False)
        rows.append(
            {
                "city": r["city"],
                "split": r["split"],
                "published_kwh_per_kwp": float(r["yield_kwh_per_kwp_year"]),
                "modelled_raw_kwh_per_kwp": round(result.annual_kwh, 1),
                "basis": result.basis,
                "published_source": r["evidence"],
            }
        )
    frame = pl.DataFrame(rows)
    factor = fit_performance_adjustment(frame)
    return frame.with_columns(
        (pl.col("modelled_raw_kwh_per_kwp") * factor).round(1).alias("modelled_kwh_per_kwp"),
        pl.lit(round(factor, 4)).alias("performance_adjustment"),
    ).with_columns(
        (
            (pl.col("modelled_kwh_per_kwp") - pl.col("published_kwh_per_kwp"))
            / pl.col("published_kwh_per_kwp")
            * 100.0
        )
        .round(1)
        .alias("error_pct")
    )


def fit_performance_adjustment(check: pl.DataFrame) -> float:
    """Mean ratio published / modelled over the ``train`` rows: the one factor by which the
    physical chain (PVWatts default losses) under- or over-states the published systems.

    Parameters
    ----------
    check : polars.DataFrame
        Output of :func:`check_against_published`.

    Returns
    -------
    float
        Mean ratio published / modelled (dimensionless) over the ``train`` rows.
    """
    train = check.filter(pl.col("split") == "train")
    ratio = train["published_kwh_per_kwp"] / train["modelled_raw_kwh_per_kwp"]
    return float(ratio.mean())  # type: ignore[arg-type]


def mean_absolute_error_pct(check: pl.DataFrame, split: str | None = "test") -> float:
    """Mean absolute percentage error of :func:`check_against_published` (held-out rows by
    default).

    Parameters
    ----------
    check : polars.DataFrame
        Output of :func:`check_against_published`.
    split : str or None, default "test"
        Rows scored (``train`` or ``test``); all when None.

    Returns
    -------
    float
        Mean absolute percentage error, percent.
    """
    rows = check if split is None else check.filter(pl.col("split") == split)
    return float(rows["error_pct"].abs().mean())  # type: ignore[arg-type]


def park_plausibility(kwp: float, annual_kwh: float, modelled_kwh_per_kwp: float) -> dict[str, Any]:
    """Is a reported (capacity, annual energy) pair plausible against the modelled yield?

    Parameters
    ----------
    kwp : float
        Reported capacity, kWp.
    annual_kwh : float
        Reported energy per year, kWh.
    modelled_kwh_per_kwp : float
        Modelled specific yield at the site, kWh per kWp per year.

    Returns
    -------
    dict of str to Any
        Implied yield (kWh/kWp), capacity factor (fraction of 8,760 h) and ratio to the model.

    Examples
    --------
    1,000 kWp and 1.1 GWh a year is 1,100 kWh/kWp, a capacity factor of 1,100 / 8,760 = 0.1256:

    >>> result = park_plausibility(1000.0, 1_100_000.0, 1100.0)
    >>> result["implied_kwh_per_kwp"], result["implied_capacity_factor"], result["ratio_to_model"]
    (1100.0, 0.1256, 1.0)
    """
    implied = annual_kwh / kwp
    return {
        "capacity_kwp": kwp,
        "reported_kwh_per_year": annual_kwh,
        "implied_kwh_per_kwp": round(implied, 1),
        "modelled_kwh_per_kwp": round(modelled_kwh_per_kwp, 1),
        "implied_capacity_factor": round(implied / 8760.0, 4),
        "ratio_to_model": round(implied / modelled_kwh_per_kwp, 3),
    }
