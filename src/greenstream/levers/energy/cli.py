"""``greenstream energy ...``: sites, tariffs, PV, dispatch, Scope 2, HOCs, savings, synthetic
sites and the demo's HOCs. Every table command takes ``--format table|json|csv``; bad input
exits 2 with every bad row named (file, row, field, reason)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer

from greenstream.clikit import TableFormat, handle_errors, new_progress, print_rows, stage
from greenstream.errors import InputErrors

energy_app = typer.Typer(
    help="Warehouse and park energy: sites, PV, tariffs, battery dispatch, Scope 2, hub HOCs.",
    no_args_is_help=True,
)
FormatOpt = Annotated[TableFormat, typer.Option("--format", help="table, json or csv")]
SitesArg = Annotated[Path, typer.Argument(help="site file (YAML or JSON)")]
MetersOpt = Annotated[
    Path | None, typer.Option("--meters", help="meter file (CSV/Parquet/NDJSON, long or wide)")
]
YearOpt = Annotated[int, typer.Option("--year", help="calendar year (China Standard Time)")]
DbOpt = Annotated[
    str | None,
    typer.Option("--monitoring-db", help="read meters from the monitoring store (database URL)"),
]


def register(app: typer.Typer) -> None:
    """Add the ``greenstream energy`` commands to ``app``."""
    app.add_typer(energy_app, name="energy")


def _sites(path: Path) -> list[Any]:
    from greenstream.levers.energy.sites import load_sites

    return load_sites(path)


def _hourly(sites: list[Any], meters: Path | None, db: str | None) -> tuple[Any, Any]:
    import polars as pl

    from greenstream.levers.energy.meters import (
        hourly_site_energy,
        hourly_submeters,
        read_meters,
        read_monitoring_meters,
    )

    if meters is not None:
        return read_meters(meters, sites)
    if db is not None:
        long = read_monitoring_meters(db, sites=[s.site_id for s in sites])
        return hourly_site_energy(long), hourly_submeters(long)
    raise InputErrors.single(
        "<options>", "give --meters FILE or --monitoring-db URL", field="--meters"
    )
    return pl.DataFrame(), pl.DataFrame()  # pragma: no cover


def _throughput(path: Path) -> Any:
    """The ``--throughput`` table typed: every missing column and bad tonnage named by file."""
    import polars as pl

    from greenstream.checks import ROW
    from greenstream.io.tables import coerce
    from greenstream.io.validation import missing_columns
    from greenstream.levers.energy.meters import read_table

    columns = {
        "site_id": pl.String(),
        "tonnes_ambient": pl.Float64(),
        "tonnes_refrigerated": pl.Float64(),
    }
    raw = read_table(path)
    InputErrors.raise_if_any(missing_columns(raw, list(columns), file=str(path)))
    typed, errors = coerce(raw.select(list(columns)), columns, file=str(path))
    InputErrors.raise_if_any(errors)
    return typed.drop(ROW)


@energy_app.command("validate")
def validate(sites: SitesArg, fmt: FormatOpt = TableFormat.table) -> None:
    """Check a site file; list its sites."""
    with handle_errors():
        found = _sites(sites)
        rows = [
            {
                "site_id": s.site_id,
                "province": s.province,
                "grid_region": s.grid_region_code(),
                "hub_type": s.hub_type,
                "temperature_control": s.temperature_control,
                "pv_kwp": s.pv_kwp,
                "battery_kwh": sum(b.energy_kwh for b in s.batteries),
                "meters": len(s.meters),
            }
            for s in found
        ]
        print_rows(rows, fmt, title=f"{len(rows)} site(s) valid")


@energy_app.command("tariff")
def tariff(
    province: Annotated[str, typer.Argument(help="province code, e.g. CN-GD (or --file)")] = "",
    file: Annotated[Path | None, typer.Option("--file", help="a tariff YAML/JSON file")] = None,
    year: YearOpt = 2025,
    user_class: Annotated[str | None, typer.Option("--user-class")] = None,
    fmt: FormatOpt = TableFormat.table,
) -> None:
    """A provincial time-of-use tariff: hours and mean price per period, with its notice."""
    import polars as pl

    from greenstream.levers.energy.tariffs import (
        builtin_tariffs,
        describe,
        hourly_tariff,
        load_tariff_file,
        tariff_for,
    )

    with handle_errors():
        if not province and file is None:
            rows = [
                {
                    k: v
                    for k, v in describe(t).items()
                    if k in ("province", "name", "notice", "evidence", "default_user_class")
                }
                for t in builtin_tariffs().values()
            ]
            print_rows(rows, fmt, title="Packaged time-of-use tariffs")
            return
        t = load_tariff_file(file) if file is not None else tariff_for(province)
        hours = hourly_tariff(t, year, user_class=user_class)
        summary = (
            hours.group_by("period")
            .agg(
                pl.len().alias("hours"),
                pl.col("price_cny_per_kwh").mean().round(4).alias("mean_price_cny_per_kwh"),
            )
            .sort("period")
        )
        rows = summary.to_dicts()
        for r in rows:
            r["period"] = str(r["period"])
        print_rows(rows, fmt, title=f"{t.name}: {t.notice} (flat price: {t.flat_price_note})")


@energy_app.command("pv")
def pv(
    sites: SitesArg,
    year: YearOpt = 2025,
    calibration: Annotated[
        Path | None, typer.Option("--calibration", help="monthly GHI station table (CSV)")
    ] = None,
    calibrate: Annotated[bool, typer.Option("--calibrate/--clear-sky")] = True,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="hourly PV (.parquet/.csv)")
    ] = None,
    fmt: FormatOpt = TableFormat.table,
) -> None:
    """Modelled PV yield of every site's arrays (pvlib, offline)."""
    import polars as pl

    from greenstream.io.tables import write_table
    from greenstream.levers.energy.pv import read_calibration_table, site_pv

    with handle_errors():
        found = _sites(sites)
        table = read_calibration_table(calibration) if calibration is not None else None
        rows, frames = [], []
        prog = new_progress(fmt is TableFormat.table)
        with prog if prog else nullcontext():
            for s in found:
                if not s.pv_arrays:
                    continue
                with stage(prog, f"PV of {s.site_id}"):
                    r = site_pv(s, year, calibration=table, calibrate=calibrate)
                frames.append(
                    r.hourly.select("hour_start", "pv_kwh_modelled").with_columns(
                        pl.lit(s.site_id).alias("site_id")
                    )
                )
                rows.append(
                    {
                        "site_id": s.site_id,
                        "pv_kwp": s.pv_kwp,
                        "pv_kwh": round(r.annual_kwh, 1),
                        "kwh_per_kwp": round(r.annual_kwh / s.pv_kwp, 1),
                        "basis": r.basis,
                    }
                )
        if output is not None and frames:
            write_table(pl.concat(frames), output)
        print_rows(rows, fmt, title=f"PV yield {year}")


