"""The demo's hub intensities from synthetic site data (replacing the placeholder HOCs).

``greenstream energy demo-hocs --dir out/demo`` reads the demo's ``legs.parquet`` (written by
``greenstream synth``), makes one synthetic site per hub the legs stop at (sorting hubs and
fulfilment warehouses, at the hub's place), sizes each site's year from the tonnes that leave it
on the demo day (``peak_day_to_average_day`` in ``data/site_parameters.csv``, a labelled
assumption), generates a year of its meters (:mod:`.synth`), computes Scope 2 and the HOCs
(:mod:`.fleet`), writes ``hocs.parquet`` and sets ``hoc_id`` on every hub stop of the legs
(ambient or refrigerated HOC of its site). The warehouse stops, which used the registry's
synthetic default before, then use their site's HOC too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from greenstream.accounting.site_energy import KG_PER_TONNE
from greenstream.errors import InputErrors
from greenstream.levers.energy.fleet import FleetResult, run_synthetic_meters
from greenstream.levers.energy.hubs import hoc_id
from greenstream.levers.energy.synth import site_parameters, synth_sites

DAYS_PER_YEAR = 365


def hub_stops(legs: pl.DataFrame) -> pl.DataFrame:
    """Hub rows of the legs with their site (the hub's place): ``site_id, hub_type,
    temperature_control, mass_kg``.

    Parameters
    ----------
    legs : polars.DataFrame
        The demo's chain elements (``mass_kg`` in kg, hub rows with ``hub_type``).

    Returns
    -------
    polars.DataFrame
        One row per hub stop, mass in kg.
    """
    need = {"hub_type", "mass_kg"}
    missing = sorted(need - set(legs.columns))
    if missing:
        raise InputErrors.single("<legs>", f"missing columns {missing}")
    hoc = pl.col("hoc_id") if "hoc_id" in legs.columns else pl.lit(None, pl.String)
    origin = pl.col("origin") if "origin" in legs.columns else pl.lit(None, pl.String)
    tc = (
        pl.col("temperature_control").fill_null("ambient")
        if "temperature_control" in legs.columns
        else pl.lit("ambient")
    )
    return legs.filter(pl.col("hub_type").is_not_null()).select(
        pl.coalesce(hoc.str.strip_prefix("HOC-"), origin).alias("site_id"),
        "hub_type",
        tc.alias("temperature_control"),
        "mass_kg",
    )


def demo_specs(legs: pl.DataFrame) -> list[dict[str, Any]]:
    """One synthetic site spec per hub place of the legs, sized from its demo-day tonnes.

    Parameters
    ----------
    legs : polars.DataFrame
        The demo's chain elements (``mass_kg`` in kg, hub rows with ``hub_type``).

    Returns
    -------
    list of dict
        Site specs for :func:`greenstream.levers.energy.synth.build_sites` (tonnes a year).
    """
    from greenstream.geo import Gazetteer

    scale = DAYS_PER_YEAR / site_parameters()["peak_day_to_average_day"]
    per_site = (
        hub_stops(legs)
        .group_by("site_id")
        .agg(
            pl.col("hub_type").mode().first(),
            (
                pl.col("mass_kg").filter(pl.col("temperature_control") != "refrigerated").sum()
                / KG_PER_TONNE
            ).alias("day_t_ambient"),
            (
                pl.col("mass_kg").filter(pl.col("temperature_control") == "refrigerated").sum()
                / KG_PER_TONNE
            ).alias("day_t_refrigerated"),
        )
        .sort("site_id")
    )
    places = Gazetteer.builtin().places.select("place_id", "name", "region", "lat", "lon")
    joined = per_site.join(places, left_on="site_id", right_on="place_id", how="left")
    unknown = joined.filter(pl.col("lat").is_null())["site_id"].to_list()
    if unknown:
        raise InputErrors.single(
            "<legs>", f"hub places not in the gazetteer: {', '.join(unknown[:10])}"
        )
    return [
        {
            "site_id": r["site_id"],
            "place_id": r["site_id"],
            "name": f"{r['name']} {r['hub_type']}",
            "province": r["region"],
            "latitude": float(r["lat"]),
            "longitude": float(r["lon"]),
            "tonnes_ambient": float(r["day_t_ambient"]) * scale,
            "tonnes_refrigerated": float(r["day_t_refrigerated"]) * scale,
            "pv": i % 2 == 0,
            "hub_type": r["hub_type"],
        }
        for i, r in enumerate(joined.iter_rows(named=True))
    ]


def demo_hocs(
    legs: pl.DataFrame, *, seed: int = 11, year: int = 2025
) -> tuple[FleetResult, pl.DataFrame, Any]:
    """HOCs of the demo's hubs from synthetic site data, and the legs with ``hoc_id`` set.

    Parameters
    ----------
    legs : polars.DataFrame
        The demo's chain elements (``mass_kg`` in kg, hub rows with ``hub_type``).
    seed : int, default 11
        Seed of the synthetic meters.
    year : int, default 2025
        Year of the synthetic meters.

    Returns
    -------
    tuple of (FleetResult, polars.DataFrame, Any)
        Scope 2 and HOCs, the legs with ``hoc_id``, and the synthetic sites.
    """
    specs = demo_specs(legs)
    synthetic = synth_sites(specs=specs, seed=seed, year=year)
    result = run_synthetic_meters(
        synthetic.sites,
        synthetic.meters,
        synthetic.submeters,
        year=year,
        throughput=synthetic.throughput,
    )
    known = result.hocs["hoc_id"].implode()
    site = pl.coalesce(
        (
            pl.col("hoc_id") if "hoc_id" in legs.columns else pl.lit(None, pl.String)
        ).str.strip_prefix("HOC-"),
        pl.col("origin"),
    )
    refrigerated = pl.col("temperature_control").fill_null("ambient") == "refrigerated"
    wanted = (
        pl.when(refrigerated).then(hoc_id(site, "refrigerated")).otherwise(hoc_id(site, "ambient"))
    )
    fallback = hoc_id(site, "ambient")
    new_id = (
        pl.when(pl.col("hub_type").is_null())
        .then(pl.col("hoc_id") if "hoc_id" in legs.columns else pl.lit(None, pl.String))
        .when(wanted.is_in(known))
        .then(wanted)
        .when(fallback.is_in(known))
        .then(fallback)
        .otherwise(pl.col("hoc_id") if "hoc_id" in legs.columns else pl.lit(None, pl.String))
    )
    legs_out = legs.with_columns(new_id.alias("hoc_id"))
    return result, legs_out, synthetic


def write_demo(directory: Path, *, seed: int = 11, year: int = 2025) -> dict[str, Any]:
    """Run :func:`demo_hocs` on ``directory/legs.parquet``; write ``hocs.parquet``, the legs with
    ``hoc_id`` set, and ``energy/`` (site file, meters, Scope 2). Atomic per file.

    Parameters
    ----------
    directory : pathlib.Path
        The demo directory (holds ``legs.parquet``).
    seed : int, default 11
        Seed of the synthetic meters.
    year : int, default 2025
        Year of the synthetic meters.

    Returns
    -------
    dict of str to Any
        Counts (``sites``, ``hocs``, ``hub_stops``, ``hub_stops_with_site_hoc``) and the
        paths ``written``.
    """
    import yaml

    from greenstream.io.tables import atomic_path
    from greenstream.levers.energy.sites import dump_sites

    legs_path = directory / "legs.parquet"
    if not legs_path.exists():
        raise InputErrors.single(str(legs_path), "no legs.parquet (run greenstream synth first)")
    legs = pl.read_parquet(legs_path)
    result, legs_out, synthetic = demo_hocs(legs, seed=seed, year=year)
    energy_dir = directory / "energy"
    energy_dir.mkdir(parents=True, exist_ok=True)
    hocs = result.hocs.with_columns(
        pl.concat_str(pl.lit("synthetic site meters; "), pl.col("description")).alias("description")
    )
    writes: dict[Path, Callable[[Path], object]] = {
        directory / "hocs.parquet": lambda p: hocs.write_parquet(p),
        legs_path: lambda p: legs_out.write_parquet(p),
        energy_dir / "scope2.parquet": lambda p: result.scope2.write_parquet(p),
        energy_dir / "meters.parquet": lambda p: synthetic.meters.write_parquet(p),
        energy_dir / "sites.yaml": lambda p: p.write_text(
            yaml.safe_dump(dump_sites(synthetic.sites), allow_unicode=True, sort_keys=False)
        ),
    }
    for target, write in writes.items():
        with atomic_path(target) as tmp:
            write(tmp)
    stops = legs_out.filter(pl.col("hub_type").is_not_null())
    return {
        "sites": len(synthetic.sites),
        "hocs": hocs.height,
        "hub_stops": stops.height,
        "hub_stops_with_site_hoc": int(stops["hoc_id"].is_in(hocs["hoc_id"].implode()).sum()),
        "written": [str(p) for p in writes],
    }
