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
    per-hub daily table (``ds``, ``hub_id``, ``province``, ``value``)."""
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
    """The summing matrix (rows: every series; columns: the hubs) and the level tags."""
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
    (OLS); ``<column>_base`` keeps the unreconciled value."""
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
