"""Orders for the routing lever: read, type and check an orders table (every bad row reported at
once), and resolve its places to network nodes. Used by single routes, batches and day plans."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
import polars as pl

from greenstream.accounting.schema import MODES
from greenstream.checks import Check, run_checks
from greenstream.errors import InputError, InputErrors
from greenstream.levers.routing.network import Network

ORDER_REQUIRED: Final = ("order_id", "origin", "destination", "mass_kg")
ORDER_COLUMNS: Final[dict[str, pl.DataType]] = {
    "order_id": pl.String(),
    "origin": pl.String(),
    "destination": pl.String(),
    "mass_kg": pl.Float64(),
    "ready_h": pl.Float64(),
    "deadline_h": pl.Float64(),
    "max_cost_cny": pl.Float64(),
    "modes": pl.String(),
}


def read_orders(path: Path, network: Network | None = None) -> pl.DataFrame:
    """Orders from CSV / Parquet / NDJSON (``greenstream.io`` formats), checked row by row (and
    their places against ``network`` when given).

    Parameters
    ----------
    path : pathlib.Path
        The orders file.
    network : Network, optional
        Checks that every origin and destination is a city of this network.

    Returns
    -------
    polars.DataFrame
        The typed orders (see :func:`check_orders`).

    Raises
    ------
    InputErrors
        An unreadable file, or every bad row at once.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "orders.csv"
    ...     _ = path.write_text("order_id,origin,destination,mass_kg,deadline_h\\n"
    ...                         "o1,A,B,2500,48\\n")
    ...     read_orders(path).select("order_id", "mass_kg", "deadline_h").rows()
    [('o1', 2500.0, 48.0)]
    """
    from greenstream.io.tables import read_raw

    try:
        raw = read_raw(path)
    except InputErrors:
        raise
    except Exception as exc:
        raise InputErrors.single(str(path), f"cannot read the orders file: {exc}") from exc
    return check_orders(raw.with_columns(pl.all().cast(pl.String)), file=str(path), network=network)


def check_orders(
    raw: pl.DataFrame, *, file: str = "<orders>", network: Network | None = None
) -> pl.DataFrame:
    """Type and check an orders table; every bad row is reported at once.

    Columns: ``order_id, origin, destination, mass_kg`` and optionally ``ready_h`` (hours from
    the plan start, default 0), ``deadline_h`` (latest arrival, hours from the plan start),
    ``max_cost_cny``, ``modes`` (allowed transport modes separated by ``;``).

    Parameters
    ----------
    raw : polars.DataFrame
        The orders as read (any column types; text is parsed).
    file : str, default "<orders>"
        Name the errors report.
    network : Network, optional
        Checks that every origin and destination is a city of this network.

    Returns
    -------
    polars.DataFrame
        ``__row`` (1-based source row) and :data:`ORDER_COLUMNS`: ``mass_kg`` (kg), ``ready_h``
        and ``deadline_h`` (hours from the plan start), ``max_cost_cny`` (CNY), ``modes``.

    Raises
    ------
    InputErrors
        Missing columns, or every bad row (row, field, reason) at once.

    Examples
    --------
    >>> orders = check_orders(pl.DataFrame({"order_id": ["o1"], "origin": ["A"],
    ...                                     "destination": ["B"], "mass_kg": ["2500"]}))
    >>> orders.select("mass_kg", "ready_h").row(0)
    (2500.0, 0.0)
    >>> check_orders(pl.DataFrame({"order_id": ["o1"], "origin": ["A"], "destination": ["B"],
    ...                            "mass_kg": ["-1"]}))
    Traceback (most recent call last):
    ...
    greenstream.errors.InputErrors: 1 input error:
      <orders>, row 1, field 'mass_kg': mass_kg '-1' is not a number > 0
    """
    missing = [c for c in ORDER_REQUIRED if c not in raw.columns]
    if missing:
        raise InputErrors.single(file, f"missing column(s): {', '.join(missing)}")
    frame = raw.with_columns(
        pl.lit(None, pl.String).alias(c) for c in ORDER_COLUMNS if c not in raw.columns
    ).with_columns(
        pl.col(c).cast(pl.String).str.strip_chars().replace("", None) for c in ORDER_COLUMNS
    )

    def number(c: str) -> pl.Expr:
        return pl.col(c).cast(pl.Float64, strict=False)

    def bad_number(c: str, *, positive: bool) -> Check:
        v = number(c)
        fails = pl.col(c).is_not_null() & (
            v.is_null() | ~v.is_finite() | ((v <= 0) if positive else (v < 0))
        )
        return Check(
            c,
            fails,
            pl.format(
                "{} '{}' is not a number {}",
                pl.lit(c),
                pl.col(c),
                pl.lit("> 0" if positive else ">= 0"),
            ),
        )

    mode_list = pl.col("modes").str.split(";").list.eval(pl.element().str.strip_chars())
    checks = [
        Check("order_id", pl.col("order_id").is_null(), pl.lit("empty order_id")),
        Check(
            "order_id",
            pl.col("order_id").is_duplicated() & pl.col("order_id").is_not_null(),
            pl.format("duplicate order_id '{}'", "order_id"),
        ),
        Check("origin", pl.col("origin").is_null(), pl.lit("empty origin")),
        Check("destination", pl.col("destination").is_null(), pl.lit("empty destination")),
        Check("mass_kg", pl.col("mass_kg").is_null(), pl.lit("missing mass_kg")),
        bad_number("mass_kg", positive=True),
        bad_number("ready_h", positive=False),
        bad_number("deadline_h", positive=False),
        bad_number("max_cost_cny", positive=True),
        Check(
            "deadline_h",
            number("deadline_h") <= number("ready_h").fill_null(0.0),
            pl.lit("deadline_h must be after ready_h"),
        ),
        Check(
            "modes",
            pl.col("modes").is_not_null()
            & ~mode_list.list.eval(pl.element().is_in(list(MODES))).list.all(),
            pl.format(
                "unknown mode in '{}' (expected {} separated by ;)",
                "modes",
                pl.lit(", ".join(MODES)),
            ),
        ),
    ]
    rows = frame.with_row_index("__row", offset=1)
    errors = run_checks(rows, checks, file=file, row="__row")
    if network is not None:
        errors += _place_errors(network, rows, file)
        errors.sort(key=lambda e: (e.row or 0, e.field or ""))
    InputErrors.raise_if_any(errors)
    return rows.select(
        "__row",
        *[pl.col(c).cast(t) for c, t in ORDER_COLUMNS.items()],
    ).with_columns(pl.col("ready_h").fill_null(0.0))


def _place_answers(network: Network, orders: pl.DataFrame) -> tuple[dict[str, int], dict[str, str]]:
    names = pl.concat([orders["origin"], orders["destination"]]).drop_nulls().unique()
    answer: dict[str, int] = {}
    problems: dict[str, str] = {}
    for q in names.to_list():
        try:
            answer[q] = network.node_index[network.resolve_city(q)]
        except InputErrors as exc:
            problems[q] = exc.errors[0].reason
    return answer, problems


def _place_errors(network: Network, orders: pl.DataFrame, file: str) -> list[InputError]:
    _, problems = _place_answers(network, orders)
    return [
        InputError(file, int(r), field, problems[v])
        for r, o, d in orders.select("__row", "origin", "destination").iter_rows()
        for field, v in (("origin", o), ("destination", d))
        if v in problems
    ]


def resolve_orders(
    network: Network, orders: pl.DataFrame, file: str
) -> tuple[np.ndarray, np.ndarray]:
    """Node indices of the orders' origins and destinations (every unknown place reported).

    Parameters
    ----------
    network : Network
        The network the orders run on.
    orders : polars.DataFrame
        Checked orders (:func:`check_orders`).
    file : str
        Name the errors report.

    Returns
    -------
    origins, destinations : numpy.ndarray of int
        Node index of each order's origin and destination city.

    Raises
    ------
    InputErrors
        Every order row whose origin or destination is not a city of the network.

    Examples
    --------
    >>> from greenstream.levers.routing.network import assemble
    >>> nodes = pl.DataFrame({"node_id": ["A", "B", "A:rail", "B:rail"],
    ...     "kind": ["city", "city", "rail_terminal", "rail_terminal"],
    ...     "city_id": ["A", "B", "A", "B"], "lat": [31.2, 32.0, 31.25, 32.0],
    ...     "lon": [121.5, 118.8, 121.45, 118.8]})
    >>> net = assemble(nodes, pl.DataFrame({"from_node": ["A", "A:rail"],
    ...     "to_node": ["B", "B:rail"], "mode": ["road", "rail"], "distance_km": [300.0, 300.0]}))
    >>> orders = check_orders(pl.DataFrame({"order_id": ["o1"], "origin": ["A"],
    ...                                     "destination": ["B"], "mass_kg": ["10"]}))
    >>> resolve_orders(net, orders, "<orders>")
    (array([0]), array([1]))
    """
    answer, _ = _place_answers(network, orders)
    InputErrors.raise_if_any(_place_errors(network, orders, file))
    o = np.array([answer[v] for v in orders["origin"].to_list()], dtype=np.int64)
    d = np.array([answer[v] for v in orders["destination"].to_list()], dtype=np.int64)
    return o, d