@energy_app.command("pv-check")
def pv_check(
    year: YearOpt = 2025,
    calibration: Annotated[Path | None, typer.Option("--calibration")] = None,
    calibrate: Annotated[bool, typer.Option("--calibrate/--clear-sky")] = True,
    fmt: FormatOpt = TableFormat.table,
) -> None:
    """The PV model against published annual yields of Chinese cities (MAE), and the Xi'an
    park figure (139 MWp, 61 GWh a year) against the model."""
    from greenstream.levers.energy.pv import (
        check_against_published,
        mean_absolute_error_pct,
        park_plausibility,
        read_calibration_table,
    )

    with handle_errors():
        table = read_calibration_table(calibration) if calibration is not None else None
        check = check_against_published(year=year, calibration=table, calibrate=calibrate)
        rows = check.to_dicts()
        xian = check.filter(check["city"] == "Xi'an")
        if xian.height:
            p = park_plausibility(139_000.0, 61e6, float(xian["modelled_kwh_per_kwp"][0]))
            rows.append(
                {
                    "city": "Xi'an park claim (139 MWp, 61 GWh)",
                    "published_kwh_per_kwp": p["implied_kwh_per_kwp"],
                    "modelled_kwh_per_kwp": p["modelled_kwh_per_kwp"],
                    "error_pct": round((p["ratio_to_model"] - 1) * 100, 1),
                    "basis": "industry claim vs model",
                    "published_source": "[claim]",
                }
            )
        print_rows(
            rows,
            fmt,
            title=(
                f"PV model vs published yields: MAE {mean_absolute_error_pct(check):.1f} % on "
                f"the held-out cities (x{check['performance_adjustment'][0]:g} fitted on train)"
            ),
        )


