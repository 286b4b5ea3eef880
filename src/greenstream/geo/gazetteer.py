"""Place lookup: place ids, names, Chinese names, IATA/ICAO codes, UN/LOCODEs, ``lat,lon``.

The builtin gazetteer is the world: the curated China layer (``data/places.csv``: prefecture-
and county-level cities with their Chinese names, Chinese airports), rail freight terminals
(``data/rail_terminals.csv``), sea and river ports by UN/LOCODE (searoute's port list), the
world's airports with an IATA code (airportsdata) and its cities of 15,000 people or more
(GeoNames), with Chinese names as aliases. It ships prebuilt as ``data/world_places.parquet``
with its alias table ``data/world_aliases.parquet`` (``tools/build_world_places.py``), so a
process loads it in a few milliseconds and resolves names with one join; see
``data/README.md`` for sources and attribution.

Every place has one canonical ``place_id`` (cities ``CN-SHANGHAI``, ``NL-ROTTERDAM``; airports
their IATA code ``FRA``; ports their UN/LOCODE ``NLRTM``), so ``上海``, ``上海市``, ``Shanghai``,
``shanghai`` and ``CN-SHANGHAI`` are one place and one lane end.

Matching (:meth:`Gazetteer.resolve`) is case-insensitive and ignores surrounding blanks,
diacritics and full-width forms (``Ürümqi`` = ``urumqi``, ``ＰＥＫ`` = ``PEK``). A query may be

- a ``place_id`` (``CN-GUANGZHOU``; airports use their IATA code, ``CAN``; ports their
  UN/LOCODE, ``CNNGB``);
- an ICAO code (``ZGGG``);
- another alias (``鹿特丹`` for Rotterdam, ``Port of Rotterdam``);
- an English name (``Guangzhou``; also without apostrophes, blanks or hyphens: ``Xian``);
- a Chinese name (``广州市`` or ``广州``);
- a coordinate string ``lat,lon`` in decimal degrees (``23.13,113.26`` or ``23.13, 113.26``),
  latitude in -90..90 and longitude in -180..180; anything out of range is unresolved.

When one key names several places the first of these wins: a place id, then an ICAO code, then
a name, then another alias; among places of the same name a city before a port, a rail terminal
and an airport, then the **most populous** (``Suzhou`` is Suzhou, Jiangsu; Suzhou, Anhui is
``CN-SUZHOU-AH``; ``Rotterdam`` is Rotterdam, NL), then the smaller place id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from io import BytesIO
from pathlib import Path
from typing import Final

import polars as pl

from greenstream.errors import InputError, InputErrors

PLACES_FILE: Final = "places.csv"  # the curated China layer (tools/build_gazetteer.py)
WORLD_PLACES_FILE: Final = "world_places.parquet"  # every layer (tools/build_world_places.py)
ALIASES_FILE: Final = "world_aliases.parquet"  # alias_table(world places), built with it
PLACE_SCHEMA: Final[dict[str, pl.DataType]] = {
    "place_id": pl.String(),
    "name": pl.String(),
    "name_zh": pl.String(),
    "kind": pl.String(),  # city | airport | any other kind a user gazetteer needs (hub, port)
    "country": pl.String(),  # ISO 3166-1 alpha-2
    "region": pl.String(),  # ISO 3166-2, e.g. CN-GD
    "lat": pl.Float64(),
    "lon": pl.Float64(),
    "population": pl.Int64(),
    "admin_level": pl.String(),
    "icao": pl.String(),
    "source": pl.String(),
    "aliases": pl.String(),  # other names, "|"-separated (Chinese names of world cities, ...)
}
CSV_PLACE_SCHEMA: Final = {k: v for k, v in PLACE_SCHEMA.items() if k != "aliases"}
REQUIRED_COLUMNS: Final = ("place_id", "name", "lat", "lon")
RESOLVED_SCHEMA: Final[dict[str, pl.DataType]] = {
    "query": pl.String(),
    "place_id": pl.String(),
    "lat": pl.Float64(),
    "lon": pl.Float64(),
    "region": pl.String(),
    "country": pl.String(),
    "kind": pl.String(),
    "resolved": pl.Boolean(),
}
ALIAS_COLUMNS: Final = ("__key", "place_id", "lat", "lon", "region", "country", "kind")
# among places sharing a key at the same rank: a city, then a port, a rail terminal, an airport
KIND_ORDER: Final = {"city": 0, "port": 1, "rail_terminal": 2, "airport": 3}
# Chinese administrative suffixes dropped to make the short alias (广州市 -> 广州)
_ZH_SUFFIXES: Final = r"(特别行政区|自治州|地区|市|盟)$"
_NUMBER: Final = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_COORDINATES: Final = rf"^\s*({_NUMBER})\s*,\s*({_NUMBER})\s*$"


def normalise_key(text: pl.Expr) -> pl.Expr:
    """Lookup key: trimmed, NFKD without combining marks, lower case, one blank between words.

    Parameters
    ----------
    text : polars.Expr
        Place names, codes or aliases (String).

    Returns
    -------
    polars.Expr
        The normalised keys.

    Examples
    --------
    >>> import polars as pl
    >>> pl.select(normalise_key(pl.lit("  Ürümqi   City "))).item()
    'urumqi city'
    """
    return (
        text.str.strip_chars()
        .str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.replace_all(r"[\u2018\u2019\u02bc`]", "'")
        .str.replace_all(r"\s+", " ")
        .str.to_lowercase()
    )


def _compact(key: pl.Expr) -> pl.Expr:
    return key.str.replace_all(r"['\s\-]", "")


@dataclass(frozen=True, eq=False)
class Gazetteer:
    """An immutable set of places with a lookup table built once, at construction.

    ``places`` has the columns of :data:`PLACE_SCHEMA` (missing optional columns are null).
    Build one with :meth:`builtin`, :meth:`from_csv` or :meth:`with_places`; treat ``places`` as
    read-only.

    Examples
    --------
    >>> import polars as pl
    >>> places = pl.DataFrame({"place_id": ["CN-SHANGHAI"], "name": ["Shanghai"],
    ...                        "name_zh": ["上海市"], "kind": ["city"],
    ...                        "lat": [31.22222], "lon": [121.45806]})
    >>> gazetteer = Gazetteer(places)
    >>> gazetteer.resolve(pl.Series(["上海", "shanghai", "Atlantis"]))["place_id"].to_list()
    ['CN-SHANGHAI', 'CN-SHANGHAI', None]
    """

    places: pl.DataFrame
    _aliases: pl.DataFrame = field(init=False, repr=False)

    def __post_init__(self) -> None:
        places = _conform(self.places)
        object.__setattr__(self, "places", places)
        object.__setattr__(self, "_aliases", alias_table(places))

    @classmethod
    def with_alias_table(cls, places: pl.DataFrame, aliases: pl.DataFrame) -> Gazetteer:
        """A gazetteer from places and their alias table computed before (the shipped files).

        No normalisation work at start-up.

        Parameters
        ----------
        places : polars.DataFrame
            Places in :data:`PLACE_SCHEMA`.
        aliases : polars.DataFrame
            Their :func:`alias_table`, built from the same places.

        Returns
        -------
        Gazetteer
            The gazetteer (the two tables are trusted to match).
        """
        gazetteer = object.__new__(cls)
        object.__setattr__(gazetteer, "places", _conform(places))
        object.__setattr__(gazetteer, "_aliases", aliases.select(ALIAS_COLUMNS))
        return gazetteer

    @property
    def aliases(self) -> pl.DataFrame:
        """The lookup table: normalised key -> place (one row per key)."""
        return self._aliases

    def __len__(self) -> int:
        return self.places.height

    @classmethod
    def builtin(cls) -> Gazetteer:
        """The shipped world gazetteer: cities, airports, sea and river ports, rail terminals
        (read once per process from the prebuilt Parquet files, then cached)."""
        return _builtin()

    @classmethod
    def china(cls) -> Gazetteer:
        """Only the curated China layer (``places.csv``): cities with Chinese names, airports."""
        return _china()

    @classmethod
    def from_csv(cls, path: Path) -> Gazetteer:
        """A user gazetteer: a CSV with at least ``place_id, name, lat, lon``.

        Other :data:`PLACE_SCHEMA` columns are optional (``kind`` defaults to ``place``). Every
        problem in the file is reported at once as :class:`InputErrors` (1-based data rows).

        Parameters
        ----------
        path : pathlib.Path
            The CSV file; ``lat`` and ``lon`` in decimal degrees (WGS84).

        Returns
        -------
        Gazetteer
            The places of the file only (combine with :meth:`with_places` to extend another one).

        Raises
        ------
        InputErrors
            If the file cannot be read or any row is invalid (missing id or name, coordinates out of
            range, duplicate ``place_id``).
        """
        path = Path(path)
        try:
            raw = pl.read_csv(path, infer_schema=False)
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise InputErrors.single(str(path), f"cannot read the gazetteer CSV: {exc}") from exc
        return cls(_validated(raw, str(path)))

    def with_places(self, extra: pl.DataFrame) -> Gazetteer:
        """A new gazetteer with ``extra`` added (at least ``place_id, name, lat, lon``).

        A place in ``extra`` whose ``place_id`` already exists replaces the existing one.

        Parameters
        ----------
        extra : polars.DataFrame
            Places to add, in :data:`PLACE_SCHEMA` (coordinates in decimal degrees).

        Returns
        -------
        Gazetteer
            A new gazetteer; this one is unchanged.

        Raises
        ------
        InputErrors
            If a row of ``extra`` is invalid.
        """
        added = _validated(extra, "places added to the gazetteer")
        kept = self.places.join(
            added.select("place_id"), on="place_id", how="anti", maintain_order="left"
        )
        return Gazetteer(pl.concat([kept, added], how="diagonal_relaxed"))

    def resolve(self, queries: pl.Series) -> pl.DataFrame:
        """One row per query, in order: ``query, place_id, lat, lon, region, country, kind, resolved``.

        Each distinct query is normalised and joined to the alias table once; the answers are
        then joined back onto the queries. A coordinate query resolves with a null
        ``place_id`` and ``region``. Unknown, null or out-of-range queries have
        ``resolved = False`` and null coordinates.

        Parameters
        ----------
        queries : polars.Series
            Place ids, names, codes, aliases or ``"lat,lon"`` strings (decimal degrees).

        Returns
        -------
        polars.DataFrame
            :data:`RESOLVED_SCHEMA`, one row per query, in the order of ``queries``.

        Examples
        --------
        >>> import polars as pl
        >>> gazetteer = Gazetteer(pl.DataFrame({"place_id": ["NL-ROTTERDAM"], "name": ["Rotterdam"],
        ...                                     "lat": [51.9225], "lon": [4.47917]}))
        >>> gazetteer.resolve(pl.Series(["ROTTERDAM", "23.13, 113.26", "95,0"])).select(
        ...     "place_id", "lat", "lon", "resolved").rows()
        [('NL-ROTTERDAM', 51.9225, 4.47917, True), (None, 23.13, 113.26, True), (None, None, None, False)]
        """
        frame = queries.cast(pl.String).alias("query").to_frame()
        distinct = frame.unique()
        coords = pl.col("query").str.extract_groups(_COORDINATES)
        c_lat = coords.struct.field("1").cast(pl.Float64, strict=False)
        c_lon = coords.struct.field("2").cast(pl.Float64, strict=False)
        valid = c_lat.is_between(-90.0, 90.0) & c_lon.is_between(-180.0, 180.0)
        answers = (
            distinct.with_columns(normalise_key(pl.col("query")).alias("__key"))
            .join(self._aliases, on="__key", how="left")
            .with_columns(
                pl.coalesce(pl.col("lat"), pl.when(valid).then(c_lat)).alias("lat"),
                pl.coalesce(pl.col("lon"), pl.when(valid).then(c_lon)).alias("lon"),
            )
            .with_columns(pl.col("lat").is_not_null().alias("resolved"))
            .drop("__key")
        )
        out = frame.join(answers, on="query", how="left", maintain_order="left")
        return out.select(
            pl.col(name).cast(dtype) if name != "resolved" else pl.col(name).fill_null(False)
            for name, dtype in RESOLVED_SCHEMA.items()
        )


@cache
def _builtin() -> Gazetteer:
    data = files("greenstream.geo").joinpath("data")
    places = pl.read_parquet(BytesIO(data.joinpath(WORLD_PLACES_FILE).read_bytes()))
    aliases = pl.read_parquet(BytesIO(data.joinpath(ALIASES_FILE).read_bytes()))
    return Gazetteer.with_alias_table(places, aliases)


@cache
def _china() -> Gazetteer:
    raw = files("greenstream.geo").joinpath("data", PLACES_FILE).read_bytes()
    return Gazetteer(pl.read_csv(BytesIO(raw), schema=CSV_PLACE_SCHEMA))


def _conform(places: pl.DataFrame) -> pl.DataFrame:
    """The PLACE_SCHEMA columns in order (missing optional ones null), then any extra columns."""
    missing = [c for c in REQUIRED_COLUMNS if c not in places.columns]
    if missing:
        raise InputErrors.single("gazetteer", f"missing column(s): {', '.join(missing)}")
    columns = [
        pl.col(name).cast(dtype) if name in places.columns else pl.lit(None, dtype).alias(name)
        for name, dtype in PLACE_SCHEMA.items()
    ]
    extra = [c for c in places.columns if c not in PLACE_SCHEMA]
    return places.select(*columns, *extra)


def _validated(raw: pl.DataFrame, file: str) -> pl.DataFrame:
    """Check a user-supplied place table; collect every problem before raising."""
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise InputErrors.single(file, f"missing column(s): {', '.join(missing)}")

    def text(column: str) -> pl.Expr:
        return pl.col(column).cast(pl.String).str.strip_chars()

    checked = raw.with_row_index("__row", offset=1).with_columns(
        text("place_id").alias("place_id"),
        text("name").alias("name"),
        text("lat").fill_null("").alias("__lat_text"),
        text("lon").fill_null("").alias("__lon_text"),
        text("lat").cast(pl.Float64, strict=False).alias("__lat"),
        text("lon").cast(pl.Float64, strict=False).alias("__lon"),
    )
    rules: list[tuple[str, pl.Expr, pl.Expr]] = [
        ("place_id", pl.col("place_id").fill_null("") == "", pl.lit("empty place_id")),
        ("name", pl.col("name").fill_null("") == "", pl.lit("empty name")),
        (
            "place_id",
            pl.col("place_id").is_duplicated() & (pl.col("place_id").fill_null("") != ""),
            pl.format("duplicate place_id '{}'", pl.col("place_id")),
        ),
        (
            "lat",
            ~pl.col("__lat").is_between(-90.0, 90.0).fill_null(False),
            pl.format("latitude '{}' is not a number in -90..90", pl.col("__lat_text")),
        ),
        (
            "lon",
            ~pl.col("__lon").is_between(-180.0, 180.0).fill_null(False),
            pl.format("longitude '{}' is not a number in -180..180", pl.col("__lon_text")),
        ),
    ]
    if "population" in raw.columns:
        population = text("population")
        rules.append(
            (
                "population",
                population.is_not_null()
                & (population != "")
                & population.cast(pl.Int64, strict=False).is_null(),
                pl.format("population '{}' is not a whole number", population),
            )
        )
    errors = [
        InputError(file, int(row), column, str(reason_text))
        for column, bad, reason in rules
        for row, reason_text in checked.filter(bad).select("__row", reason).iter_rows()
    ]
    errors.sort(key=lambda e: (e.row or 0, e.field or ""))
    InputErrors.raise_if_any(errors)
    if "kind" not in checked.columns:
        checked = checked.with_columns(pl.lit("place").alias("kind"))
    if "population" in checked.columns:
        checked = checked.with_columns(
            pl.col("population").cast(pl.String).str.strip_chars().cast(pl.Int64, strict=False)
        )
    return _conform(
        checked.with_columns(pl.col("__lat").alias("lat"), pl.col("__lon").alias("lon")).drop(
            "__row", "__lat", "__lon", "__lat_text", "__lon_text"
        )
    )


def alias_table(places: pl.DataFrame) -> pl.DataFrame:
    """``__key -> place_id, lat, lon, region, country, kind``: one row per key, ambiguities settled
    once.

    Ranks, best first: the place id; the ICAO code; the name and the Chinese name; the Chinese
    name without its administrative suffix and the name without blanks, hyphens or apostrophes;
    the other aliases. Among places sharing a key at the same rank: a city before a port, a rail
    terminal and an airport, then the most populous, then the smaller place id.

    Parameters
    ----------
    places : polars.DataFrame
        Places in :data:`PLACE_SCHEMA` (all columns present, as :class:`Gazetteer` conforms them).

    Returns
    -------
    polars.DataFrame
        The columns of :data:`ALIAS_COLUMNS`, one row per normalised key.
    """
    indexed = places.select(
        "place_id",
        "lat",
        "lon",
        "region",
        "country",
        "kind",
        pl.col("kind")
        .fill_null("")
        .replace_strict(KIND_ORDER, default=len(KIND_ORDER), return_dtype=pl.Int64)
        .alias("__kind_rank"),
        pl.col("population").fill_null(-1).alias("__population"),
        normalise_key(pl.col("place_id")).alias("__id"),
        normalise_key(pl.col("icao")).alias("__icao"),
        normalise_key(pl.col("name")).alias("__name"),
        normalise_key(pl.col("name_zh")).alias("__zh"),
        pl.col("aliases").fill_null("").str.split("|").alias("__extra"),
    )
    keys = [
        (0, pl.col("__id")),
        (1, pl.col("__icao")),
        (2, pl.col("__name")),
        (2, pl.col("__zh")),
        (3, pl.col("__zh").str.replace(_ZH_SUFFIXES, "")),
        (3, _compact(pl.col("__name"))),
    ]
    base = [
        indexed.select(key.alias("__key"), pl.lit(rank).alias("__rank"), pl.exclude("__extra"))
        for rank, key in keys
    ]
    extra = (
        indexed.explode("__extra")
        .with_columns(normalise_key(pl.col("__extra")).alias("__key"), pl.lit(4).alias("__rank"))
        .select(base[0].columns)
    )
    aliases = pl.concat([*base, extra], how="vertical")
    return (
        aliases.filter(pl.col("__key").is_not_null() & (pl.col("__key") != ""))
        .sort(
            ["__key", "__rank", "__kind_rank", "__population", "place_id"],
            descending=[False, False, False, True, False],
        )
        .unique(subset="__key", keep="first", maintain_order=True)
        .select(ALIAS_COLUMNS)
    )
