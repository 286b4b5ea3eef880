"""Green-electricity certificates (GEC, 绿证) and green-power contracts as contractual instruments.

Since NDRC/MoF/NEA 发改能源〔2023〕1044号 (3 Aug 2023) the GEC is the sole proof of renewable
attributes of electricity in China: one certificate per MWh, for wind, solar, hydro, biomass and
other renewables. A certificate can back a market-based Scope 2 claim only once, and only after
it is retired (cancelled) for the consumer, the site and the period (GHG Protocol Scope 2
Guidance 2015, chapter 7, Scope 2 Quality Criteria 1-4: the instrument conveys the attribute, is
the only one, is retired for the claim, and is issued close to the consumption period).

Certificate file (CSV or Parquet, one row per certificate): ``serial, vintage (YYYY-MM of
generation), technology, project, province, retired_on (date), site_id, claim_year``; optional
``beneficiary``. Each certificate is 1 MWh. Checks, every bad row reported: unique serials, a
known technology, a vintage before the retirement, a retirement date, a claim year; a
certificate whose vintage is not in the claim year (or the year before) is refused as too far
from the consumption (Quality Criterion 4; 1044号 makes certificates valid two years).

Green-power contract file (绿电交易; one row per contract and month): ``contract_id, site_id,
month (YYYY-MM), mwh, technology``; optional ``bundled_certificates`` (true when the trade
came with certificates that are *also* in the certificate file: those rows are then skipped to
avoid counting the MWh twice).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import polars as pl

from greenstream.errors import InputError, InputErrors

TECHNOLOGIES: Final = (
    "wind",
    "solar",
    "hydro",
    "biomass",
    "geothermal",
    "ocean",
    "other_renewable",
)
MWH_PER_CERTIFICATE: Final = 1.0  # 发改能源〔2023〕1044号: 1 GEC = 1 MWh
KWH_PER_MWH: Final = 1000.0  # SI
CERTIFICATE_COLUMNS: Final = (
    "serial",
    "vintage",
    "technology",
    "project",
    "province",
    "retired_on",
    "site_id",
    "claim_year",
)
CONTRACT_COLUMNS: Final = ("contract_id", "site_id", "month", "mwh", "technology")


def _read(path: Path) -> pl.DataFrame:
    try:
        if path.suffix == ".parquet":
            return pl.read_parquet(path).cast(pl.String)
        return pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputErrors.single(str(path), f"cannot read: {exc}") from None


def _row_errors(
    frame: pl.DataFrame, file: str, checks: list[tuple[str, pl.Expr, str]]
) -> list[InputError]:
    errors = []
    for col, bad, reason in checks:
        for (row,) in frame.filter(bad.fill_null(True)).select("__row").iter_rows():
            errors.append(InputError(file, int(row), col, reason))
    return errors


def check_certificates(raw: pl.DataFrame, file: str) -> pl.DataFrame:
    """Typed, checked certificates (module docstring); raises :class:`InputErrors` listing every
    bad row.

    Parameters
    ----------
    raw : polars.DataFrame
        Certificate rows as read (serial, vintage month, technology, province, retirement date,
        site, claim year, MWh).
    file : str
        Name of the source, for the errors.

    Returns
    -------
    polars.DataFrame
        The checked certificates (:func:`empty_certificates` schema; energy in MWh).

    References
    ----------
    .. [1] GHG Protocol Scope 2 Guidance (2015), 7.1 (Scope 2 quality criteria).
    """
    missing = [c for c in CERTIFICATE_COLUMNS if c not in raw.columns]
    if missing:
        raise InputErrors([InputError(file, None, c, "missing column") for c in missing])
    typed = raw.with_row_index("__row", offset=1).with_columns(
        pl.col("vintage")
        .cast(pl.String)
        .str.strip_chars()
        .str.to_date("%Y-%m", strict=False)
        .alias("vintage_month"),
        pl.col("retired_on").cast(pl.String).str.to_date(strict=False).alias("retired_on"),
        pl.col("claim_year").cast(pl.Int32, strict=False),
        pl.col("technology").cast(pl.String).str.strip_chars().str.to_lowercase(),
    )
    checks = [
        ("serial", pl.col("serial").is_null(), "missing serial"),
        (
            "serial",
            pl.col("serial").is_duplicated() & pl.col("serial").is_not_null(),
            "duplicate serial (a certificate counts once)",
        ),
        ("vintage", pl.col("vintage_month").is_null(), "missing or not YYYY-MM"),
        (
            "technology",
            ~pl.col("technology").is_in(list(TECHNOLOGIES)),
            f"missing or not one of {', '.join(TECHNOLOGIES)}",
        ),
        (
            "retired_on",
            pl.col("retired_on").is_null(),
            "not retired: only a retired certificate backs a claim (missing or not a date)",
        ),
        ("site_id", pl.col("site_id").is_null(), "missing site_id the certificate was retired for"),
        ("claim_year", pl.col("claim_year").is_null(), "missing or not a year"),
        (
            "vintage",
            pl.col("vintage_month") > pl.col("retired_on"),
            "vintage after the retirement date",
        ),
        (
            "vintage",
            (pl.col("claim_year") - pl.col("vintage_month").dt.year()).is_between(0, 1).not_(),
            "vintage not in the claim year or the year before (Scope 2 Quality Criterion 4; "
            "GECs are valid two years)",
        ),
    ]
    InputErrors.raise_if_any(_row_errors(typed, file, checks))
    return typed.select(
        pl.col("serial").cast(pl.String),
        "vintage_month",
        "technology",
        pl.col("project").cast(pl.String),
        pl.col("province").cast(pl.String),
        "retired_on",
        pl.col("site_id").cast(pl.String),
        "claim_year",
        pl.lit(MWH_PER_CERTIFICATE).alias("mwh"),
    )


def read_certificates(path: Path) -> pl.DataFrame:
    """Read and check a certificate file.

    Parameters
    ----------
    path : pathlib.Path
        CSV / Parquet / NDJSON file.

    Returns
    -------
    polars.DataFrame
        The checked certificates (energy in MWh).

    Raises
    ------
    InputErrors
        Every bad row.
    """
    return check_certificates(_read(path), str(path))


def check_contracts(raw: pl.DataFrame, file: str) -> pl.DataFrame:
    """Typed, checked green-power contract rows (module docstring).

    Parameters
    ----------
    raw : polars.DataFrame
        Contract rows as read (contract id, site, month, MWh, technology).
    file : str
        Name of the source, for the errors.

    Returns
    -------
    polars.DataFrame
        The checked rows (:func:`empty_contracts` schema; energy in MWh).

    Raises
    ------
    InputErrors
        Every bad row.
    """
    missing = [c for c in CONTRACT_COLUMNS if c not in raw.columns]
    if missing:
        raise InputErrors([InputError(file, None, c, "missing column") for c in missing])
    typed = raw.with_row_index("__row", offset=1).with_columns(
        pl.col("month").cast(pl.String).str.to_date("%Y-%m", strict=False).alias("month"),
        pl.col("mwh").cast(pl.Float64, strict=False),
        pl.col("technology").cast(pl.String).str.strip_chars().str.to_lowercase(),
        (
            pl.col("bundled_certificates")
            .cast(pl.String)
            .str.to_lowercase()
            .is_in(["true", "1", "yes"])
            if "bundled_certificates" in raw.columns
            else pl.lit(False)
        ).alias("bundled_certificates"),
    )
    checks = [
        ("contract_id", pl.col("contract_id").is_null(), "missing"),
        ("site_id", pl.col("site_id").is_null(), "missing"),
        ("month", pl.col("month").is_null(), "missing or not YYYY-MM"),
        ("mwh", ~(pl.col("mwh") >= 0), "missing, not a number or negative"),
        (
            "technology",
            ~pl.col("technology").is_in(list(TECHNOLOGIES)),
            f"missing or not one of {', '.join(TECHNOLOGIES)}",
        ),
        (
            "month",
            pl.struct("contract_id", "month").is_duplicated(),
            "the same contract twice in one month",
        ),
    ]
    InputErrors.raise_if_any(_row_errors(typed, file, checks))
    return typed.select(
        pl.col("contract_id").cast(pl.String),
        pl.col("site_id").cast(pl.String),
        "month",
        "mwh",
        "technology",
        "bundled_certificates",
    )


def read_contracts(path: Path) -> pl.DataFrame:
    """Read and check a green-power contract file.

    Parameters
    ----------
    path : pathlib.Path
        CSV / Parquet / NDJSON file.

    Returns
    -------
    polars.DataFrame
        The checked rows (energy in MWh).

    Raises
    ------
    InputErrors
        Every bad row.
    """
    return check_contracts(_read(path), str(path))


def empty_certificates() -> pl.DataFrame:
    """A certificate table without rows, in the checked schema (energy in ``mwh``).

    Returns
    -------
    polars.DataFrame
        No rows.
    """
    return pl.DataFrame(
        schema={
            "serial": pl.String,
            "vintage_month": pl.Date,
            "technology": pl.String,
            "project": pl.String,
            "province": pl.String,
            "retired_on": pl.Date,
            "site_id": pl.String,
            "claim_year": pl.Int32,
            "mwh": pl.Float64,
        }
    )


def empty_contracts() -> pl.DataFrame:
    """A contract table without rows, in the checked schema (energy in ``mwh``).

    Returns
    -------
    polars.DataFrame
        No rows.
    """
    return pl.DataFrame(
        schema={
            "contract_id": pl.String,
            "site_id": pl.String,
            "month": pl.Date,
            "mwh": pl.Float64,
            "technology": pl.String,
            "bundled_certificates": pl.Boolean,
        }
    )
