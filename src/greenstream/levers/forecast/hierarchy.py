"""The national -> province -> hub hierarchy: series from per-hub history, and reconciliation of
forecasts so that the national figure is the sum of the provinces' and of the hubs'
(hierarchicalforecast's MinTrace with OLS weights; Wickramasuriya, Athanasopoulos & Hyndman
2019, "Optimal forecast reconciliation for hierarchical and grouped time series through trace
minimization", JASA 114(526))."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

NATIONAL = "CN"


def hierarchy_series(hubs: pl.DataFrame, value: str = "shipments") -> pl.DataFrame:
    """``unique_id`` (``CN``, ``CN/<province>``, ``CN/<province>/<hub>``), ``ds``, ``y`` from a
    per-hub daily table (``ds``, ``hub_id``, ``province``, ``value``).

    Parameters
    ----------
    hubs : DataFrame
        ``ds``, ``hub_id``, ``province`` and the ``value`` column, one row per hub and day.
    value : str
        The column summed up the hierarchy (a count, e.g. shipments per day).

    Returns
    -------
    DataFrame
        ``unique_id``, ``ds`` and ``y`` (Float64, the unit of ``value``), national, province and
        hub series, sorted.

    Examples
    --------
    >>> import datetime as dt
    >>> hubs = pl.DataFrame({"ds": [dt.date(2026, 1, 1)] * 3, "hub_id": ["h1", "h2", "h3"],
    ...                      "province": ["GD", "GD", "ZJ"], "shipments": [10, 20, 5]})
    >>> hierarchy_series(hubs).select("unique_id", "y").rows()
    [('CN', 35.0), ('CN/GD', 30.0), ('CN/GD/h1', 10.0), ('CN/GD/h2', 20.0), ('CN/ZJ', 5.0),
     ('CN/ZJ/h3', 5.0)]
    """
    y = pl.col(value).cast(pl.Float64)
    hub = hubs.select(
        pl.concat_str(pl.lit(NATIONAL + "/"), "province", pl.lit("/"), "hub_id").alias("unique_id"),
        "ds",
        y.alias("y"),
    )
    prov = (
        hubs.group_by("province", "ds")
        .agg(y.sum().alias("y"))
        .select(pl.concat_str(pl.lit(NATIONAL + "/"), "province").alias("unique_id"), "ds", "y")
    )
    nat = (
        hubs.group_by("ds")
        .agg(y.sum().alias("y"))
        .select(pl.lit(NATIONAL).alias("unique_id"), "ds", "y")
    )
    return pl.concat([nat, prov, hub]).sort("unique_id", "ds")


def summing_matrix(ids: list[str]) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    """The summing matrix (rows: every series; columns: the hubs) and the level tags.

    Parameters
    ----------
    ids : list of str
        Series ids of :func:`hierarchy_series` (``CN``, ``CN/<province>``,
        ``CN/<province>/<hub>``).

    Returns
    -------
    tuple of (DataFrame, dict of str to ndarray)
        ``S``: ``unique_id`` and one 0/1 column per hub, rows ordered national, provinces, hubs;
        and the ids of each level (``national``, ``province``, ``hub``), as hierarchicalforecast
        takes them.

    References
    ----------
    .. [1] Wickramasuriya, S. L., Athanasopoulos, G., Hyndman, R. J. (2019), Optimal forecast
       reconciliation for hierarchical and grouped time series through trace minimization,
       JASA 114(526), 804-819.

    Examples
    --------
    >>> s, tags = summing_matrix(["CN", "CN/GD", "CN/GD/h1", "CN/GD/h2"])
    >>> s.rows()
    [('CN', 1.0, 1.0), ('CN/GD', 1.0, 1.0), ('CN/GD/h1', 1.0, 0.0), ('CN/GD/h2', 0.0, 1.0)]
    >>> list(tags["hub"])
    ['CN/GD/h1', 'CN/GD/h2']
    """
    bottom = sorted(i for i in ids if i.count("/") == 2)
    rows = sorted(ids, key=lambda i: (i.count("/"), i))
    matrix = np.array(
        [[1.0 if b == r or b.startswith(r + "/") else 0.0 for b in bottom] for r in rows]
    )
    s = pl.DataFrame({"unique_id": rows}).hstack(pl.DataFrame(matrix, schema=bottom))
    tags = {
        "national": np.array([r for r in rows if r.count("/") == 0], dtype=object),
        "province": np.array([r for r in rows if r.count("/") == 1], dtype=object),
        "hub": np.array(bottom, dtype=object),
    }
    return s, tags


def reconcile(forecasts: pl.DataFrame, column: str = "p50") -> pl.DataFrame:
    """``forecasts`` (``unique_id``, ``ds``, ``column``) with ``column`` reconciled by MinTrace
    (OLS); ``<column>_base`` keeps the unreconciled value.

    Parameters
    ----------
    forecasts : DataFrame
        ``unique_id`` (every series of the hierarchy), ``ds`` (Date) and ``column`` (parcels).
    column : str
        The forecast column reconciled.

    Returns
    -------
    DataFrame
        ``forecasts`` with ``column`` reconciled (national = sum of provinces = sum of hubs)
        and ``<column>_base``.

    References
    ----------
    .. [1] Wickramasuriya, S. L., Athanasopoulos, G., Hyndman, R. J. (2019), Optimal forecast
       reconciliation for hierarchical and grouped time series through trace minimization,
       JASA 114(526), 804-819.
    """
    from hierarchicalforecast.core import HierarchicalReconciliation
    from hierarchicalforecast.methods import MinTrace

    s, tags = summing_matrix(forecasts["unique_id"].unique().to_list())
    hat: Any = forecasts.select("unique_id", "ds", column).to_pandas()
    rec = HierarchicalReconciliation(reconcilers=[MinTrace(method="ols")])
    out = pl.from_pandas(rec.reconcile(Y_hat_df=hat, S_df=s.to_pandas(), tags=tags))
    name = next(c for c in out.columns if c.startswith(f"{column}/"))
    return forecasts.rename({column: f"{column}_base"}).join(
        out.select("unique_id", pl.col("ds").cast(pl.Date), pl.col(name).alias(column)),
        on=["unique_id", "ds"],
    )