@energy_app.command("dispatch")
def dispatch_cmd(
    sites: SitesArg,
    meters: MetersOpt = None,
    site: Annotated[
        str | None, typer.Option("--site", help="site id (default: the first with a battery)")
    ] = None,
    year: YearOpt = 2025,
    objective: Annotated[str, typer.Option("--objective", help="cost, co2e or blend")] = "cost",
    weight: Annotated[
        float | None, typer.Option("--weight", help="blend: 0 cost .. 1 CO2e")
    ] = None,
    intensity: Annotated[
        Path | None, typer.Option("--intensity", help="hourly grid intensity CSV")
    ] = None,
    grid_charging: Annotated[bool, typer.Option("--grid-charging/--pv-charging-only")] = True,
    db: DbOpt = None,
    fmt: FormatOpt = TableFormat.table,
) -> None:
    """Optimal battery dispatch over the year (HiGHS LP) against no battery and the
    valley-charge / peak-discharge rule."""
    from greenstream.levers.energy.scenario import site_dispatch

    with handle_errors():
        found = _sites(sites)
        hourly = _hourly(found, meters, db)[0] if (meters is not None or db is not None) else None
        result, info = site_dispatch(
            found,
            hourly,
            site_id=site,
            year=year,
            objective=objective,
            weight=weight,
            intensity_file=intensity,
            allow_grid_charging=grid_charging,
        )
        rows = result.table()
        title = (
            f"{info['site_id']}: {result.hours} h, {result.solver_status} in {result.solve_s:.2f} s; "
            f"saved {result.cost_saved_cny:,.0f} CNY, {result.co2e_avoided_kg:,.0f} kg; "
            f"load {info['load_basis']}, PV {info['pv_basis']}"
        )
        print_rows(rows, fmt, title=title)


@energy_app.command("scope2")
def scope2_cmd(
    sites: SitesArg,
    meters: MetersOpt = None,
    certificates: Annotated[Path | None, typer.Option("--certificates", help="GEC file")] = None,
    contracts: Annotated[
        Path | None, typer.Option("--contracts", help="green-power contracts")
    ] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
    annual_only: Annotated[bool, typer.Option("--annual-only")] = False,
    db: DbOpt = None,
    fmt: FormatOpt = TableFormat.table,
) -> None:
    """Scope 2, location-based and market-based, monthly and annual."""
    from greenstream.io.tables import write_table
    from greenstream.levers.energy.certificates import read_certificates, read_contracts
    from greenstream.levers.energy.fleet import site_table
    from greenstream.levers.energy.scope2 import scope2

    with handle_errors():
        found = _sites(sites)
        hourly, _ = _hourly(found, meters, db)
        certs = read_certificates(certificates) if certificates else None
        deals = read_contracts(contracts) if contracts else None
        result = scope2(hourly, site_table(found), certificates=certs, contracts=deals)
        if output is not None:
            write_table(result, output)
        shown = result.filter(result["period"].str.len_chars() == 4) if annual_only else result
        rows = shown.select(
            "site_id",
            "period",
            "grid_import_kwh",
            "certificates_kwh",
            "contracts_kwh",
            "scope2_location_kg",
            "scope2_market_kg",
        ).to_dicts()
        for r in rows:
            for k, v in r.items():
                if isinstance(v, float):
                    r[k] = round(v, 1)
        print_rows(rows, fmt, title="Scope 2 (kg CO2; MEE/NBS factors are CO2 only)")


@energy_app.command("hocs")
def hocs_cmd(
    sites: SitesArg,
    meters: MetersOpt = None,
    year: YearOpt = 2025,
    throughput: Annotated[
        Path | None,
        typer.Option("--throughput", help="site_id, tonnes_ambient, tonnes_refrigerated"),
    ] = None,
    basis: Annotated[str, typer.Option("--basis", help="location or market")] = "location",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="HOCS table for footprint --hocs")
    ] = None,
    ileap: Annotated[Path | None, typer.Option("--ileap", help="also write iLEAP HOC JSON")] = None,
    db: DbOpt = None,
    fmt: FormatOpt = TableFormat.table,
) -> None:
    """HOC intensities (kg CO2e per tonne) from site energy and tonnes handled."""
    from greenstream.io.tables import write_table
    from greenstream.levers.energy.fleet import run
    from greenstream.levers.energy.hubs import export_ileap

    with handle_errors():
        if basis not in ("location", "market"):
            raise InputErrors.single(
                "<options>", "basis must be location or market", field="--basis"
            )
        found = _sites(sites)
        hourly, sub = _hourly(found, meters, db)
        tp = _throughput(throughput) if throughput else None
        result = run(found, hourly, year=year, submeters=sub, throughput=tp, basis=basis)
        if output is not None:
            write_table(result.hocs, output)
        if ileap is not None:
            export_ileap(result.hocs, ileap)
        rows = result.hocs.select(
            "hoc_id",
            "hub_type",
            "temperature_control",
            "tonnes",
            "energy_kwh",
            "intensity_wtw_kg_per_t",
        ).to_dicts()
        for r in rows:
            for k, v in r.items():
                if isinstance(v, float):
                    r[k] = round(v, 4)
        print_rows(rows, fmt, title=f"HOC intensities {year} ({basis}-based)")


@energy_app.command("savings")
def savings_cmd(
    parcels: Annotated[float, typer.Option("--parcels", help="parcels over the period")],
    province: Annotated[str, typer.Option("--province", help="grid region for the factor")],
    baseline: Annotated[float | None, typer.Option("--baseline-kwh-per-10k")] = None,
    change: Annotated[float | None, typer.Option("--change-kwh-per-10k")] = None,
    year: YearOpt = 2025,
    fmt: FormatOpt = TableFormat.table,
) -> None:
    """Savings of an equipment change against a stated baseline (default: the packing-machine
    claim 58 -> 12 kWh per 10,000 parcels of data/equipment.csv, labelled a claim)."""
    from greenstream.factors import Registry
    from greenstream.levers.energy.equipment import change_savings, equipment_table
    from greenstream.levers.energy.grid import location_factor

    with handle_errors():
        eq = equipment_table()
        base = (
            baseline
            if baseline is not None
            else float(eq.filter(eq["practice"] == "baseline")["energy_kwh"][0])
        )
        new = (
            change
            if change is not None
            else float(eq.filter(eq["practice"] == "change")["energy_kwh"][0])
        )
        basis = "given" if baseline is not None else "data/equipment.csv (industry claim, labelled)"
        f = location_factor(Registry.builtin(), province, year)
        s = change_savings(
            baseline_kwh_per_10k=base,
            change_kwh_per_10k=new,
            parcels=parcels,
            factor_kg_per_kwh=f.factor_kg_per_kwh,
            factor_note=f"{f.factor_id} ({f.resolved_via})",
            description=f"{base:g} -> {new:g} kWh per 10,000 parcels",
            basis=basis,
        )
        print_rows([s.row()], fmt, title="Savings against the stated baseline")


@energy_app.command("synth")
def synth_cmd(
    out_dir: Annotated[
        Path, typer.Option("--out", help="directory for sites.yaml, meters, throughput")
    ] = Path("out/energy"),
    n: Annotated[int, typer.Option("--sites", help="number of sites")] = 20,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    year: YearOpt = 2025,
    fmt: FormatOpt = TableFormat.table,
) -> None:
    """Deterministic synthetic sites with a year of hourly meters."""
    import yaml

    from greenstream.io.tables import atomic_path
    from greenstream.levers.energy.sites import dump_sites
    from greenstream.levers.energy.synth import synth_sites

    with handle_errors():
        prog = new_progress(fmt is TableFormat.table)
        with prog if prog else nullcontext(), stage(prog, f"generating {n} sites"):
            s = synth_sites(n, seed=seed, year=year)
        out_dir.mkdir(parents=True, exist_ok=True)
        files: dict[str, Callable[[Path], object]] = {
            "sites.yaml": lambda p: p.write_text(
                yaml.safe_dump(dump_sites(s.sites), allow_unicode=True, sort_keys=False)
            ),
            "meters.parquet": lambda p: s.meters.write_parquet(p),
            "submeters.parquet": lambda p: s.submeters.write_parquet(p),
            "throughput.csv": lambda p: s.throughput.write_csv(p),
        }
        for name, write in files.items():
            with atomic_path(out_dir / name) as tmp:
                write(tmp)
        print_rows(
            [{"file": str(out_dir / k)} for k in files],
            fmt,
            title=f"{n} synthetic sites, {s.meters.height:,} meter rows",
        )


@energy_app.command("demo-hocs")
def demo_hocs_cmd(
    directory: Annotated[
        Path, typer.Option("--dir", help="demo directory with legs.parquet")
    ] = Path("out/demo"),
    seed: Annotated[int, typer.Option("--seed")] = 11,
    year: YearOpt = 2025,
    fmt: FormatOpt = TableFormat.table,
) -> None:
    """The demo's HOCs from synthetic site data: writes hocs.parquet and sets hoc_id on every
    hub stop of legs.parquet (run after `greenstream synth`, before `footprint`)."""
    from greenstream.levers.energy.demo import write_demo

    with handle_errors():
        prog = new_progress(fmt is TableFormat.table)
        with (
            prog if prog else nullcontext(),
            stage(prog, f"site data and HOCs for {directory}"),
        ):
            info = write_demo(directory, seed=seed, year=year)
        written = info.pop("written")
        print_rows([info | {"written": ", ".join(written)}], fmt, title="Demo HOCs from site data")
